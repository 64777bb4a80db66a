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


def test_a_rules_directory_loads_its_files_in_name_order(tmp_path: Path) -> None:
    """Falco's -r DIR: the regular files in it, sorted by name (symlinks followed, as rules.d
    links into rules.available); a subdirectory is not descended into."""
    from tests.conftest import compat_path

    trace = compat_path("scap", "falco-0.34.1", "cat_write.scap")
    available = tmp_path / "rules.available"
    available.mkdir()
    _write(available, "base.yaml", GOOD)
    rules_d = tmp_path / "rules.d"
    rules_d.mkdir()
    (rules_d / "00-base.yaml").symlink_to(available / "base.yaml")
    # Loaded after 00-base: replaces the output; a load before it would be an error.
    _write(
        rules_d,
        "50-local.yaml",
        "- rule: open_from_cat\n  output: LOCAL %proc.name\n  override:\n    output: replace\n",
    )
    (rules_d / "sub").mkdir()
    _write(rules_d / "sub", "ignored.yaml", BAD_FIELD)

    result = runner.invoke(app, ["replay", str(trace), "--legacy", "-r", str(rules_d)])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "LOCAL" in line]
    assert lines and all(line.endswith("LOCAL cat") for line in lines)
    assert "00-base.yaml" in result.stderr and "50-local.yaml" in result.stderr
    assert "ignored.yaml" not in result.stderr

    listed = runner.invoke(app, ["rules", "validate", str(rules_d)])
    assert listed.exit_code == 0, listed.stdout
    assert "00-base.yaml: ok" in listed.stdout and "50-local.yaml: ok" in listed.stdout

    empty = tmp_path / "empty.d"
    empty.mkdir()
    failed = runner.invoke(app, ["replay", str(trace), "-r", str(empty)])
    assert failed.exit_code != 0
    assert "LOAD_ERR_FILE_READ rules content: a directory with no files in it" in failed.stderr
    assert failed.stderr.strip().splitlines()[-1] == f"lanner: could not load rules from {empty}"
