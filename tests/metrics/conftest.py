"""Session-scoped real servers for the metrics ground-truth tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.metrics.servers import mariadb_server, nginx_server


@pytest.fixture(scope="session")
def nginx_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from nginx_server(tmp_path_factory.mktemp("nginx"))


@pytest.fixture(scope="session")
def mariadb_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from mariadb_server(tmp_path_factory.mktemp("mariadb"))
