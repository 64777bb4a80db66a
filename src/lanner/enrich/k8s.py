"""Optional Kubernetes API enrichment: each pod's owner workload and its namespace's labels.

CRI already tells a container's pod name, namespace, uid and labels. What it cannot tell (the
Deployment behind a pod's ReplicaSet, the namespace's labels) comes from the API server, with
the official ``kubernetes`` client (the ``[k8s]`` extra): one background thread per resource
(pods, namespaces, replicasets) lists it, then watches from the list's resourceVersion, and
lists again when the watch expires. Lookups only read the resulting dicts.

Off when there is no cluster access: `KubeMetadata.from_environment()` returns None when
neither the in-cluster service account nor a kubeconfig is there, or the client is missing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lanner.enrich.containers import ContainerInfo

log = logging.getLogger(__name__)

POD_UID_LABEL = "io.kubernetes.pod.uid"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"


@dataclass(slots=True)
class PodMeta:
    uid: str
    namespace: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    # The controller named in the pod's ownerReferences (kind, name).
    owner: tuple[str, str] | None = None


@dataclass(slots=True)
class NamespaceMeta:
    name: str
    uid: str
    labels: dict[str, str] = field(default_factory=dict)


def _controller(meta: dict[str, Any]) -> tuple[str, str] | None:
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("kind", "")), str(ref.get("name", ""))
    return None


def _labels(meta: dict[str, Any]) -> dict[str, str]:
    labels = meta.get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


class KubeMetadata:
    """Caches of pods, namespaces and replicasets kept current by list+watch."""

    def __init__(
        self, api_client: Any, *, node_name: str | None = None, watch_timeout_s: int = 300
    ) -> None:
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.node_name = node_name
        self.watch_timeout_s = watch_timeout_s
        self.pods: dict[str, PodMeta] = {}
        self.namespaces: dict[str, NamespaceMeta] = {}
        # (namespace, replicaset name) -> its controller (normally a Deployment).
        self.replicasets: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._tables: list[dict[str, ContainerInfo]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._synced: dict[str, threading.Event] = {}
        self.errors = 0

    @classmethod
    def from_environment(cls, **options: Any) -> KubeMetadata | None:
        """Connected to the cluster this runs in (or the kubeconfig's), or None: no access."""
        try:
            from kubernetes import client, config
        except ImportError:
            return None
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            try:
                # The client reads KUBECONFIG once, at import: pass today's value.
                path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
                config.load_kube_config(config_file=path)  # type: ignore[no-untyped-call]
            except (config.ConfigException, OSError):
                return None
        return cls(client.ApiClient(), **options)

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> KubeMetadata:
        # Only this node's pods matter to an agent; the filter is the API server's.
        pod_filter = {"field_selector": f"spec.nodeName={self.node_name}"} if self.node_name else {}
        watched: list[tuple[str, Callable[..., Any], dict[str, Any], Callable[[str, Any], None]]]
        watched = [
            ("pods", self.core.list_pod_for_all_namespaces, pod_filter, self._on_pod),
            ("namespaces", self.core.list_namespace, {}, self._on_namespace),
            ("replicasets", self.apps.list_replica_set_for_all_namespaces, {}, self._on_rs),
        ]
        for name, lister, kwargs, apply in watched:
            self._synced[name] = threading.Event()
            thread = threading.Thread(
                target=self._list_watch,
                args=(name, lister, kwargs, apply),
                name=f"lanner-k8s-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def wait_synced(self, timeout: float = 10.0) -> bool:
        """True once every resource has been listed once."""
        deadline = time.monotonic() + timeout
        return all(ev.wait(max(0.0, deadline - time.monotonic())) for ev in self._synced.values())

    def follow(self, table: dict[str, ContainerInfo]) -> None:
        """Re-decorate this table's containers when their pod or namespace changes."""
        self._tables.append(table)

    # ---- lookups ---------------------------------------------------------------------------

    def workload(self, pod: PodMeta) -> tuple[str, str] | None:
        """The workload that runs a pod: a ReplicaSet's Deployment, else the pod's controller."""
        owner = pod.owner
        if owner is not None and owner[0] == "ReplicaSet":
            above = self.replicasets.get((pod.namespace, owner[1]))
            if above is not None:
                return above
        return owner

    def decorate(self, info: ContainerInfo) -> None:
        """Fill a container's Kubernetes API facts (namespace uid/labels, owner workload)."""
        labels = info.labels
        namespace = self.namespaces.get(labels.get(POD_NAMESPACE_LABEL, ""))
        if namespace is not None:
            info.namespace_uid = namespace.uid
            info.namespace_labels = dict(namespace.labels)
        pod = self.pods.get(labels.get(POD_UID_LABEL, ""))
        if pod is not None:
            workload = self.workload(pod)
            info.workload_kind, info.workload_name = workload or (None, None)
            if info.pod_labels is None:
                info.pod_labels = dict(pod.labels)

    # ---- list + watch ----------------------------------------------------------------------

    def _list_watch(
        self, name: str, lister: Callable[..., Any], kwargs: dict[str, Any], apply: Any
    ) -> None:
        from kubernetes import watch

        while not self._stop.is_set():
            try:
                reply = lister(_preload_content=False, _request_timeout=30, **kwargs)
                listing = json.loads(reply.data)
                for item in listing.get("items") or []:
                    apply("ADDED", item)
                self._synced[name].set()
                self._refresh_tables()
                version = str(listing.get("metadata", {}).get("resourceVersion", ""))
                while not self._stop.is_set():
                    stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                        lister,
                        resource_version=version,
                        timeout_seconds=self.watch_timeout_s,
                        _request_timeout=self.watch_timeout_s + 30,
                        deserialize=False,
                        **kwargs,
                    )
                    for event in stream:
                        if self._stop.is_set():
                            return
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            raise _Expired(str(obj.get("message", "watch error")))
                        if kind in ("ADDED", "MODIFIED", "DELETED"):
                            apply(kind, obj)
                            self._refresh_tables()
                        version = str(obj.get("metadata", {}).get("resourceVersion", version))
            except _Expired as exc:
                log.debug("lanner: k8s %s watch expired (%s); listing again", name, exc)
            except Exception as exc:  # the API server going away must not end the thread
                self.errors += 1
                log.warning("lanner: k8s %s list/watch failed: %s", name, exc)
                self._stop.wait(2.0)

    def _on_pod(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        if kind == "DELETED":
            self.pods.pop(uid, None)
            return
        self.pods[uid] = PodMeta(
            uid, str(meta.get("namespace", "")), str(meta.get("name", "")), _labels(meta),
            _controller(meta),
        )  # fmt: skip

    def _on_namespace(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        if kind == "DELETED":
            self.namespaces.pop(name, None)
            return
        self.namespaces[name] = NamespaceMeta(name, str(meta.get("uid", "")), _labels(meta))

    def _on_rs(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        if kind == "DELETED":
            self.replicasets.pop(key, None)
            return
        self.replicasets[key] = _controller(meta)

    def _refresh_tables(self) -> None:
        for table in self._tables:
            infos: Iterable[ContainerInfo] = list(table.values())
            for info in infos:
                if POD_UID_LABEL in info.labels:
                    self.decorate(info)


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""
