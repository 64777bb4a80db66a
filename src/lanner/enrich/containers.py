"""Containers: the id a thread's cgroup path gives away, and what is known about each container.

A container runtime names the cgroup of each container after the container's id, in a shape of
its own: ``/docker/<id>`` and ``docker-<id>.scope`` (Docker), ``/kubepods/<qos>/pod<uid>/<id>``
and ``cri-containerd-<id>.scope`` (containerd's CRI, kubelet cgroupfs and systemd drivers),
``crio-<id>.scope`` (CRI-O), ``libpod-<id>`` (podman), ``/lxc/<name>`` (LXC). The same path
shows on every cgroup v1 hierarchy and on the v2 ``0::`` line, so any of them will do.

The metadata of a container (``ContainerInfo``) comes from a runtime (CRI, see cri.py) or from
the container events of old captures (Falco's CONTAINER_JSON): `container_from_json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

SHORT_ID_LEN = 12

# The runtime prefix of a "<runtime>-<64 hex>[.scope]" cgroup component -> container.type.
_PREFIXED = re.compile(r"^(docker|cri-containerd|crio|libpod)-([0-9a-f]{64})(?:\.scope)?$")
_PREFIX_TYPES = {
    "docker": "docker",
    "cri-containerd": "containerd",
    "crio": "cri-o",
    "libpod": "podman",
}
_BARE = re.compile(r"^[0-9a-f]{64}$")
# lxc names its cgroups after the container name ("/lxc/web", lxc 4: "/lxc.payload.web").
_LXC_PAYLOAD = re.compile(r"^lxc\.payload\.(.+)$")

# Falco's container type numbers, as old captures' container JSON carries them.
CONTAINER_TYPES = {
    0: "docker",
    1: "lxc",
    2: "libvirt-lxc",
    3: "mesos",
    4: "rkt",
    5: "custom",
    6: "cri",
    7: "containerd",
    8: "cri-o",
    9: "bpm",
    10: "static",
    11: "podman",
}

_PATH_CACHE_MAX = 16384


class MetadataError(Exception):
    """A container runtime (CRI, Docker API) could not be reached or answered with an error."""


@dataclass(frozen=True, slots=True)
class CgroupMatch:
    """A container found in a cgroup path: its full id and the runtime that named it."""

    id: str
    type: str


def container_from_cgroup_path(path: str) -> CgroupMatch | None:
    """The container a cgroup path belongs to, or None for a host cgroup.

    The deepest matching component wins: podman with cgroup v2 nests the payload in
    ``libpod-<id>.scope/container``, and conmon scopes (``crio-conmon-<id>.scope``) are
    host processes, matched by nothing here.
    """
    if len(path) < 3:
        return None
    parts = path.split("/")
    for index in range(len(parts) - 1, 0, -1):
        part = parts[index]
        if len(part) >= 64:
            found = _PREFIXED.match(part)
            if found is not None:
                return CgroupMatch(found.group(2), _PREFIX_TYPES[found.group(1)])
            if _BARE.match(part):
                return CgroupMatch(part, _bare_id_type(parts[:index]))
        if part.startswith("lxc"):
            payload = _LXC_PAYLOAD.match(part)
            if payload is not None:
                return CgroupMatch(payload.group(1), "lxc")
            if part == "lxc" and index + 1 < len(parts) and parts[index + 1]:
                return CgroupMatch(parts[index + 1], "lxc")
    return None


def _bare_id_type(parents: list[str]) -> str:
    """Who made a cgroup named by a bare id: Docker's cgroupfs driver uses /docker/,
    podman's /libpod_parent/, a kubelet /kubepods/ (its runtime is not in the path)."""
    for part in parents:
        if part == "docker":
            return "docker"
        if part == "libpod_parent":
            return "podman"
        if part.startswith("kubepods"):
            return "cri"
    return "containerd"


class CgroupResolver:
    """Container of a thread from its (subsystem, path) cgroup pairs, memoised per path:
    a node has few distinct cgroup paths, and each is parsed once."""

    def __init__(self) -> None:
        self._by_path: dict[str, CgroupMatch | None] = {}

    def resolve(self, cgroups: list[tuple[str, str]]) -> CgroupMatch | None:
        cache = self._by_path
        for _subsys, path in cgroups:
            if path == "/":
                continue
            if path in cache:
                found = cache[path]
            else:
                if len(cache) >= _PATH_CACHE_MAX:
                    cache.clear()
                found = cache[path] = container_from_cgroup_path(path)
            if found is not None:
                return found
        return None


def parse_proc_cgroup(text: str) -> list[tuple[str, str]]:
    """/proc/<pid>/cgroup lines ("hierarchy:controllers:path") as (controllers, path) pairs;
    the cgroup v2 line has no controllers."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        _hier, sep, rest = line.partition(":")
        controllers, sep2, path = rest.partition(":")
        if sep and sep2:
            pairs.append((controllers, path))
    return pairs


def read_proc_cgroups(pid: int, proc: str = "/proc") -> list[tuple[str, str]]:
    """The cgroups of a live process ([] when it is gone)."""
    try:
        with open(f"{proc}/{pid}/cgroup", encoding="utf-8", errors="replace") as handle:
            return parse_proc_cgroup(handle.read())
    except OSError:
        return []


def container_id_of_pid(pid: int, proc: str = "/proc") -> str:
    """Full container id of a live process, "" for a host process."""
    found = CgroupResolver().resolve(read_proc_cgroups(pid, proc))
    return "" if found is None else found.id


# ---- metadata -------------------------------------------------------------------------------


@dataclass(slots=True)
class Mount:
    """One mount of a container, as Falco shows it in container.mount*."""

    source: str
    dest: str
    mode: str = ""
    rdwr: bool = True
    propagation: str = ""


@dataclass(slots=True)
class ContainerInfo:
    """What is known of one container; None means not (yet) known, shown as <NA>.

    `labels` are the container's own labels (kubelet puts io.kubernetes.pod.* there);
    `pod_labels` the pod's user labels, from the CRI pod sandbox. The last group comes from
    the optional Kubernetes API enrichment (k8s.py).
    """

    id: str
    type: str | None = None
    name: str | None = None
    image: str | None = None
    image_repository: str | None = None
    image_tag: str | None = None
    image_id: str | None = None
    image_digest: str | None = None
    privileged: bool | None = None
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    pod_labels: dict[str, str] | None = None
    start_ts: int | None = None
    ip: str | None = None
    cni_json: str | None = None
    host_pid: bool | None = None
    host_network: bool | None = None
    host_ipc: bool | None = None
    is_pod_sandbox: bool = False
    healthcheck: str | None = None
    liveness_probe: str | None = None
    readiness_probe: str | None = None
    # False while only the cgroup is known; True once a runtime or a capture described it.
    complete: bool = False
    namespace_uid: str | None = None
    namespace_labels: dict[str, str] | None = None
    workload_kind: str | None = None
    workload_name: str | None = None

    @property
    def short_id(self) -> str:
        return self.id[:SHORT_ID_LEN]


class ContainerTable(dict[str, ContainerInfo]):
    """``State.containers``: container id -> ContainerInfo.

    Keyed by the 12-character short id, the one captures and Falco show; `get` accepts a full
    id too. Written by one enrichment thread at a time, read by the event path without locks
    (a dict store is atomic).
    """

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key[:SHORT_ID_LEN], default)

    def add(self, info: ContainerInfo) -> ContainerInfo:
        self[info.short_id] = info
        return info


def docker_mounts(items: Any) -> list[Mount]:
    """Mounts in Docker's JSON shape (Source, Destination, Mode, RW, Propagation): the Docker
    Engine API's, and the container JSON of captures, which copies it."""
    return [
        Mount(
            source=str(m.get("Source", "")),
            dest=str(m.get("Destination", "")),
            mode=str(m.get("Mode", "")),
            rdwr=bool(m.get("RW", True)),
            propagation=str(m.get("Propagation", "")),
        )
        for m in items or []
        if isinstance(m, dict)
    ]


# ---- container JSON of old captures ---------------------------------------------------------


class ContainerJsonError(ValueError):
    """A container event whose JSON cannot be understood."""


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """ "repo[:tag][@digest]" -> (repository, tag, digest); a ":" inside the registry host
    (``host:5000/app``) is a port, not a tag."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    repo, tag = image, None
    colon = image.rfind(":")
    if colon > image.rfind("/"):
        repo, tag = image[:colon], image[colon + 1 :]
    return repo, tag, digest


def container_from_json(text: str) -> ContainerInfo:
    """Parse a CONTAINER_JSON event's payload: ``{"container": {"id": ..., ...}}``."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ContainerJsonError(f"container event: invalid JSON ({exc})") from None
    body = doc.get("container") if isinstance(doc, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise ContainerJsonError("container event: no container.id in its JSON")
    kind = body.get("type")
    info = ContainerInfo(
        id=body["id"],
        type=CONTAINER_TYPES.get(kind, str(kind)) if isinstance(kind, int) else _text(kind),
        name=_text(body.get("name")),
        image=_text(body.get("image")),
        image_repository=_text(body.get("imagerepo")),
        image_tag=_text(body.get("imagetag")),
        image_id=_text(body.get("imageid")),
        image_digest=_text(body.get("imagedigest")),
        # libsinsp's container record defaults to unprivileged when the JSON omits it.
        privileged=_flag(body.get("privileged", False)),
        ip=_ip(body.get("ip")),
        cni_json=_text(body.get("cni_json")),
        is_pod_sandbox=bool(body.get("is_pod_sandbox", False)),
        complete=True,
    )
    labels = body.get("labels")
    if isinstance(labels, dict):
        info.labels = {str(k): str(v) for k, v in labels.items()}
    pod_labels = body.get("pod_sandbox_labels")
    if isinstance(pod_labels, dict):
        info.pod_labels = {str(k): str(v) for k, v in pod_labels.items()}
    sandbox = body.get("pod_sandbox_id")
    if isinstance(sandbox, str) and sandbox:
        info.labels.setdefault("io.kubernetes.sandbox.id", sandbox)
    info.mounts = docker_mounts(body.get("Mounts"))
    for attr, key in (("host_pid", "host_pid"), ("host_network", "host_network")):
        setattr(info, attr, _flag(body.get(key)))
    info.host_ipc = _flag(body.get("host_ipc"))
    created = body.get("created_time")
    if isinstance(created, int) and created > 0:
        # The JSON carries seconds; the field is nanoseconds since the epoch.
        info.start_ts = created * 1_000_000_000
    return info


def container_to_json(info: ContainerInfo) -> str:
    """The CONTAINER_JSON payload for a container (what a synthetic container event carries);
    `container_from_json` reads it back."""
    kinds = {name: code for code, name in CONTAINER_TYPES.items()}
    body: dict[str, Any] = {
        "id": info.short_id,
        "type": kinds.get(info.type or "", 5),
        "name": info.name,
        "image": info.image,
        "imagerepo": info.image_repository,
        "imagetag": info.image_tag,
        "imageid": info.image_id,
        "imagedigest": info.image_digest,
        "privileged": info.privileged,
        "ip": info.ip,
        "is_pod_sandbox": info.is_pod_sandbox,
        "labels": info.labels,
        "Mounts": [
            {
                "Source": m.source,
                "Destination": m.dest,
                "Mode": m.mode,
                "RW": m.rdwr,
                "Propagation": m.propagation,
            }
            for m in info.mounts
        ],
        "host_pid": info.host_pid,
        "host_network": info.host_network,
        "host_ipc": info.host_ipc,
    }
    if info.pod_labels is not None:
        body["pod_sandbox_labels"] = info.pod_labels
    if info.start_ts:
        body["created_time"] = info.start_ts // 1_000_000_000
    return json.dumps({"container": body}, separators=(",", ":"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _ip(value: Any) -> str | None:
    # Older captures store the address as a host-order integer.
    if isinstance(value, int) and value:
        return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))
    return value if isinstance(value, str) and value else None
