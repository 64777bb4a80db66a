"""Credential access on the live kernel: reads of password files and keys, and their twins."""

from __future__ import annotations

import subprocess

import pytest

from tests.rules_default.conftest import PYTHON, Alert, LiveSession, none_for, only, token

pytestmark = pytest.mark.bpf
SENSITIVE = "Sensitive file read by an unexpected program"
READ_FILE = "import sys; open(sys.argv[1], 'rb').read()"


class Marks:
    shadow = token("shadow")
    cloud = token("cloud")
    ssh_key = token("sshkey")
    passwd_twin = token("passwdtwin")
    sshd_twin = token("sshdtwin")
    plain_twin = token("plaintwin")


@pytest.fixture(scope="module")
def alerts(live: LiveSession) -> list[Alert]:
    home = live.scratch / "home"
    aws = home / Marks.cloud / ".aws" / "credentials"
    key = home / Marks.ssh_key / ".ssh" / "id_ed25519"
    plain = home / Marks.plain_twin / "credentials"
    for path in (aws, key, plain):
        path.parent.mkdir(parents=True)
        path.write_text("fake secret\n")
    # argv[2] is only the scenario's marker: the python process's command line carries it.
    subprocess.run([PYTHON, "-c", READ_FILE, "/etc/shadow", Marks.shadow], check=True)
    subprocess.run(["cat", str(aws)], stdout=subprocess.DEVNULL, check=True)
    subprocess.run(["cat", str(key)], stdout=subprocess.DEVNULL, check=True)
    # Twins: a harmless file, an allowed reader, a file named like a secret but not hidden.
    subprocess.run([PYTHON, "-c", READ_FILE, "/etc/passwd", Marks.passwd_twin], check=True)
    sshd = live.program("sshd")
    subprocess.run([str(sshd), "-c", READ_FILE, "/etc/shadow", Marks.sshd_twin], check=True)
    subprocess.run(["cat", str(plain)], stdout=subprocess.DEVNULL, check=True)
    return live.settle()


def test_shadow_read_names_file_process_and_user(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.shadow, SENSITIVE)
    fields = hits[0]["output_fields"]
    assert fields["fd.name"] == "/etc/shadow"
    assert fields["proc.name"] == "python3.11"
    assert fields["proc.cmdline"].endswith(f"/etc/shadow {Marks.shadow}")
    assert fields["proc.pname"]  # the test runner, whatever its name
    assert fields["user.name"] == "root" and fields["container.id"] == "host"
    assert hits[0]["priority"] == "Warning"
    assert {"mitre_credential_access", "T1003.008"} <= set(hits[0]["tags"])


@pytest.mark.parametrize("mark", [Marks.cloud, Marks.ssh_key], ids=["cloud", "ssh_key"])
def test_keys_in_hidden_directories(alerts: list[Alert], mark: str) -> None:
    hits = only(alerts, mark, SENSITIVE)
    fields = hits[0]["output_fields"]
    assert mark in fields["fd.name"] and "/." in fields["fd.name"]
    assert fields["proc.name"] == "cat" and fields["proc.cmdline"] == f"cat {fields['fd.name']}"


@pytest.mark.parametrize(
    "mark",
    [Marks.passwd_twin, Marks.sshd_twin, Marks.plain_twin],
    ids=["passwd_twin", "sshd_twin", "plain_twin"],
)
def test_twins_are_quiet(alerts: list[Alert], mark: str) -> None:
    none_for(alerts, mark)
