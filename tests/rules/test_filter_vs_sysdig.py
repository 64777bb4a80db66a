"""Filter semantics of the "either end" fields against sysdig's own filters on real traces:
the same events must match. fd.port and fd.proto follow libsinsp's compare_port (either end for
=, in and the orderings; neither end for !=; service names stand for their ports), fd.ip and
fd.net its compare_ip/compare_net; fd.is_server its local-address test. A few other fields
whose values were found to differ ride along (evt.io_dir, fd.containername)."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from lanner.cli import _register, app
from tests.conftest import IN_CI, compat_path
from tests.sysdig import sysdig_output

_register()

TRACES = {
    "502": ("scap", "gpl-sysdig-inspect", "502Error.scap"),
    "ipv6": ("scap", "libs", "single_ipv6_conn.scap"),
    "ipv6_client": ("scap", "libs", "test_ipv6_client.scap"),
    "psp": ("scap", "falco-psp-8dd4beac", "run_as_user_0_container.scap"),
}
FILTERS = [
    ("502", "fd.port=80"),
    ("502", "fd.port in (80, 81)"),
    ("502", "fd.port in (http, 81)"),
    ("502", "fd.port!=80"),
    ("502", "fd.port!=81"),
    ("502", "fd.port>79"),
    ("502", "fd.port<80"),
    ("502", "fd.port>=54716"),
    ("502", "fd.proto=http"),
    ("502", "fd.proto!=http"),
    ("502", "fd.ip=192.168.0.2"),
    ("502", "fd.ip!=192.168.0.2"),
    ("502", "fd.net=192.168.0.0/24"),
    ("502", "fd.net!=192.168.0.0/24"),
    ("502", "fd.sport=80 and not fd.port in (53, 672)"),
    # a socket not connected yet, in a container whose IP is unknown: libsinsp compares the
    # zero address with the container's, also zero, so it counts as the server end
    ("502", "fd.is_server = true and evt.type in (socket, fcntl, connect, accept)"),
    ("502", "fd.is_server = false and evt.type in (socket, fcntl, connect, accept)"),
    ("502", "evt.io_dir = read"),
    ("502", "evt.io_dir = write"),
    ("502", "fd.containername startswith 59fd49aa4072:192.168.0.1:"),
    ("502", "fd.containerdirectory = :/etc"),
    ("502", "fd.containerdirectory startswith 59fd49aa4072:"),
    # a container with no mounts has the empty list: it exists, and equals ""
    ("psp", "container.mounts exists"),
    ("psp", 'container.mounts = ""'),
    ("ipv6", "fd.port=1234"),
    ("ipv6", "fd.port!=1234"),
    ("ipv6", "fd.port in (54405)"),
    ("ipv6", "fd.ip=2001:db8::3"),
    ("ipv6", "fd.ip!=2001:db8::3"),
    ("ipv6_client", "fd.port=2345"),
    ("ipv6_client", "fd.port!=2345"),
    ("ipv6_client", "fd.ip=::1"),
]


def _numbers(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().isdigit()]


@pytest.mark.parametrize(("trace", "condition"), FILTERS, ids=[f"{t}:{c}" for t, c in FILTERS])
def test_either_end_fields_match_the_events_sysdig_matches(trace: str, condition: str) -> None:
    path = compat_path(*TRACES[trace])
    if shutil.which("sysdig") is None:
        if IN_CI:
            pytest.fail("sysdig missing in CI (scripts/install-deps.sh installs it)")
        pytest.skip("sysdig not installed")
    flt = f"evt.dir=< and ({condition})"
    theirs = _numbers(sysdig_output("-r", str(path), "-p", "%evt.num", flt))
    result = CliRunner().invoke(app, ["replay", str(path), "--legacy", flt, "-p", "%evt.num"])
    assert result.exit_code == 0, result.output
    ours = _numbers(result.stdout)
    assert ours == theirs
    if "!=" not in condition and "<" not in condition:
        assert theirs, "the case is about events that match"


def test_port_fields_refuse_operators_sysdig_refuses() -> None:
    path = compat_path(*TRACES["502"])
    result = CliRunner().invoke(app, ["replay", str(path), "fd.port contains 8"])
    assert result.exit_code != 0
    assert "operator 'contains' is not supported for fd.port" in result.stderr
    result = CliRunner().invoke(app, ["replay", str(path), "fd.proto=nosuchproto"])
    assert result.exit_code != 0
    assert "unrecognized protocol 'nosuchproto'" in result.stderr
