"""Against a real containerd: kubelet-style pods made through CRI, their processes mapped to
container ids from /proc/<pid>/cgroup, and the CRI client's description of them."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from lanner.enrich.containers import container_id_of_pid, read_proc_cgroups
from lanner.enrich.cri import CriClient, CriMetadataSource
from lanner.enrich.enable import enable_containers
from lanner.enrich.pipeline import ContainerEnricher
from lanner.state.state import State
from tests.enrich.cri_pods import BUSYBOX, PodFactory
from tests.enrich.fixtures import RunInPod
from tests.enrich.test_pipeline import field
from tests.state.evbuild import event

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(x) for x in handle.read().split()]


def test_pod_processes_resolve_to_their_container(run_in_pod: RunInPod) -> None:
    pid, cid = run_in_pod(["/bin/sh", "-c", "sleep 300 & while true; do sleep 1; done"])
    assert len(cid) == 64
    assert container_id_of_pid(pid) == cid
    # A child of the container's main process is in the same container.
    deadline = time.monotonic() + 5
    while not children(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children(pid) and all(container_id_of_pid(c) == cid for c in children(pid))
    assert container_id_of_pid(os.getpid()) == ""


def test_cri_describes_container_and_pod(cri_pods: PodFactory, containerd_cri: str) -> None:
    before = time.time_ns()
    pod = cri_pods.start(
        "web-0",
        "shop",
        pod_labels={"app": "web", "tier": "front"},
        host_network=False,
        privileged=True,
        mounts=[("/tmp", "/hosttmp", True)],
    )
    after = time.time_ns()
    client = CriClient(containerd_cri)
    try:
        assert client.version()[0] == "containerd"
        info = client.describe(container_id_of_pid(pod.pid))
        sandbox = client.describe(pod.sandbox_id)
        assert client.describe("0" * 64) is None
    finally:
        client.close()
    assert info is not None and info.complete and not info.is_pod_sandbox
    assert (info.id, info.name, info.type) == (pod.container_id, "app", "containerd")
    assert info.image == BUSYBOX
    assert (info.image_repository, info.image_tag) == ("docker.io/library/busybox", "lanner")
    assert info.image_id and len(info.image_id) == 64
    assert info.labels["io.kubernetes.pod.name"] == "web-0"
    assert info.labels["io.kubernetes.pod.namespace"] == "shop"
    assert info.labels["io.kubernetes.pod.uid"] == pod.pod_uid
    assert info.labels["io.kubernetes.container.name"] == "app"
    assert info.labels["io.kubernetes.sandbox.id"] == pod.sandbox_id
    assert info.pod_labels == {"app": "web", "tier": "front"}
    assert info.privileged is True
    assert (info.host_network, info.host_pid, info.host_ipc) == (False, False, False)
    assert [(m.source, m.dest, m.rdwr) for m in info.mounts] == [("/tmp", "/hosttmp", False)]
    assert info.start_ts is not None and before <= info.start_ts <= after
    # The pod network (CNI bridge of the setup script) gave the pod an address.
    assert info.ip is not None and info.ip.startswith("10.77.0.")
    assert sandbox is not None and sandbox.is_pod_sandbox
    assert (sandbox.id, sandbox.ip, sandbox.name) == (pod.sandbox_id, info.ip, "web-0")


def test_live_pipeline_fills_fields_without_blocking(
    cri_pods: PodFactory, containerd_cri: str
) -> None:
    pod = cri_pods.start("api-0", "prod", pod_labels={"app": "api"}, host_network=True)
    state = State()
    enricher = ContainerEnricher()
    source = CriMetadataSource(CriClient(containerd_cri), enricher.publish)
    enricher.attach(state, source)
    source.start(prefetch=False)
    try:
        entry = SimpleNamespace(
            tid=pod.pid, pid=pod.pid, ptid=1, comm="sh", exe="/bin/sh", args=[], cwd="/",
            fdlimit=1024, flags=0, uid=0, gid=0,
            cgroups=[f"{subsys}={path}" for subsys, path in read_proc_cgroups(pod.pid)],
        )  # fmt: skip
        started = time.perf_counter()
        state.seed(entry)  # sees a new container: asks CRI in the background
        assert time.perf_counter() - started < 0.05
        ev = event("close", "<", pod.pid, 1, res=0)
        state.process(ev)
        assert field("container.id", ev) == pod.container_id[:12]
        assert source.wait_idle(10)
        assert source.described == 1 and source.errors == 0
        state.process(ev)
        assert field("container.name", ev) == "app"
        assert field("container.image.repository", ev) == "docker.io/library/busybox"
        assert field("k8s.pod.name", ev) == "api-0"
        assert field("k8s.ns.name", ev) == "prod"
        assert field("k8s.pod.uid", ev) == pod.pod_uid
        assert field("k8s.pod.label", ev, "app") == "api"
        assert field("container.host_network", ev) is True
        # A host-network pod has no address of its own.
        assert field("k8s.pod.ip", ev) is None
        # The description became a container event for the rules.
        events = enricher.take_events()
        assert [e.type_name for e in events] == ["container"]
        state.process(events[0])
        assert field("container.id", events[0]) == pod.container_id[:12]
        assert field("container.name", events[0]) == "app"
    finally:
        source.stop()


def test_prefetch_describes_running_pods(cri_pods: PodFactory, containerd_cri: str) -> None:
    pod = cri_pods.start("pre-0", "default")
    enrichment = enable_containers(State(), cri_socket=containerd_cri, docker_socket=None)
    enricher, source = enrichment.enricher, enrichment.cri
    assert isinstance(source, CriMetadataSource)
    try:
        assert source.wait_idle(10)
        info = enricher.table.get(pod.container_id)
        assert info is not None and info.name == "app"
        sandbox = enricher.table.get(pod.sandbox_id)
        assert sandbox is not None and sandbox.is_pod_sandbox
        # Asking again right away is a no-op: the answer is already there.
        source.request(pod.container_id)
        assert source.wait_idle(5) and source.described >= 2
        described = source.described
        source.request(pod.container_id)
        assert source.wait_idle(5) and source.described == described
    finally:
        source.stop()
