"""``k8s.*``: the Kubernetes pod and namespace of the event's container."""

from __future__ import annotations

from lanner.fields._spec import S, spec
from lanner.fields.registry import ArgMode, FieldInfo

REQ = ArgMode.REQUIRED


def fields() -> list[FieldInfo]:
    """The catalog of the ``k8s`` class."""
    return [
        spec("k8s.pod.name", S, "Name of the pod the container belongs to."),
        spec("k8s.pod.uid", S, "UID of the pod."),
        spec("k8s.pod.id", S, "UID of the pod (older name of k8s.pod.uid)."),
        spec("k8s.pod.sandbox_id", S, "Short id of the pod's sandbox container."),
        spec("k8s.pod.full_sandbox_id", S, "Complete id of the pod's sandbox container."),
        spec("k8s.pod.ip", S, "IP address of the pod."),
        spec("k8s.pod.cni.json", S, "CNI result of the pod, as JSON."),
        spec(
            "k8s.pod.label",
            S,
            "Value of one pod label (k8s.pod.label[app] or k8s.pod.label.app).",
            arg=REQ,
            dotted=True,
        ),
        spec("k8s.pod.labels", S, "Every pod label as key:value text."),
        spec("k8s.ns.name", S, "Namespace of the pod."),
        spec("k8s.ns.id", S, "UID of the pod's namespace."),
        spec(
            "k8s.ns.label",
            S,
            "Value of one label of the pod's namespace (k8s.ns.label[team]).",
            arg=REQ,
            dotted=True,
        ),
        spec("k8s.ns.labels", S, "Every label of the pod's namespace as key:value text."),
    ]
