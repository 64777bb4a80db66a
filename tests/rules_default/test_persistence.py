"""Persistence and defence evasion on the live kernel.

Writes below /usr/local/bin and /etc, a crontab and a service unit, log and history truncation,
a kernel module load attempt. Every file a scenario creates in a system directory carries the
scenario's marker in its name and is removed again.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rules_default.conftest import PYTHON, Alert, LiveSession, none_for, only, token

pytestmark = pytest.mark.bpf
BIN_WRITE = "Write below a binary directory"
ETC_WRITE = "Write below /etc"
SCHEDULED = "Scheduled task or service created"
TAMPER = "Log or shell history tampered with"
MODULE = "Kernel module loaded"

WRITE_FILE = "import sys; open(sys.argv[1], 'w').write('x\\n')"
READ_FILE = "import sys; open(sys.argv[1], 'rb').read()"
CREATE_NEW = "import os, sys; os.close(os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY))"
APPEND = "import sys; open(sys.argv[1], 'a').write('more\\n')"
REMOVE = "import os, sys; os.unlink(sys.argv[1])"
# finit_module on an fd that is no module: refused by any kernel, still an attempt.
FINIT_MODULE = (
    "import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); libc.syscall(313, 0, b'', 0)"
)


class Marks:
    usr_bin = token("usrbin")
    usr_bin_twin = token("usrbintwin")
    etc = token("etc")
    etc_reader_twin = token("etcreadtwin")
    etc_useradd_twin = token("etcaddtwin")
    cron = token("cron")
    unit = token("unit")
    cron_twin = token("crontwin")
    log = token("log")
    history = token("hist")
    log_twin = token("logtwin")
    new_log_twin = token("newlogtwin")
    module = token("kmod")
    module_twin = token("kmodtwin")


@pytest.fixture(scope="module")
def alerts(live: LiveSession) -> Iterator[list[Alert]]:
    created: list[Path] = []

    def python(*args: str, program: str = PYTHON) -> None:
        subprocess.run([program, *args], check=True)

    try:
        # Binary directory: plant a file; twin: `install` (a package tool) puts one there and a
        # reader only reads it.
        planted = Path("/usr/local/bin") / Marks.usr_bin
        created.append(planted)
        python("-c", WRITE_FILE, str(planted))
        installed = Path("/usr/local/bin") / Marks.usr_bin_twin
        created.append(installed)
        subprocess.run(["install", "-m", "0755", "/bin/true", str(installed)], check=True)
        python("-c", READ_FILE, str(installed))
        # /etc: a new configuration file; twins: a read, and an account tool's write.
        conf = Path("/etc") / f"{Marks.etc}.conf"
        created.append(conf)
        python("-c", WRITE_FILE, str(conf))
        python("-c", READ_FILE, "/etc/hostname", Marks.etc_reader_twin)
        by_useradd = Path("/etc") / f"{Marks.etc_useradd_twin}.conf"
        created.append(by_useradd)
        python("-c", WRITE_FILE, str(by_useradd), program=str(live.program("useradd")))
        # Crontab and service unit; twin: the crontab read back.
        cron = Path("/etc/cron.d") / Marks.cron
        unit = Path("/etc/systemd/system") / f"{Marks.unit}.service"
        created += [cron, unit]
        python("-c", WRITE_FILE, str(cron))
        python("-c", WRITE_FILE, str(unit))
        python("-c", READ_FILE, str(cron), Marks.cron_twin)
        # Logs: an existing log truncated, a history file emptied; twins: a log appended to, a
        # new log created with O_TRUNC, both rotated away by logrotate.
        log = Path("/var/log") / f"{Marks.log}.log"
        created.append(log)
        python("-c", CREATE_NEW, str(log))
        python("-c", APPEND, str(log))
        python("-c", WRITE_FILE, str(log))
        history = live.scratch / "home" / Marks.history / ".bash_history"
        history.parent.mkdir(parents=True)
        history.write_text("ls\n")
        python("-c", WRITE_FILE, str(history))
        logrotate = str(live.program("logrotate"))
        quiet_log = Path("/var/log") / f"{Marks.log_twin}.log"
        python("-c", APPEND, str(quiet_log))
        python("-c", APPEND, str(quiet_log))
        python("-c", REMOVE, str(quiet_log), program=logrotate)
        new_log = Path("/var/log") / f"{Marks.new_log_twin}.log"
        python("-c", WRITE_FILE, str(new_log))
        python("-c", REMOVE, str(new_log), program=logrotate)
        # Kernel module: the attempt; twin: modprobe's.
        python("-c", FINIT_MODULE, Marks.module)
        python("-c", FINIT_MODULE, Marks.module_twin, program=str(live.program("modprobe")))
        yield live.settle()
    finally:
        for path in created:
            path.unlink(missing_ok=True)


def test_file_planted_below_usr_local_bin(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.usr_bin, BIN_WRITE)
    fields = hits[0]["output_fields"]
    assert fields["fd.name"] == f"/usr/local/bin/{Marks.usr_bin}"
    assert fields["proc.name"] == "python3.11" and fields["user.uid"] == 0
    assert hits[0]["priority"] == "Error" and "mitre_persistence" in hits[0]["tags"]


def test_install_and_reads_below_usr_local_bin_are_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.usr_bin_twin)


def test_new_file_below_etc(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.etc, ETC_WRITE)
    fields = hits[0]["output_fields"]
    assert fields["fd.name"] == f"/etc/{Marks.etc}.conf"
    assert fields["proc.cmdline"].endswith(fields["fd.name"])
    assert "T1098" in hits[0]["tags"]


@pytest.mark.parametrize(
    "mark",
    [Marks.etc_reader_twin, Marks.etc_useradd_twin],
    ids=["etc_reader_twin", "etc_useradd_twin"],
)
def test_etc_twins_are_quiet(alerts: list[Alert], mark: str) -> None:
    none_for(alerts, mark)


@pytest.mark.parametrize(
    ("mark", "directory"),
    [(Marks.cron, "/etc/cron.d/"), (Marks.unit, "/etc/systemd/system/")],
    ids=["cron", "unit"],
)
def test_crontab_and_unit_raise_only_the_persistence_rule(
    alerts: list[Alert], mark: str, directory: str
) -> None:
    hits = only(alerts, mark, SCHEDULED)
    fields = hits[0]["output_fields"]
    assert fields["fd.name"].startswith(directory) and mark in fields["fd.name"]
    assert {"T1053.003", "T1543.002"} <= set(hits[0]["tags"])


def test_crontab_read_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.cron_twin)


def test_log_truncated(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.log, TAMPER)
    truncations = [a for a in hits if a["output_fields"]["evt.type"] == "openat"]
    assert len(truncations) == 1, [a["output"] for a in hits]
    fields = truncations[0]["output_fields"]
    assert fields["fd.name"] == f"/var/log/{Marks.log}.log"
    assert fields["proc.cmdline"].endswith(fields["fd.name"])


def test_history_truncated(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.history, TAMPER)
    assert hits[0]["output_fields"]["fd.name"].endswith(f"{Marks.history}/.bash_history")
    assert "T1070.003" in hits[0]["tags"]


@pytest.mark.parametrize(
    "mark", [Marks.log_twin, Marks.new_log_twin], ids=["log_twin", "new_log_twin"]
)
def test_appending_creating_and_rotating_logs_is_quiet(alerts: list[Alert], mark: str) -> None:
    none_for(alerts, mark)


def test_module_load_attempt(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.module, MODULE)
    fields = hits[0]["output_fields"]
    assert fields["evt.type"] == "finit_module"
    assert fields["evt.res"] != "SUCCESS"  # refused here, and still reported
    assert hits[0]["priority"] == "Critical" and "T1547.006" in hits[0]["tags"]


def test_modprobe_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.module_twin)
