"""`lanner top` on a replayed capture: JSON rows for scripts, clear errors for mistakes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lanner.cli import _register, app
from tests.conftest import compat_path

_register()
runner = CliRunner()


def test_top_http_json_rows_from_a_trace() -> None:
    trace = compat_path("scap", "gpl-sysdig-inspect", "502Error.scap")
    result = runner.invoke(app, ["top", "http", "--trace", str(trace), "--once", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["view"] == "http"
    foo = [r for r in doc["rows"] if r["path"] == "/foo" and r["role"] == "server"]
    assert {r["proc"]: r["statuses"] for r in foo} == {"haproxy": {"502": 1}, "python": {"200": 1}}
    assert doc["rows"] == sorted(doc["rows"], key=lambda r: -r["requests"])


def test_top_mistakes_are_one_line_errors(tmp_path: object) -> None:
    bad = runner.invoke(app, ["top", "bogus", "--trace", "x"])
    assert bad.exit_code == 2 and "unknown view 'bogus'" in bad.output
    missing = runner.invoke(app, ["top", "http", "--trace", "/no/such.scap"])
    assert missing.exit_code == 1 and "no such capture file" in missing.output
    assert "Traceback" not in bad.output + missing.output
