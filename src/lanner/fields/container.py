"""``container.*``: the container the event's process runs in ("host" outside containers)."""

from __future__ import annotations

from lanner.fields._spec import ABS, REL, B, S, spec
from lanner.fields.registry import ArgKind, ArgMode, FieldInfo

REQ = ArgMode.REQUIRED
IOK = ArgKind.INDEX_OR_KEY


def _mount(name: str, what: str) -> FieldInfo:
    return spec(
        name,
        S,
        f"{what} of one mount, chosen by index ([0]) or by path or glob ([/var/run/*]).",
        arg=REQ,
        kind=IOK,
    )


def fields() -> list[FieldInfo]:
    """The catalog of the ``container`` class."""
    return [
        spec("container.id", S, "Short (12 characters) container id; 'host' outside containers."),
        spec("container.full_id", S, "Complete container id; 'host' outside containers."),
        spec(
            "container.name", S, "Container name given by the runtime; 'host' outside containers."
        ),
        spec("container.type", S, "Container runtime: docker, containerd, cri-o, podman..."),
        spec("container.image", S, "Image reference the container runs (repository:tag)."),
        spec("container.image.id", S, "Image id the container runs."),
        spec("container.image.repository", S, "Repository part of the image reference."),
        spec("container.image.tag", S, "Tag part of the image reference."),
        spec("container.image.digest", S, "Registry digest of the image (sha256:...)."),
        spec("container.privileged", B, "True for a container running privileged."),
        spec("container.host_pid", B, "True when the container shares the host pid namespace."),
        spec("container.host_network", B, "True when the container uses the host network."),
        spec("container.host_ipc", B, "True when the container shares the host IPC namespace."),
        spec("container.ip", S, "IP address of the container."),
        spec("container.cni.json", S, "CNI result of the container, as JSON."),
        spec("container.start_ts", ABS, "Time the container started, ns since the epoch."),
        spec("container.duration", REL, "Nanoseconds since the container started."),
        spec("container.mounts", S, "Every mount as source:dest:mode:rdwr:propagation, spaced."),
        _mount("container.mount", "source:dest:mode:rdwr:propagation"),
        _mount("container.mount.source", "Source path"),
        _mount("container.mount.dest", "Destination path"),
        _mount("container.mount.mode", "Mode"),
        _mount("container.mount.rdwr", "Read-write flag"),
        _mount("container.mount.propagation", "Propagation"),
        spec("container.label", S, "Value of one container label (container.label[app]).", arg=REQ),
        spec("container.labels", S, "Every container label as key:value text."),
        spec("container.healthcheck", S, "Health-check command of the container, if configured."),
        spec("container.liveness_probe", S, "Liveness-probe command of the container, if any."),
        spec("container.readiness_probe", S, "Readiness-probe command of the container, if any."),
        spec("container.info", S, "Deprecated summary placeholder; expands to nothing."),
    ]
