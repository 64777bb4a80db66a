"""``lanner fields``: list the field registry."""

from __future__ import annotations

from lanner.cli.app_base import app


@app.command()
def fields() -> None:
    """List the fields conditions and outputs can use."""
