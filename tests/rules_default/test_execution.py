"""Execution rules on the live kernel: a server spawning a shell, a dropped binary run.

Each behaviour is done for real (a copy of python named `nginx`, /bin/true copied to /dev/shm
or run from a memfd) next to its benign twin; only the named rule may fire for the behaviour,
and nothing for the twin.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.rules_default.conftest import PYTHON, Alert, LiveSession, none_for, only, token

pytestmark = pytest.mark.bpf
SERVER_SHELL = "Shell spawned by a server process"
DROPPED = "Dropped binary executed"

MEMFD_EXEC = """
import os, sys
fd = os.memfd_create("payload")
with open("/bin/true", "rb") as src:
    os.write(fd, src.read())
os.execv(f"/proc/self/fd/{fd}", ["payload", sys.argv[1]])
"""


class Marks:
    server = token("srv")
    server_twin = token("srvtwin")
    shm = token("shm")
    memfd = token("memfd")
    dropped_twin = token("droptwin")


@pytest.fixture(scope="module")
def alerts(live: LiveSession) -> list[Alert]:
    nginx = live.program("nginx")
    worker = live.program("backup-job")
    shell_cmd = "import os, sys; os.system('sh -c \"true ' + sys.argv[1] + '\"')"
    subprocess.run([str(nginx), "-c", shell_cmd, Marks.server], check=True)
    subprocess.run([str(worker), "-c", shell_cmd, Marks.server_twin], check=True)
    dropped = Path("/dev/shm") / Marks.shm
    shutil.copy("/bin/true", dropped)
    try:
        subprocess.run([str(dropped)], check=True)
    finally:
        dropped.unlink()
    subprocess.run([PYTHON, "-c", MEMFD_EXEC, Marks.memfd], check=True)
    installed = live.scratch / "bin" / Marks.dropped_twin
    shutil.copy("/bin/true", installed)
    subprocess.run([str(installed)], check=True)
    return live.settle()


def test_server_spawning_a_shell_is_critical(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.server, SERVER_SHELL)
    fields = hits[0]["output_fields"]
    assert fields["proc.pname"] == "nginx"
    assert fields["proc.name"] == "sh"
    assert Marks.server in fields["proc.cmdline"]
    assert "nginx" in fields["proc.pcmdline"]
    assert fields["user.name"] == "root" and fields["container.id"] == "host"
    assert hits[0]["priority"] == "Critical" and "T1190" in hits[0]["tags"]


def test_non_server_spawning_a_shell_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.server_twin)


def test_binary_dropped_in_dev_shm(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.shm, DROPPED)
    fields = hits[0]["output_fields"]
    assert fields["proc.exepath"] == f"/dev/shm/{Marks.shm}"
    assert fields["proc.is_exe_from_memfd"] is False
    assert hits[0]["priority"] == "Critical"


def test_binary_run_from_memory(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.memfd, DROPPED)
    fields = hits[0]["output_fields"]
    assert fields["proc.is_exe_from_memfd"] is True
    # The comm of an exec through /proc/self/fd/N is "N", and Falco's cmdline starts with it.
    assert fields["proc.cmdline"].endswith(f" {Marks.memfd}")


def test_binary_installed_outside_scratch_dirs_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.dropped_twin)
