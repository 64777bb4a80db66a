"""Kubernetes API enrichment (list + watch with a cache) against a stand-in API server."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lanner.enrich.containers import ContainerInfo, ContainerTable
from tests.enrich.kube_apiserver import StandInApiServer

kubernetes = pytest.importorskip("kubernetes")
from lanner.enrich.k8s import KubeMetadata  # noqa: E402


def pod(name: str, node: str, owner: tuple[str, str] | None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": f"uid-{name}"}
    meta["labels"] = labels
    if owner is not None:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": "x",
             "controller": True},
        ]  # fmt: skip
    return {"metadata": meta, "spec": {"nodeName": node, "containers": []}}


def container_of(pod_name: str) -> ContainerInfo:
    return ContainerInfo(
        id=hashlib.sha256(pod_name.encode()).hexdigest(),
        labels={
            "io.kubernetes.pod.name": pod_name,
            "io.kubernetes.pod.namespace": "shop",
            "io.kubernetes.pod.uid": f"uid-{pod_name}",
        },
    )


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture
def api() -> Iterator[StandInApiServer]:
    server = StandInApiServer().start()
    server.put("namespaces", {"metadata": {"name": "shop", "labels": {"team": "payments"}}})
    server.put("namespaces", {"metadata": {"name": "kube-system"}})
    server.put(
        "replicasets",
        {"metadata": {"name": "web-7d9c", "namespace": "shop", "ownerReferences": [
            {"kind": "Deployment", "name": "web", "controller": True}]}},
    )  # fmt: skip
    server.put("pods", pod("web-7d9c-abcde", "node-a", ("ReplicaSet", "web-7d9c"), app="web"))
    server.put("pods", pod("agent-x1", "node-a", ("DaemonSet", "agent"), app="agent"))
    server.put("pods", pod("db-0", "node-b", ("StatefulSet", "db"), app="db"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kube(api: StandInApiServer) -> Iterator[KubeMetadata]:
    config = kubernetes.client.Configuration()
    config.host = api.url
    metadata = KubeMetadata(
        kubernetes.client.ApiClient(config), node_name="node-a", watch_timeout_s=1
    ).start()
    try:
        assert metadata.wait_synced(10)
        yield metadata
    finally:
        metadata.stop()


def test_list_fills_caches_with_this_nodes_pods(kube: KubeMetadata, api: StandInApiServer) -> None:
    assert set(kube.pods) == {"uid-web-7d9c-abcde", "uid-agent-x1"}
    assert any("fieldSelector=spec.nodeName" in path for path in api.requests)
    assert kube.namespaces["shop"].labels == {"team": "payments"}
    web = container_of("web-7d9c-abcde")
    kube.decorate(web)
    # A ReplicaSet's pod belongs to the ReplicaSet's Deployment.
    assert (web.workload_kind, web.workload_name) == ("Deployment", "web")
    assert web.namespace_labels == {"team": "payments"}
    assert web.namespace_uid == kube.namespaces["shop"].uid
    assert web.pod_labels == {"app": "web"}
    agent = container_of("agent-x1")
    kube.decorate(agent)
    assert (agent.workload_kind, agent.workload_name) == ("DaemonSet", "agent")
    stranger = container_of("not-here")
    kube.decorate(stranger)
    assert stranger.workload_kind is None and stranger.namespace_labels == {"team": "payments"}


def test_watch_keeps_cache_and_followed_containers_current(
    kube: KubeMetadata, api: StandInApiServer
) -> None:
    table = ContainerTable()
    web = table.add(container_of("web-7d9c-abcde"))
    late = table.add(container_of("late-1"))
    kube.follow(table)
    api.put("namespaces", {"metadata": {"name": "shop", "labels": {"team": "checkout"}}})
    assert eventually(lambda: web.namespace_labels == {"team": "checkout"})
    api.put("pods", pod("late-1", "node-a", ("Job", "nightly"), app="batch"))
    assert eventually(lambda: late.workload_name == "nightly")
    api.put("pods", pod("elsewhere", "node-b", None))
    api.delete("pods", "shop", "agent-x1")
    assert eventually(lambda: "uid-agent-x1" not in kube.pods)
    assert "uid-elsewhere" not in kube.pods
    # The watch ran past its 1 s timeout and was resumed from the last version seen.
    time.sleep(1.3)
    api.put("pods", pod("after-timeout", "node-a", None))
    assert eventually(lambda: "uid-after-timeout" in kube.pods)
    assert kube.errors == 0


def test_off_without_cluster_access_and_on_with_a_kubeconfig(
    api: StandInApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert KubeMetadata.from_environment() is None
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
        f"clusters: [{{name: t, cluster: {{server: '{api.url}'}}}}]\n"
        "users: [{name: t, user: {token: x}}]\n"
        "contexts: [{name: t, context: {cluster: t, user: t}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    metadata = KubeMetadata.from_environment(watch_timeout_s=1)
    assert metadata is not None
    metadata.start()
    try:
        assert metadata.wait_synced(10)
        assert "uid-db-0" in metadata.pods  # no node filter: the whole cluster
    finally:
        metadata.stop()
