"""Running Debian's sysdig (0.29.3) from tests, its own error in the failure when it refuses."""

from __future__ import annotations

import subprocess

import pytest


def sysdig_output(*args: str) -> str:
    """sysdig's stdout; a non-zero exit fails the test with what sysdig printed on stderr."""
    command = ["sysdig", *args]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"sysdig {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout
