"""Docker Engine API metadata against a real engine: Podman's Docker-compatible service, with
real containers (tests/enrich/podman.py)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from lanner.enrich.containers import read_proc_cgroups
from lanner.enrich.cri import CriMetadataSource
from lanner.enrich.docker import DockerClient, _rfc3339_ns
from lanner.enrich.pipeline import ContainerEnricher
from lanner.state.state import State
from tests.enrich.podman import PodmanFactory
from tests.enrich.test_pipeline import field
from tests.state.evbuild import event


def test_describe_a_running_container(
    podman_containers: PodmanFactory, podman_api: str, tmp_path: Path
) -> None:
    box = podman_containers.start(
        "lanner-api-1",
        ["sleep", "300"],
        labels={"app": "billing", "team": "core"},
        volumes=[(str(tmp_path), "/data", True)],
    )
    client = DockerClient(podman_api)
    assert client.engine() == "podman"
    assert box.id in client.list_container_ids()
    info = client.describe(box.id)
    assert info is not None and info.complete
    assert (info.id, info.name, info.type) == (box.id, "lanner-api-1", "podman")
    assert info.image == "docker.io/library/busybox:lanner"
    assert (info.image_repository, info.image_tag) == ("docker.io/library/busybox", "lanner")
    assert info.image_id is not None and len(info.image_id) == 64
    assert info.labels["app"] == "billing" and info.labels["team"] == "core"
    assert info.privileged is False and info.host_network is False
    assert info.start_ts is not None and abs(info.start_ts / 1e9 - time.time()) < 120
    mounts = {m.dest: m for m in info.mounts}
    assert mounts["/data"].source == str(tmp_path) and mounts["/data"].rdwr is False
    # A container the engine never had, and a short id it does not take as a name.
    assert client.describe("0" * 64) is None


def test_privileged_container_says_so(podman_containers: PodmanFactory, podman_api: str) -> None:
    box = podman_containers.start("lanner-api-priv", ["sleep", "300"], privileged=True)
    info = DockerClient(podman_api).describe(box.id)
    assert info is not None and info.privileged is True


def test_threads_of_a_podman_container_get_its_metadata(
    podman_containers: PodmanFactory, podman_api: str
) -> None:
    box = podman_containers.start("lanner-api-2", ["sleep", "300"], labels={"tier": "web"})
    state = State()
    enricher = ContainerEnricher()
    source = CriMetadataSource(DockerClient(podman_api), enricher.publish)
    enricher.attach(state, None, {"docker": source, "podman": source})
    source.start(prefetch=False)
    try:
        entry = SimpleNamespace(
            tid=box.pid, pid=box.pid, ptid=1, comm="sleep", exe="/bin/sleep", args=[], cwd="/",
            fdlimit=1024, flags=0, uid=0, gid=0,
            cgroups=[f"{subsys}={path}" for subsys, path in read_proc_cgroups(box.pid)],
        )  # fmt: skip
        state.seed(entry)
        assert source.wait_idle(10) and source.described == 1
        ev = event("close", "<", box.pid, 1, res=0)
        state.process(ev)
        assert field("container.id", ev) == box.id[:12]
        assert field("container.type", ev) == "podman"
        assert field("container.name", ev) == "lanner-api-2"
        assert field("container.image.repository", ev) == "docker.io/library/busybox"
        assert field("container.label", ev, "tier") == "web"
    finally:
        source.stop()


def test_docker_times_parse_to_nanoseconds() -> None:
    assert _rfc3339_ns("1970-01-01T00:00:01.5Z") == 1_500_000_000
    assert _rfc3339_ns("1970-01-01T01:00:02.000000007+01:00") == 2_000_000_007
    assert _rfc3339_ns("1970-01-01T00:00:03Z") == 3_000_000_000
    assert _rfc3339_ns("0001-01-01T00:00:00Z") is None and _rfc3339_ns("soon") is None


def test_an_engine_that_does_not_answer_is_not_used(podman_api: str, tmp_path: Path) -> None:
    import socket

    from lanner.enrich.enable import enable_containers

    assert DockerClient(podman_api).ping()
    stale = tmp_path / "docker.sock"  # a socket file nobody listens on (an engine that died)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(stale))
    assert not DockerClient(str(stale)).ping()
    enrichment = enable_containers(State(), cri_socket=None, docker_socket=str(stale))
    try:
        assert enrichment.docker is None
        assert enrichment.describe() == f"{stale} does not answer"
    finally:
        enrichment.stop()
    live = enable_containers(State(), cri_socket=None, docker_socket=podman_api)
    try:
        assert live.describe() == f"Docker API at {podman_api}"
    finally:
        live.stop()
