"""Extractors of the ``user``/``group`` names and the ``container`` and ``k8s`` classes.

Names come from the state's user and group tables (``event.state.users`` / ``.groups``, each
with ``get(id)``); container metadata from ``event.state.containers.get(container_id)``, an
object whose attributes the enrich layer fills. Pod fields derive from the container's
Kubernetes labels (``io.kubernetes.pod.name``...), as the container plugin does.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from lanner.fields._spec import fixed, none_extractor
from lanner.fields.registry import Extractor, ExtractorFactory

HOST = "host"
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_UID_LABEL = "io.kubernetes.pod.uid"
SANDBOX_LABEL = "io.kubernetes.sandbox.id"


def _lookup(e: Any, table_name: str, key: int) -> Any:
    table = getattr(e.state, table_name, None)
    return None if table is None else table.get(key)


def _user_attr(id_attr: str, attr: str) -> Extractor:
    def extract(e: Any) -> Any:
        t = e.thread
        if t is None:
            return None
        entry = _lookup(e, "users", getattr(t, id_attr))
        return None if entry is None else getattr(entry, attr, None)

    return extract


def _group_name(e: Any) -> Any:
    t = e.thread
    if t is None:
        return None
    entry = _lookup(e, "groups", t.gid)
    return None if entry is None else getattr(entry, "name", None)


# ---- containers ---------------------------------------------------------------------------


def container_id(e: Any) -> str | None:
    """12-character container id of the event's thread, ``host`` outside containers."""
    t = e.thread
    if t is None:
        return None
    cid = t.container_id
    return cid[:12] if cid else HOST


def _container(e: Any) -> Any:
    t = e.thread
    if t is None or not t.container_id:
        return None
    table = getattr(e.state, "containers", None)
    return None if table is None else table.get(t.container_id)


ContainerReader = Callable[[Any], Any]


def _of_container(read: ContainerReader, host_value: Any = None) -> Extractor:
    def extract(e: Any) -> Any:
        t = e.thread
        if t is None:
            return None
        if not t.container_id:
            return host_value
        info = _container(e)
        return None if info is None else read(info)

    return extract


def _attr(name: str) -> ContainerReader:
    return lambda info: getattr(info, name, None)


def _full_id(e: Any) -> str | None:
    t = e.thread
    if t is None:
        return None
    return str(t.container_id) if t.container_id else HOST


def _labels(info: Any) -> dict[str, str]:
    labels = getattr(info, "labels", None)
    return labels if isinstance(labels, dict) else {}


def _labels_text(labels: dict[str, str]) -> str | None:
    return ", ".join(f"{k}:{v}" for k, v in labels.items()) if labels else None


def _mount_text(mount: Any) -> str:
    return ":".join(
        str(getattr(mount, part, "")) for part in ("source", "dest", "mode", "rdwr", "propagation")
    )


def _mount_factory(part: str | None) -> ExtractorFactory:
    """container.mount[.part][index or glob]: by index, else by glob on the other end's path.

    A glob selects on the source for every part except ``source``, which selects on dest.
    """

    def factory(arg: str | None) -> Extractor:
        if arg is None:
            return none_extractor
        key = arg
        match_on = "dest" if part == "source" else "source"

        def find(info: Any) -> Any:
            mounts = list(getattr(info, "mounts", None) or [])
            if key.isdigit():
                index = int(key)
                return mounts[index] if index < len(mounts) else None
            for mount in mounts:
                if fnmatch.fnmatchcase(str(getattr(mount, match_on, "")), key):
                    return mount
            return None

        def read(info: Any) -> Any:
            mount = find(info)
            if part is None:
                return "none" if mount is None else _mount_text(mount)
            return None if mount is None else getattr(mount, part, None)

        return _of_container(read)

    return factory


def _label_factory(arg: str | None) -> Extractor:
    if arg is None:
        return none_extractor
    key = arg
    return _of_container(lambda info: _labels(info).get(key))


def _duration(e: Any) -> int | None:
    start = _of_container(_attr("start_ts"))(e)
    return int(e.ts - start) if isinstance(start, int) and start > 0 else None


# ---- k8s ----------------------------------------------------------------------------------


def _pod_label(key: str) -> Extractor:
    return _of_container(lambda info: _labels(info).get(key))


def _pod_labels(info: Any) -> dict[str, str]:
    pod = getattr(info, "pod_labels", None)
    if isinstance(pod, dict):
        return pod
    return {k: v for k, v in _labels(info).items() if not k.startswith("io.kubernetes.")}


def _k8s_label_factory(arg: str | None) -> Extractor:
    if arg is None:
        return none_extractor
    key = arg

    def read(info: Any) -> str | None:
        if _labels(info).get(POD_NAME_LABEL) is None:
            return None
        return _pod_labels(info).get(key)

    return _of_container(read)


def _in_pod(read: ContainerReader) -> Extractor:
    def guarded(info: Any) -> Any:
        return read(info) if _labels(info).get(POD_NAME_LABEL) is not None else None

    return _of_container(guarded)


def _ns_attr(attr: str) -> ContainerReader:
    return lambda info: getattr(info, attr, None)


FACTORIES: dict[str, ExtractorFactory] = {
    "user.name": fixed(_user_attr("uid", "name")),
    "user.homedir": fixed(_user_attr("uid", "homedir")),
    "user.shell": fixed(_user_attr("uid", "shell")),
    "user.loginname": fixed(_user_attr("loginuid", "name")),
    "group.name": fixed(_group_name),
    "container.id": fixed(container_id),
    "container.full_id": fixed(_full_id),
    "container.name": fixed(_of_container(_attr("name"), HOST)),
    "container.type": fixed(_of_container(_attr("type"))),
    "container.image": fixed(_of_container(_attr("image"))),
    "container.image.id": fixed(_of_container(_attr("image_id"))),
    "container.image.repository": fixed(_of_container(_attr("image_repository"))),
    "container.image.tag": fixed(_of_container(_attr("image_tag"))),
    "container.image.digest": fixed(_of_container(_attr("image_digest"))),
    "container.privileged": fixed(_of_container(_attr("privileged"))),
    "container.host_pid": fixed(_of_container(_attr("host_pid"))),
    "container.host_network": fixed(_of_container(_attr("host_network"))),
    "container.host_ipc": fixed(_of_container(_attr("host_ipc"))),
    "container.ip": fixed(_of_container(_attr("ip"))),
    "container.cni.json": fixed(_of_container(_attr("cni_json"))),
    "container.start_ts": fixed(_of_container(_attr("start_ts"))),
    "container.duration": fixed(_duration),
    # A container without mounts has the empty list (it exists), as in libsinsp.
    "container.mounts": fixed(
        _of_container(lambda info: " ".join(_mount_text(m) for m in info.mounts or []))
    ),
    "container.mount": _mount_factory(None),
    "container.mount.source": _mount_factory("source"),
    "container.mount.dest": _mount_factory("dest"),
    "container.mount.mode": _mount_factory("mode"),
    "container.mount.rdwr": _mount_factory("rdwr"),
    "container.mount.propagation": _mount_factory("propagation"),
    "container.label": _label_factory,
    "container.labels": fixed(_of_container(lambda info: _labels_text(_labels(info)))),
    "container.healthcheck": fixed(_of_container(_attr("healthcheck"))),
    "container.liveness_probe": fixed(_of_container(_attr("liveness_probe"))),
    "container.readiness_probe": fixed(_of_container(_attr("readiness_probe"))),
    "container.info": fixed(none_extractor),
    "k8s.pod.name": fixed(_pod_label(POD_NAME_LABEL)),
    "k8s.ns.name": fixed(_pod_label(POD_NAMESPACE_LABEL)),
    "k8s.pod.uid": fixed(_pod_label(POD_UID_LABEL)),
    "k8s.pod.id": fixed(_pod_label(POD_UID_LABEL)),
    "k8s.pod.full_sandbox_id": fixed(_pod_label(SANDBOX_LABEL)),
    "k8s.pod.sandbox_id": fixed(
        _of_container(lambda info: (_labels(info).get(SANDBOX_LABEL) or "")[:12] or None)
    ),
    "k8s.pod.ip": fixed(_in_pod(_attr("ip"))),
    "k8s.pod.cni.json": fixed(_in_pod(_attr("cni_json"))),
    "k8s.pod.label": _k8s_label_factory,
    "k8s.pod.labels": fixed(_in_pod(lambda info: _labels_text(_pod_labels(info)))),
    "k8s.ns.id": fixed(_in_pod(_ns_attr("namespace_uid"))),
    # Namespace labels come from the Kubernetes API (enrich/k8s.py), when it is enabled.
    "k8s.ns.label": lambda arg: (
        none_extractor
        if arg is None
        else _in_pod(lambda info: (getattr(info, "namespace_labels", None) or {}).get(arg))
    ),
    "k8s.ns.labels": fixed(
        _in_pod(
            lambda info: (
                _labels_text(info.namespace_labels)
                if getattr(info, "namespace_labels", None)
                else None
            )
        )
    ),
}
