"""Shared test fixtures: where the compatibility corpus lives, and the BPF requirement switch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPAT = Path(os.environ.get("LANNER_COMPAT_DIR", ROOT.parent / "shared" / "compat"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def compat_path(*parts: str) -> Path:
    """A path inside ../shared/compat; skips the test when the corpus is absent outside CI."""
    path = COMPAT.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"compat corpus missing in CI: {path}")
        pytest.skip(f"compat corpus not available: {path}")
    return path


@pytest.fixture
def compat() -> Path:
    return compat_path()


# Tests that watch the whole machine (a live probe sees every process) or time real servers are
# marked `serial`: `make test` runs them after the parallel part, one after another, since two
# at once would see each other's traffic and latency checks would measure the other's load.
_SERIAL_FILES = ("test_real_servers.py",)


def pytest_itemcollected(item: pytest.Item) -> None:
    if item.get_closest_marker("bpf") is not None or item.path.name in _SERIAL_FILES:
        item.add_marker(pytest.mark.serial)
