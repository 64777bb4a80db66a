"""`lanner config show`: defaults, file and -o overrides merged; mistakes are one line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lanner.cli import _register, app


def _invoke(*args: str) -> tuple[int, str, str]:
    _register()
    result = CliRunner().invoke(app, ["config", "show", *args])
    return result.exit_code, result.stdout, result.stderr


def test_defaults_file_and_overrides(tmp_path: Path) -> None:
    conf = tmp_path / "lanner.yaml"
    conf.write_text("json_output: true\nwebserver:\n  listen_port: 9999\n")
    code, out, _ = _invoke("-c", str(conf), "-o", "metrics.snaplen=512", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["json_output"] is True
    assert shown["webserver"] == {
        "enabled": True,
        "listen_address": "127.0.0.1",
        "listen_port": 9999,
    }
    assert shown["metrics"]["snaplen"] == 512
    assert shown["syscall_event_drops"]["actions"] == ["log", "alert"]


def test_bad_override_and_bad_file(tmp_path: Path) -> None:
    code, _, err = _invoke("-o", "nokey")
    assert code == 1 and err.strip().startswith("lanner: -o 'nokey'")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    code, _, err = _invoke("-c", str(bad))
    assert code == 1 and "bad.yaml:" in err and "Traceback" not in err


def test_unknown_setting_is_a_warning_not_an_error(tmp_path: Path) -> None:
    """`lanner config show` is where a user checks a configuration: a typo is pointed out on
    stderr, the rest still applies."""
    conf = tmp_path / "lanner.yaml"
    conf.write_text("json_output: true\nwebserver:\n  listen_prot: 9999\n")
    code, out, err = _invoke("-c", str(conf), "--json")
    assert code == 0
    assert json.loads(out)["json_output"] is True
    assert err.strip() == (
        f"lanner: warning: {conf}: unknown setting 'webserver.listen_prot' "
        "(did you mean 'webserver.listen_port'?)"
    )
