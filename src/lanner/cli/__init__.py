"""The ``lanner`` command line: one Typer app, one module per command group.

User mistakes end in a one-line error on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from lanner.cli import app_base
from lanner.cli.app_base import app

__all__ = ["app", "main"]


def _register() -> None:
    # Command modules register themselves on import; import order is the help order.
    from lanner.cli import (  # noqa: F401
        capture_cmd,
        config_cmd,
        fields_cmd,
        replay_cmd,
        rules_cmd,
        run_cmd,
        top_cmd,
    )


def main() -> None:
    _register()
    try:
        app(prog_name="lanner")
    except app_base.UserError as exc:  # pragma: no cover - typer handles most paths
        typer.echo(f"lanner: {exc}", err=True)
        sys.exit(exc.exit_code)
