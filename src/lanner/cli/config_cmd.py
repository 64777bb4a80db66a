"""``lanner config show``: the effective configuration (defaults < file < -o overrides)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
import yaml

from lanner.cli.app_base import app
from lanner.cli.detect_setup import load_settings
from lanner.cli.options import ConfigOpt, OverrideOpt

config_app = typer.Typer(help="Show lanner's configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command()
def show(
    config_file: ConfigOpt = None,
    option: OverrideOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False,
) -> None:
    """Print every key with its value after the file and the -o overrides are applied."""
    settings = load_settings(config_file, option or [])
    if as_json:
        typer.echo(json.dumps(settings, indent=2, sort_keys=True))
    else:
        typer.echo(yaml.safe_dump(settings, sort_keys=False, default_flow_style=False).rstrip())
