"""The Typer application object and the error type commands raise for user mistakes."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lanner",
    help="Runtime security and performance monitor for Linux and Kubernetes nodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

rules_app = typer.Typer(help="Validate and list Falco-format rules files.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


class UserError(Exception):
    """A mistake of the user's: printed as one line, exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, exit_code: int = 1) -> None:
    """Print ``lanner: message`` on stderr and exit."""
    typer.echo(f"lanner: {message}", err=True)
    raise typer.Exit(exit_code)
