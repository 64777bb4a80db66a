"""``lanner rules validate|list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lanner.cli.app_base import rules_app
from lanner.rules.loader import LoadedRules, load_rules_files
from lanner.rules.results import LoadMessage
from lanner.rules.ruleset import CompiledRule

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules" / "default" / "lanner_rules.yaml"
EXIT_INVALID = 2
_EVTTYPES_SHOWN = 6


def _print_message(message: LoadMessage, kind: str) -> None:
    typer.echo(f"{message.one_line()} [{kind}]", err=kind == "error")
    if message.snippet:
        for line in message.snippet.splitlines():
            typer.echo(f"    {line}", err=kind == "error")


def _load(files: list[Path]) -> LoadedRules:
    return load_rules_files(files)


@rules_app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Rules files, loaded in this order.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print Falco's -V JSON result instead.")
    ] = False,
) -> None:
    """Check rules files as Falco would: errors and warnings with file:line:col.

    Exits 0 when every file is valid (warnings allowed), 2 when any has an error.
    """
    loaded = _load(files)
    result = loaded.result
    if as_json:
        typer.echo(json.dumps(result.to_falco_json(), indent=2))
    else:
        for file_result in result.files:
            for message in file_result.errors:
                _print_message(message, "error")
            for message in file_result.warnings:
                _print_message(message, "warning")
        for file_result in result.files:
            status = "ok" if file_result.successful else "invalid"
            typer.echo(
                f"{file_result.name}: {status} ({len(file_result.errors)} errors, "
                f"{len(file_result.warnings)} warnings)"
            )
        if result.successful:
            typer.echo(f"{len(loaded.rules)} rules compiled")
    if not result.successful:
        raise typer.Exit(EXIT_INVALID)


def _evttypes_text(rule: CompiledRule) -> str:
    types = rule.evttypes
    if types is None:
        return "(all)"
    names = sorted(types)
    if len(names) > _EVTTYPES_SHOWN:
        return ", ".join(names[:_EVTTYPES_SHOWN]) + f" (+{len(names) - _EVTTYPES_SHOWN})"
    return ", ".join(names)


def _rule_json(rule: CompiledRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "priority": rule.priority.display,
        "source": rule.source,
        "tags": list(rule.tags),
        "enabled": rule.enabled,
        "evttypes": None if rule.evttypes is None else sorted(rule.evttypes),
        "file": rule.file,
        "line": rule.line,
        "description": rule.description,
    }


@rules_app.command("list")
def list_rules(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Rules files (default: lanner's own rules).")
    ] = None,
    rules: Annotated[
        list[Path] | None, typer.Option("-r", "--rules", help="Rules file; may be repeated.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array of rules.")] = False,
) -> None:
    """List the rules the given files define, in load order."""
    paths = [*(files or []), *(rules or [])] or [DEFAULT_RULES]
    loaded = _load(paths)
    if not loaded.result.successful:
        for message in loaded.result.errors:
            _print_message(message, "error")
        typer.echo(
            "lanner: the rules do not load; run 'lanner rules validate' for details", err=True
        )
        raise typer.Exit(EXIT_INVALID)
    if as_json:
        typer.echo(json.dumps([_rule_json(rule) for rule in loaded.rules], indent=2))
        return
    table = Table(title=f"{len(loaded.rules)} rules")
    for column in ("name", "priority", "source", "tags", "enabled", "event types"):
        table.add_column(column)
    for rule in loaded.rules:
        table.add_row(
            escape(rule.name),
            rule.priority.display,
            rule.source,
            escape(", ".join(rule.tags)),
            "yes" if rule.enabled else "no",
            escape(_evttypes_text(rule)),
        )
    Console(width=200).print(table)
