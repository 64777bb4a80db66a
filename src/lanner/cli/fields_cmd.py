"""``lanner fields``: list the field registry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lanner.cli.app_base import app, fail
from lanner.fields import default_registry
from lanner.fields.catalog import field_class
from lanner.fields.registry import ArgKind, ArgMode, FieldInfo


def _arg_text(info: FieldInfo) -> str:
    """How the argument is written: '[N]' an index, '[key]' a name, '.key' a dotted suffix."""
    if info.arg_mode is ArgMode.NONE:
        return ""
    inner = {ArgKind.INDEX: "N", ArgKind.KEY: "key", ArgKind.INDEX_OR_KEY: "N|key"}[info.arg_kind]
    text = f"[{inner}]"
    if info.dotted_arg:
        text += " .key"
    if info.arg_mode is ArgMode.OPTIONAL:
        text += " (optional)"
    return text


def _as_json(info: FieldInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "class": field_class(info.name),
        "type": info.type.value,
        "desc": info.desc,
        "arg": info.arg_mode.value,
        "arg_kind": info.arg_kind.value if info.arg_mode is not ArgMode.NONE else None,
        "dotted_arg": info.dotted_arg,
        "is_list": info.is_list,
        "any_without_arg": info.any_without_arg,
        "filter_only": info.filter_only,
        "source": info.source,
    }


@app.command()
def fields(
    class_: Annotated[
        str | None,
        typer.Option("--class", "-c", help="Only this field class (proc, fd, evt, fs.path...)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON array of field objects.")
    ] = False,
    names_only: Annotated[bool, typer.Option("-N", "--names", help="Field names only.")] = False,
) -> None:
    """List the fields conditions and outputs can use."""
    infos = list(default_registry())
    classes = sorted({field_class(i.name) for i in infos})
    if class_ is not None:
        if class_ not in classes:
            fail(f"unknown field class '{class_}' (known: {', '.join(classes)})")
        infos = [i for i in infos if field_class(i.name) == class_]
    if names_only:
        typer.echo("\n".join(i.name for i in infos))
        return
    if as_json:
        typer.echo(json.dumps([_as_json(i) for i in infos], indent=2))
        return
    console = Console()
    by_class: dict[str, list[FieldInfo]] = {}
    for info in infos:
        by_class.setdefault(field_class(info.name), []).append(info)
    for name, members in by_class.items():
        table = Table(title=f"{name} ({len(members)} fields)", title_justify="left", expand=False)
        table.add_column("field", style="bold cyan", no_wrap=True)
        table.add_column("type", style="green", no_wrap=True)
        table.add_column("arg", no_wrap=True)
        table.add_column("description")
        for info in members:
            desc = escape(info.desc)
            if info.filter_only:
                desc = f"[dim](filter only)[/dim] {desc}"
            table.add_row(info.name, info.type.value, escape(_arg_text(info)), desc)
        console.print(table)
