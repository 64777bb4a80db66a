"""``lanner rules validate`` and ``lanner rules list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lanner.cli import _register, app

_register()
runner = CliRunner()

GOOD = """
- macro: is_cat
  condition: proc.name=cat
- rule: open_from_cat
  desc: cat opens
  condition: evt.type=open and is_cat
  output: "open by %proc.name"
  priority: WARNING
  tags: [files]
"""

BAD_FIELD = """
- rule: broken
  desc: d
  condition: evt.type=open and proc.nobody=cat
  output: o
  priority: INFO
"""


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_validate_good_file_exits_zero(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "validate", str(_write(tmp_path, "good.yaml", GOOD))])
    assert result.exit_code == 0, result.output
    assert "ok (0 errors, 0 warnings)" in result.output
    assert "1 rules compiled" in result.output


def test_validate_error_names_file_line_col_and_points_at_token(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", BAD_FIELD)
    result = runner.invoke(app, ["rules", "validate", str(path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    first = next(line for line in lines if "LOAD_ERR_COMPILE_CONDITION" in line)
    assert first.startswith(f"{path}:4:32: LOAD_ERR_COMPILE_CONDITION rule 'broken': ")
    assert first.endswith("filter_check called with nonexistent field proc.nobody [error]")
    source, caret = lines[lines.index(first) + 1], lines[lines.index(first) + 2]
    assert source.strip() == "condition: evt.type=open and proc.nobody=cat"
    assert source[caret.index("^") :].startswith("proc.nobody")
    assert "Traceback" not in result.output


def test_validate_warnings_do_not_fail(tmp_path: Path) -> None:
    text = GOOD + "- macro: unused_one\n  condition: proc.name=x\n"
    result = runner.invoke(app, ["rules", "validate", str(_write(tmp_path, "w.yaml", text))])
    assert result.exit_code == 0
    assert "LOAD_UNUSED_MACRO macro 'unused_one'" in result.output


def test_validate_json_is_falcos_shape(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", BAD_FIELD)
    result = runner.invoke(app, ["rules", "validate", "--json", str(path)])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    (entry,) = data["falco_load_results"]
    assert entry["name"] == str(path) and entry["successful"] is False
    assert entry["errors"][0]["code"] == "LOAD_ERR_COMPILE_CONDITION"


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: tmp / "missing.yaml",
        lambda tmp: tmp,
        lambda tmp: _write(tmp, "garbage.bin", bytes(range(256)) * 4),
        lambda tmp: _write(tmp, "nul.yaml", "- rule: a\x00b\n"),
        lambda tmp: _write(tmp, "deep.yaml", "[" * 5000),
        lambda tmp: _write(tmp, "nested.yaml", "[" * 3000 + "]" * 3000),
    ],
    ids=["missing", "directory", "binary", "nul", "deep", "nested"],
)
def test_bad_inputs_give_one_error_not_a_traceback(tmp_path: Path, make: object) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = runner.invoke(app, ["rules", "validate", str(path)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "LOAD_ERR_" in result.output


def test_list_json_and_table(tmp_path: Path) -> None:
    path = _write(tmp_path, "good.yaml", GOOD)
    result = runner.invoke(app, ["rules", "list", "--json", str(path)])
    assert result.exit_code == 0, result.output
    (rule,) = json.loads(result.stdout)
    assert rule["name"] == "open_from_cat"
    assert rule["priority"] == "Warning"
    assert rule["evttypes"] == ["open"]
    table = runner.invoke(app, ["rules", "list", "-r", str(path)])
    assert table.exit_code == 0
    assert "open_from_cat" in table.output and "Warning" in table.output


def test_list_refuses_invalid_rules(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "list", str(_write(tmp_path, "bad.yaml", BAD_FIELD))])
    assert result.exit_code == 2
    assert "lanner rules validate" in result.output
