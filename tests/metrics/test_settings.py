"""The `metrics.*` keys: live file I/O and syscall latency are off unless asked for."""

from __future__ import annotations

import pytest

from lanner.config import ConfigError
from lanner.metrics.settings import MetricsSettings


def test_file_io_and_latency_default_off_and_read_booleans() -> None:
    default = MetricsSettings.from_config({})
    assert (default.file_io, default.latency) == (False, False)
    on = MetricsSettings.from_config({"metrics": {"file_io": True, "latency": "true"}})
    assert (on.file_io, on.latency, on.snaplen) == (True, True, 256)


@pytest.mark.parametrize("key", ["file_io", "latency"])
def test_a_bad_value_names_its_key(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"metrics\.{key}: expected true or false"):
        MetricsSettings.from_config({"metrics": {key: "sometimes"}})
