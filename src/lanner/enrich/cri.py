"""Container metadata from the container runtime over CRI (containerd, CRI-O), off the hot path.

`CriClient.describe(id)` asks the runtime (gRPC over its unix socket, CRI v1 stubs from the
``container-runtime-interface-api`` package) for one container's status, its pod sandbox and
image, and turns them into a ContainerInfo: name, image (repository, tag, id, digest), labels
(kubelet's io.kubernetes.* included), mounts, privileged, host namespaces, start time, and from
the sandbox the pod IP and the pod's labels. A pause (sandbox) process resolves to its sandbox.

`CriMetadataSource` runs those lookups in one background thread: the event path only calls
`request(id)` (a queue put) and later reads the table the results are published into.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import grpc  # type: ignore[import-untyped]
from cri_api.v1 import api_pb2 as cri
from cri_api.v1.api_pb2_grpc import (
    ImageServiceStub,
    RuntimeServiceStub,
)

from lanner.enrich.containers import ContainerInfo, MetadataError, Mount, split_image

log = logging.getLogger(__name__)

# Where CRI runtimes listen, in the order they are tried.
DEFAULT_SOCKETS = (
    "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/cri-dockerd.sock",
)
SANDBOX_LABEL = "io.kubernetes.sandbox.id"
_NODE = 2  # NamespaceMode NODE: the host's namespace
_PROPAGATION = {0: "private", 1: "rslave", 2: "rshared"}


class CriError(MetadataError):
    """The runtime could not be reached or answered with an error."""


def find_socket(candidates: tuple[str, ...] = DEFAULT_SOCKETS) -> str | None:
    """The first CRI socket that exists on this node."""
    for path in candidates:
        if os.path.exists(path):
            return path
    return None


class CriClient:
    """A synchronous CRI client; every call has a deadline so a stuck runtime cannot hang us."""

    def __init__(self, socket: str, timeout: float = 2.0) -> None:
        self.socket = socket
        self.timeout = timeout
        self._channel = grpc.insecure_channel(f"unix://{socket}")
        self.runtime = RuntimeServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.images = ImageServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._channel.close()

    def version(self) -> tuple[str, str]:
        """(runtime name, runtime version)."""
        reply = self._call(self.runtime.Version, cri.VersionRequest())
        return reply.runtime_name, reply.runtime_version

    def list_container_ids(self) -> list[str]:
        """Ids of the runtime's running containers and ready pod sandboxes."""
        containers = self._call(
            self.runtime.ListContainers,
            cri.ListContainersRequest(
                filter=cri.ContainerFilter(
                    state=cri.ContainerStateValue(state=cri.CONTAINER_RUNNING)
                )
            ),
        )
        sandboxes = self._call(
            self.runtime.ListPodSandbox,
            cri.ListPodSandboxRequest(
                filter=cri.PodSandboxFilter(state=cri.PodSandboxStateValue(state=cri.SANDBOX_READY))
            ),
        )
        return [c.id for c in containers.containers] + [s.id for s in sandboxes.items]

    def describe(self, container_id: str) -> ContainerInfo | None:
        """Everything CRI knows of a container (or pod sandbox); None when it knows nothing."""
        try:
            reply = self.runtime.ContainerStatus(
                cri.ContainerStatusRequest(container_id=container_id, verbose=True),
                timeout=self.timeout,
            )
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise CriError(
                    f"CRI ContainerStatus {container_id[:12]}: {exc.details()}"
                ) from None
            return self._describe_sandbox(container_id)
        return self._container_info(container_id, reply)

    # ---- building ContainerInfo ----------------------------------------------------------

    def _container_info(self, container_id: str, reply: Any) -> ContainerInfo:
        status = reply.status
        verbose = _json(reply.info.get("info", ""))
        config = verbose.get("config") or {}
        linux = (config.get("linux") or {}).get("security_context") or {}
        namespaces = linux.get("namespace_options") or {}
        info = ContainerInfo(id=status.id or container_id, type=self._runtime_type(), complete=True)
        info.name = status.metadata.name or None
        info.labels = dict(status.labels)
        info.start_ts = int(status.created_at) or None
        info.privileged = bool(linux.get("privileged", False))
        info.host_network = namespaces.get("network", 0) == _NODE
        info.host_pid = namespaces.get("pid", 0) == _NODE
        info.host_ipc = namespaces.get("ipc", 0) == _NODE
        info.mounts = [
            Mount(
                source=m.host_path,
                dest=m.container_path,
                mode="ro" if m.readonly else "rw",
                rdwr=not m.readonly,
                propagation=_PROPAGATION.get(int(m.propagation), ""),
            )
            for m in status.mounts
        ]
        self._fill_image(info, status.image.image, status.image_ref)
        sandbox_id = str(verbose.get("sandboxID") or "") or self._sandbox_of(container_id)
        if sandbox_id:
            info.labels.setdefault(SANDBOX_LABEL, sandbox_id)
            sandbox = self._sandbox_status(sandbox_id)
            if sandbox is not None:
                _fill_from_sandbox(info, sandbox)
        return info

    def _describe_sandbox(self, sandbox_id: str) -> ContainerInfo | None:
        sandbox = self._sandbox_status(sandbox_id)
        if sandbox is None:
            return None
        info = ContainerInfo(id=sandbox.id, type=self._runtime_type(), complete=True)
        info.is_pod_sandbox = True
        info.name = sandbox.metadata.name or None
        info.labels = dict(sandbox.labels)
        info.labels.setdefault(SANDBOX_LABEL, sandbox.id)
        info.start_ts = int(sandbox.created_at) or None
        _fill_from_sandbox(info, sandbox)
        return info

    def _sandbox_of(self, container_id: str) -> str:
        reply = self._call(
            self.runtime.ListContainers,
            cri.ListContainersRequest(filter=cri.ContainerFilter(id=container_id)),
        )
        return str(reply.containers[0].pod_sandbox_id) if reply.containers else ""

    def _sandbox_status(self, sandbox_id: str) -> Any:
        try:
            return self.runtime.PodSandboxStatus(
                cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id), timeout=self.timeout
            ).status
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise CriError(f"CRI PodSandboxStatus {sandbox_id[:12]}: {exc.details()}") from None

    def _fill_image(self, info: ContainerInfo, image: str, image_ref: str) -> None:
        # status.image is what the pod spec asked for; it may already be a digest reference.
        name = image if image and not image.startswith("sha256:") else ""
        digest = None
        try:
            found = self.images.ImageStatus(
                cri.ImageStatusRequest(image=cri.ImageSpec(image=image_ref or image)),
                timeout=self.timeout,
            ).image
        except grpc.RpcError:
            found = None
        if found is not None and found.id:
            if not name and found.repo_tags:
                name = str(found.repo_tags[0])
            if found.repo_digests:
                digest = str(found.repo_digests[0]).rpartition("@")[2]
        info.image = name or None
        if name:
            repo, tag, name_digest = split_image(name)
            info.image_repository, info.image_tag = repo, tag
            digest = digest or name_digest
        info.image_id = image_ref.removeprefix("sha256:") or None
        info.image_digest = digest

    def _runtime_type(self) -> str:
        return "cri-o" if "crio" in self.socket else "containerd"

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise CriError(f"CRI {type(request).__name__}: {exc.details()}") from None


def _fill_from_sandbox(info: ContainerInfo, sandbox: Any) -> None:
    """Pod-level facts: the pod IP and the pod's own labels (kubelet's keys left out)."""
    info.ip = sandbox.network.ip or None
    info.pod_labels = {
        k: v for k, v in sandbox.labels.items() if not k.startswith("io.kubernetes.")
    }
    for key in ("io.kubernetes.pod.name", "io.kubernetes.pod.namespace", "io.kubernetes.pod.uid"):
        if key in sandbox.labels:
            info.labels.setdefault(key, sandbox.labels[key])
    if info.host_network is None or info.is_pod_sandbox:
        info.host_network = int(sandbox.linux.namespaces.options.network) == _NODE


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class RuntimeClient(Protocol):
    """What a metadata source asks of a runtime (CriClient, docker.DockerClient)."""

    def describe(self, container_id: str) -> ContainerInfo | None: ...

    def list_container_ids(self) -> list[str]: ...

    def close(self) -> None: ...


Publish = Callable[[ContainerInfo], None]
_PREFETCH = "<prefetch>"
# A container is often seen (its runc init process, in its new cgroup) a moment before the
# runtime has it on record: a miss is asked again after these delays before it counts as one.
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


class CriMetadataSource:
    """Background runtime lookups (a CriClient, or a DockerClient: anything with `describe`,
    `list_container_ids` and `close`). `request` never blocks; results go to `publish` (normally
    ContainerEnricher.publish), called from the worker thread.

    A lookup the runtime cannot answer yet is retried after RETRY_DELAYS, then given up (a
    podman or Docker container, or one already gone); such a container is asked for again at
    most every `retry_s` seconds, when it is seen again. `wait_for(id)` lets the alert path
    wait, bounded, for a lookup still open.
    """

    def __init__(
        self,
        client: RuntimeClient,
        publish: Publish,
        *,
        retry_s: float = 5.0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        decorate: Callable[[ContainerInfo], None] | None = None,
    ) -> None:
        self.client = client
        self.publish = publish
        self.retry_s = retry_s
        self.retry_delays = retry_delays
        self.decorate = decorate
        self._queue: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._asked: dict[str, float] = {}
        # Lookups queued, running or waiting for a retry: id -> attempts made so far.
        self._open: dict[str, int] = {}
        self._retries: list[tuple[float, str, int]] = []  # heap of (due, id, attempt)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.described = 0
        self.misses = 0
        self.retried = 0
        self.errors = 0

    def start(self, *, prefetch: bool = True) -> CriMetadataSource:
        """Start the worker; with prefetch, first describe every running container."""
        if prefetch:
            self._queue.put((_PREFETCH, 0))
        self._thread = threading.Thread(target=self._run, name="lanner-cri", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()

    def request(self, container_id: str) -> None:
        now = time.monotonic()
        with self._changed:
            if container_id in self._open:
                return
            last = self._asked.get(container_id)
            if last is not None and now - last < self.retry_s:
                return
            self._asked[container_id] = now
            self._open[container_id] = 0
        self._queue.put((container_id, 0))

    def forget(self, container_id: str) -> None:
        """The container is gone from the table: if it is seen again, ask again at once."""
        with self._changed:
            self._asked.pop(container_id, None)

    def pending(self, container_id: str) -> bool:
        """Whether a lookup of this container is still open (queued, running or to retry)."""
        return container_id in self._open

    def wait_for(self, container_id: str, timeout: float) -> bool:
        """Wait until the lookup of `container_id` has ended (described or given up), at most
        `timeout` seconds; True when it ended."""
        with self._changed:
            return self._changed.wait_for(lambda: container_id not in self._open, timeout)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """For tests and start-up: wait until every request so far has been answered (retries
        included)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0 and not self._open:
                return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while True:
            wait = None
            if self._retries:
                wait = max(0.0, self._retries[0][0] - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                _due, cid, attempt = heapq.heappop(self._retries)
                self._describe(cid, attempt)
                continue
            try:
                if item is None:
                    return
                cid, attempt = item
                if cid == _PREFETCH:
                    self._prefetch()
                else:
                    self._describe(cid, attempt)
            finally:
                self._queue.task_done()

    def _finish(self, container_id: str) -> None:
        with self._changed:
            self._open.pop(container_id, None)
            self._changed.notify_all()

    def _retry_or_give_up(self, container_id: str, attempt: int) -> bool:
        """Schedule the next attempt if there is one; True when the lookup goes on."""
        if container_id not in self._open or attempt >= len(self.retry_delays):
            return False
        self.retried += 1
        due = time.monotonic() + self.retry_delays[attempt]
        heapq.heappush(self._retries, (due, container_id, attempt + 1))
        return True

    def _prefetch(self) -> None:
        try:
            ids = self.client.list_container_ids()
        except MetadataError as exc:
            self.errors += 1
            log.warning("lanner: container listing failed: %s", exc)
            return
        for cid in ids:
            with self._changed:
                self._asked.setdefault(cid, time.monotonic())
            self._describe(cid, 0)

    def _describe(self, container_id: str, attempt: int) -> None:
        try:
            info = self.client.describe(container_id)
        except MetadataError as exc:
            self.errors += 1
            log.debug("lanner: %s", exc)
            info = None
        except Exception as exc:  # a worker must outlive any surprise from the runtime
            self.errors += 1
            log.warning("lanner: runtime lookup of %s failed: %r", container_id[:12], exc)
            info = None
        if info is None:
            if not self._retry_or_give_up(container_id, attempt):
                self.misses += 1
                self._finish(container_id)
            return
        if self.decorate is not None:
            self.decorate(info)
        self.described += 1
        self.publish(info)
        self._finish(container_id)
