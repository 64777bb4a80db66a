"""``lanner run``: live detection on this node."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lanner.cli.app_base import app, fail


@app.command()
def run(
    rules: Annotated[
        list[Path] | None, typer.Option("-r", "--rules", help="Rules file(s).")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("-o", help="Override a configuration key: key=value.")
    ] = None,
) -> None:
    """Watch every process through eBPF and alert in real time."""
    fail("live capture is not built yet (issue: live capture); use 'lanner replay' on a .scap file")
