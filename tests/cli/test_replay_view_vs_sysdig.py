"""The sysdig-style viewer (`lanner replay TRACE [FILTER] -p FORMAT`) against `sysdig -r` on
the same trace: the same events listed (procinfo and untimed metadata events are not shown),
and the time fields that depend on the stream: evt.reltime from the first timed event,
evt.deltatime from the previous event the format printed (0 for the first); reltime and the
.ns parts shown on 9 zero-padded digits, as sysdig prints them; proc.fdopencount still counting
the fd a close exit closed, as libsinsp does; evt.category of a generic event from its syscall."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from lanner.cli import _register, app
from tests.conftest import IN_CI, compat_path
from tests.sysdig import sysdig_output

_register()
FORMAT = (
    "%evt.num %evt.reltime %evt.reltime.s %evt.reltime.ns %evt.deltatime %evt.deltatime.s "
    "%evt.deltatime.ns %evt.rawtime.ns %evt.type %evt.category %proc.name %proc.fdopencount"
)


@pytest.mark.parametrize("condition", ["", "evt.num>5000", "evt.type=open", "proc.name=curl"])
def test_viewer_lists_what_sysdig_lists_with_the_same_times(condition: str) -> None:
    trace = compat_path("scap", "gpl-sysdig-inspect", "502Error.scap")
    if shutil.which("sysdig") is None:
        if IN_CI:
            pytest.fail("sysdig missing in CI (scripts/install-deps.sh installs it)")
        pytest.skip("sysdig not installed")
    extra = [condition] if condition else []
    theirs = sysdig_output("-r", str(trace), "-p", FORMAT, *extra).splitlines()
    result = CliRunner().invoke(app, ["replay", str(trace), "--legacy", "-p", FORMAT, *extra])
    assert result.exit_code == 0, result.output
    ours = result.stdout.splitlines()
    assert len(theirs) > 10
    assert ours == theirs
