"""`lanner top` views against sysdig's own accounting of the same traces: errors per process
(sysdig's `topprocs_errors` chisel) and I/O bytes per file (sysdig's `fd.name` and `evt.rawres`
of every successful file read/write exit), on every corpus trace sysdig 0.29.3 can read."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from lanner.cli.top_cmd import replay_metrics
from lanner.metrics import views
from tests.conftest import IN_CI, compat_path
from tests.sysdig import sysdig_output

TRACES = [
    ("falco-0.34.1", "cat_write.scap"),
    ("falco-0.34.1", "connect_localhost.scap"),
    ("falco-0.34.1", "open-multiple-files.scap"),
    ("falco-0.34.1", "ping_sendto.scap"),
    ("falco-0.34.1", "syscall.scap"),
    ("falco-legacy-empty", "empty-pre-2019-07-31.scap"),
    ("falco-psp-8dd4beac", "privileged.scap"),
    ("falco-psp-8dd4beac", "run_as_user_0_container.scap"),
    ("falco-psp-8dd4beac", "run_as_user_65534_container.scap"),
    ("falco-psp-8dd4beac", "write_tmp_test.scap"),
    ("gpl-sysdig-inspect", "502Error.scap"),
    ("libs", "curl_google.scap"),
    ("libs", "sample.scap"),
    ("libs", "single_ipv6_conn.scap"),
    ("libs", "test_ipv6_client.scap"),
]

# The one state difference tests/fields/test_sysdig_agreement.py explains: a read exit that is
# its thread's first event (#1519, its enter not captured). libsinsp gives it the thread's
# initial last fd, 0 (here /dev/pts/5, 3 bytes); lanner names no fd without the enter.
KNOWN_FILE_BYTES = {("run_as_user_0_container.scap", "/dev/pts/5"): 3}


def _require_sysdig() -> None:
    if shutil.which("sysdig") is None:
        if IN_CI:
            pytest.fail("sysdig missing in CI (scripts/install-deps.sh installs it)")
        pytest.skip("sysdig not installed")


@pytest.mark.parametrize(("folder", "name"), TRACES, ids=[t[1] for t in TRACES])
def test_errors_per_process_and_bytes_per_file_agree_with_sysdig(folder: str, name: str) -> None:
    trace = compat_path("scap", folder, name)
    _require_sysdig()
    engine = replay_metrics(trace)

    errors: Counter[str] = Counter()
    for row in views.procs(engine):
        errors[row["proc"]] += row["errors"]
    theirs: Counter[str] = Counter()
    for line in sysdig_output("-r", str(trace), "-c", "topprocs_errors").splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit():
            theirs[parts[1]] += int(parts[0])
    assert +errors == +theirs

    io_bytes: Counter[str] = Counter()
    for row in views.files(engine):
        io_bytes[row["file"]] += row["read_bytes"] + row["write_bytes"]
    listing = sysdig_output(
        "-r",
        str(trace),
        "-p",
        "%fd.name %evt.rawres",
        "evt.is_io=true and fd.type=file and evt.dir=< and evt.rawres>0",
    )
    truth: Counter[str] = Counter()
    for line in listing.splitlines():
        path, _, res = line.rpartition(" ")
        truth[path] += int(res)
    for (trace_name, path), missing in KNOWN_FILE_BYTES.items():
        if trace_name == name:
            truth[path] -= missing
    assert +io_bytes == +truth
