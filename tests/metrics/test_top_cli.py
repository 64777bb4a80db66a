"""`lanner top` on a replayed capture and live: JSON rows for scripts, clear errors for
mistakes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lanner.cli import _register, app
from tests.capture.bpf_support import require_bpf
from tests.conftest import compat_path
from tests.metrics.servers import require

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


@pytest.mark.bpf
@pytest.mark.slow
def test_live_top_json_after_duration_counts_a_clients_requests(nginx_port: int) -> None:
    require_bpf()
    curl = require("curl")
    command = [sys.executable, "-m", "lanner", "top", "http", "--once", "--json"]
    proc = subprocess.Popen(
        [*command, "--duration", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # printed once the probe is attached
    assert "capture started" in first, first + proc.stderr.read()
    urls = [f"http://127.0.0.1:{nginx_port}/items/{i}" for i in range(6)]
    urls.append(f"http://127.0.0.1:{nginx_port}/missing")
    subprocess.run([curl, "-s", "-o", "/dev/null", *urls], check=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["view"] == "http" and doc["live"] is True
    rows = {r["path"]: r for r in doc["rows"] if r["proc"] == "curl" and r["role"] == "client"}
    assert rows["/items/{num}"]["requests"] == 6 and rows["/items/{num}"]["errors"] == 0
    assert rows["/missing"]["statuses"] == {"404": 1} and rows["/missing"]["errors"] == 1


def test_top_bad_options_are_one_line_errors() -> None:
    for args, message in (
        (["--snaplen", "99999"], "--snaplen: expected 0 to 4096 bytes"),
        (["--duration", "0"], "--duration: expected a positive number"),
    ):
        result = runner.invoke(app, ["top", "http", *args])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
