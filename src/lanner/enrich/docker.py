"""Container metadata from Docker or Podman over the Docker Engine API, off the hot path.

`DockerClient.describe(id)` asks the engine (HTTP/1.1 over its unix socket, the standard
library's http.client) for ``GET /containers/<id>/json`` and the image's ``RepoDigests``, and
turns them into a ContainerInfo: name, image (repository, tag, id, digest), labels, mounts,
privileged, host namespaces, IP address, start time, health check. Podman serves the same API
(`podman system service`), so one client covers both; the container type comes from the engine.

The lookups run in a `CriMetadataSource` worker like CRI's (it only needs `describe`,
`list_container_ids` and `close`): the event path never waits for the engine.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
from datetime import datetime
from typing import Any
from urllib.parse import quote

from lanner.enrich.containers import ContainerInfo, MetadataError, docker_mounts, split_image

__all__ = ["DEFAULT_DOCKER_SOCKETS", "DockerClient", "DockerError", "find_docker_socket"]

# Where Docker-API engines listen, in the order they are tried (rootful Podman's service last).
DEFAULT_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock")
_API = "/v1.41"
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$")


class DockerError(MetadataError):
    """The engine could not be reached or answered with an error."""


def find_docker_socket(candidates: tuple[str, ...] = DEFAULT_DOCKER_SOCKETS) -> str | None:
    for path in candidates:
        try:
            if os.path.exists(path) and not os.path.isdir(path):
                return path
        except OSError:
            continue
    return None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerClient:
    """A Docker Engine API client on a unix socket (one request per connection: the worker
    asks rarely, and a stale keep-alive connection would only add failure modes)."""

    def __init__(self, socket_path: str, timeout: float = 2.0) -> None:
        self.socket = socket_path
        self.timeout = timeout
        self._engine: str | None = None

    def close(self) -> None:
        pass

    def _request(self, path: str) -> tuple[int, bytes]:
        """GET `path` of the API: (HTTP status, body); DockerError when the engine is not there."""
        conn = _UnixConnection(self.socket, self.timeout)
        try:
            conn.request("GET", _API + path, headers={"Host": "docker"})
            reply = conn.getresponse()
            return reply.status, reply.read()
        except (OSError, http.client.HTTPException) as exc:
            raise DockerError(f"{self.socket}: {exc}") from None
        finally:
            conn.close()

    def _get(self, path: str) -> Any:
        status, body = self._request(path)
        if status == 404:
            return None
        if status != 200:
            raise DockerError(f"{self.socket} GET {path}: HTTP {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise DockerError(f"{self.socket} GET {path}: not JSON") from None

    def ping(self) -> bool:
        """Whether the engine answers (GET /_ping)."""
        try:
            return self._request("/_ping")[0] == 200
        except DockerError:
            return False

    def engine(self) -> str:
        """ "podman" or "docker", from the engine's /version."""
        if self._engine is None:
            version = self._get("/version") or {}
            names = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
            self._engine = "podman" if "podman" in names.lower() else "docker"
        return self._engine

    def list_container_ids(self) -> list[str]:
        listing = self._get("/containers/json") or []
        return [str(item["Id"]) for item in listing if isinstance(item, dict) and "Id" in item]

    def describe(self, container_id: str) -> ContainerInfo | None:
        """Everything the engine knows of a container; None when it knows nothing of it."""
        data = self._get(f"/containers/{quote(container_id, safe='')}/json")
        if not isinstance(data, dict):
            return None
        return self._container_info(data)

    def _container_info(self, data: dict[str, Any]) -> ContainerInfo:
        config = data.get("Config") or {}
        host = data.get("HostConfig") or {}
        state = data.get("State") or {}
        network = data.get("NetworkSettings") or {}
        info = ContainerInfo(id=str(data.get("Id", "")), type=self.engine(), complete=True)
        info.name = str(data.get("Name") or "").lstrip("/") or None
        info.labels = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
        info.privileged = bool(host.get("Privileged", False))
        info.host_network = host.get("NetworkMode") == "host"
        info.host_pid = host.get("PidMode") == "host"
        info.host_ipc = host.get("IpcMode") == "host"
        info.ip = network.get("IPAddress") or _first_ip(network.get("Networks")) or None
        info.start_ts = _rfc3339_ns(state.get("StartedAt"))
        info.mounts = docker_mounts(data.get("Mounts"))
        test = (config.get("Healthcheck") or {}).get("Test")
        if isinstance(test, list) and test and test[0] not in ("NONE",):
            info.healthcheck = " ".join(str(t) for t in test[1:] if t)
        image = str(config.get("Image") or "")
        image_id = str(data.get("Image") or "").removeprefix("sha256:")
        info.image = image or None
        info.image_id = image_id or None
        if image:
            info.image_repository, info.image_tag, info.image_digest = split_image(image)
        if image_id and not info.image_digest:
            found = self._get(f"/images/{image_id}/json")
            digests = found.get("RepoDigests") if isinstance(found, dict) else None
            if isinstance(digests, list) and digests:
                info.image_digest = str(digests[0]).rpartition("@")[2] or None
        return info


def _first_ip(networks: Any) -> str | None:
    if not isinstance(networks, dict):
        return None
    for settings in networks.values():
        if isinstance(settings, dict) and settings.get("IPAddress"):
            return str(settings["IPAddress"])
    return None


def _rfc3339_ns(text: Any) -> int | None:
    """Nanoseconds since the epoch of Docker's "2026-11-22T19:31:39.672553624Z"."""
    if not isinstance(text, str) or text.startswith("0001-"):
        return None
    found = _RFC3339.match(text.replace("Z", "+00:00"))
    if found is None:
        return None
    base, frac, zone = found.groups()
    try:
        when = datetime.fromisoformat(base + (zone or "+00:00"))
    except ValueError:
        return None
    return int(when.timestamp()) * 1_000_000_000 + int(((frac or "") + "000000000")[:9])
