"""Command-line options shared by ``lanner replay``, ``run`` and ``capture`` (Falco's letters)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("-r", "--rules", help="Rules file(s), in order. Default: lanner's own."),
]
OverrideOpt = Annotated[
    list[str] | None, typer.Option("-o", help="Override a configuration key: key=value.")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("-c", "--config", help="lanner.yaml configuration file.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Alerts as Falco JSON.")]
MinPriorityOpt = Annotated[
    str | None, typer.Option("--min-priority", help="Skip rules less severe than this.")
]
EnableTagOpt = Annotated[list[str] | None, typer.Option("-t", help="Run only rules with this tag.")]
DisableTagOpt = Annotated[list[str] | None, typer.Option("-T", help="Disable rules with this tag.")]
DisableRuleOpt = Annotated[
    list[str] | None,
    typer.Option("-D", help="Disable rules whose name contains this (or matches a glob)."),
]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="No summary.")]
