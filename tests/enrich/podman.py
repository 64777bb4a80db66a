"""Real Podman containers and Podman's Docker-compatible API, for the Docker API enrichment tests.

`podman_api` (session): the busybox image (built by scripts/containers-setup.sh, through the
`containerd_cri` fixture) loaded into Podman, and `podman system service` answering on
/run/podman/podman.sock (where lanner looks for it), started here if needed. `podman_containers`:
a `PodmanFactory` whose containers are removed after the test.

Podman runs with the cgroupfs manager and file events (no systemd here), no network, and a
nofile and nproc limits it may set (root here lacks CAP_SYS_RESOURCE for Podman's defaults).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI

SOCKET = "/run/podman/podman.sock"
IMAGE = "docker.io/library/busybox:lanner"
IMAGES = Path(os.environ.get("LANNER_CONTAINERS_DIR", "/var/tmp/lanner-containers")) / "images"
GLOBAL = ["--cgroup-manager=cgroupfs", "--events-backend=file"]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"podman required in CI: {reason}")
    pytest.skip(reason)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *GLOBAL, *args], capture_output=True, text=True, timeout=120, check=check
    )


def _answers(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(path)
            sock.sendall(b"GET /v1.41/_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return b" 200 " in sock.recv(64)
    except OSError:
        return False


@pytest.fixture(scope="session")
def podman_api(containerd_cri: str) -> str:
    del containerd_cri  # only for the image archive it builds
    if os.geteuid() != 0:
        _unavailable("podman containers need root")
    if shutil.which("podman") is None:
        _unavailable("podman is not installed (scripts/install-deps.sh --test)")
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        loaded = podman("load", "-i", str(IMAGES / "busybox.tar"), check=False)
        if loaded.returncode != 0:
            _unavailable(f"podman load failed: {loaded.stderr.strip()[-300:]}")
    if not _answers(SOCKET):
        Path(SOCKET).parent.mkdir(parents=True, exist_ok=True)
        log = open(IMAGES.parent / "podman-service.log", "w")  # noqa: SIM115 (the daemon's)
        subprocess.Popen(
            ["podman", *GLOBAL, "system", "service", "--time=0", f"unix://{SOCKET}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not _answers(SOCKET):
            if time.monotonic() > deadline:
                _unavailable("podman system service did not answer in 30 s")
            time.sleep(0.1)
    return SOCKET


@dataclass
class PodmanContainer:
    id: str
    name: str
    pid: int


class PodmanFactory:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def start(
        self,
        name: str,
        command: list[str],
        *,
        labels: dict[str, str] | None = None,
        privileged: bool = False,
        volumes: list[tuple[str, str, bool]] | None = None,
    ) -> PodmanContainer:
        """A detached busybox container running `command`; volumes: (host, container, ro)."""
        args = ["run", "-d", "--name", name, "--network", "none"]
        args += ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
        for key, value in (labels or {}).items():
            args += ["--label", f"{key}={value}"]
        if privileged:
            args.append("--privileged")
        for host, inside, read_only in volumes or []:
            args += ["-v", f"{host}:{inside}:{'ro' if read_only else 'rw'}"]
        podman("rm", "-f", "-t", "0", name, check=False)  # a leftover of a failed run
        done = podman(*args, IMAGE, *command, check=False)
        if done.returncode != 0:
            podman("rm", "-f", "-t", "0", name, check=False)
            pytest.fail(f"podman run failed: {done.stderr.strip()[-500:]}")
        cid = done.stdout.strip().splitlines()[-1]
        self.ids.append(cid)
        state = json.loads(podman("inspect", cid).stdout)[0]["State"]
        return PodmanContainer(cid, name, int(state["Pid"]))

    def remove_all(self) -> None:
        for cid in self.ids:
            podman("rm", "-f", "-t", "0", cid, check=False)
        self.ids.clear()


@pytest.fixture
def podman_containers(podman_api: str) -> Iterator[PodmanFactory]:
    del podman_api
    factory = PodmanFactory()
    try:
        yield factory
    finally:
        factory.remove_all()
