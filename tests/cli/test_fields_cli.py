"""``lanner fields``: table, JSON, class filter and names-only output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lanner.cli import _register, app
from lanner.fields import default_registry

_register()
runner = CliRunner()


def test_names_only_lists_every_field_once() -> None:
    result = runner.invoke(app, ["fields", "-N"])
    assert result.exit_code == 0, result.output
    names = result.output.split()
    assert len(names) == len(set(names)) == len(default_registry())
    assert "proc.name" in names and "fd.sip" in names


def test_class_filter_keeps_only_that_class() -> None:
    result = runner.invoke(app, ["fields", "--class", "proc", "-N"])
    assert result.exit_code == 0, result.output
    names = result.output.split()
    assert "proc.aname" in names
    assert all(n.startswith("proc.") for n in names)
    assert "thread.tid" not in names


def test_fs_path_is_its_own_class() -> None:
    result = runner.invoke(app, ["fields", "--class", "fs.path", "-N"])
    assert result.exit_code == 0
    assert set(result.output.split()) >= {"fs.path.name", "fs.path.source", "fs.path.target"}


def test_json_output_describes_types_and_arguments() -> None:
    result = runner.invoke(app, ["fields", "--json", "--class", "fd"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["fd.num"]["type"] == "int"
    assert rows["fd.net"]["type"] == "ipnet" and rows["fd.net"]["filter_only"] is True
    assert rows["fd.name"]["filter_only"] is False
    assert all(row["class"] == "fd" for row in rows.values())


def test_json_ancestor_field_flags() -> None:
    result = runner.invoke(app, ["fields", "--json", "--class", "proc"])
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["proc.aname"]["any_without_arg"] is True
    assert rows["proc.aname"]["arg"] == "optional" and rows["proc.aname"]["arg_kind"] == "index"
    assert rows["proc.name"]["arg_kind"] is None


def test_table_groups_by_class() -> None:
    result = runner.invoke(app, ["fields"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "proc (" in result.output and "fd (" in result.output
    assert result.output.index("evt (") < result.output.index("proc (")
    assert "proc.aname" in result.output and "[N] (optional)" in result.output


def test_unknown_class_is_a_one_line_error() -> None:
    result = runner.invoke(app, ["fields", "--class", "nope"])
    assert result.exit_code == 1
    assert "unknown field class 'nope'" in result.output
    assert "Traceback" not in result.output
