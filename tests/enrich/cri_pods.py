"""Kubelet-style pods on a real containerd, created through CRI, for tests.

`PodFactory.start(...)` runs a pod sandbox and one container in it with the labels a kubelet
sets (io.kubernetes.pod.name/namespace/uid, io.kubernetes.container.name) and returns a
`RunningPod` with the container's id and main pid; `PodFactory.remove_all()` stops and removes
every pod it made. The `cri_pods` fixture (tests/enrich/conftest.py) hands one out.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import grpc  # type: ignore[import-untyped]
from cri_api.v1 import api_pb2 as cri
from cri_api.v1.api_pb2_grpc import RuntimeServiceStub

BUSYBOX = "docker.io/library/busybox:lanner"
SOCKET = "/run/containerd/containerd.sock"


@dataclass
class RunningPod:
    pod_name: str
    namespace: str
    pod_uid: str
    container_name: str
    sandbox_id: str
    container_id: str
    pid: int
    pod_labels: dict[str, str] = field(default_factory=dict)


class PodFactory:
    def __init__(self, socket: str = SOCKET) -> None:
        self.channel = grpc.insecure_channel(f"unix://{socket}")
        self.runtime = RuntimeServiceStub(self.channel)
        self.sandboxes: list[str] = []

    def start(
        self,
        pod_name: str,
        namespace: str = "default",
        *,
        command: list[str] | None = None,
        container_name: str = "app",
        pod_labels: dict[str, str] | None = None,
        host_network: bool = True,
        privileged: bool = False,
        mounts: list[tuple[str, str, bool]] | None = None,
        add_capabilities: list[str] | None = None,
    ) -> RunningPod:
        """A pod with one busybox container running `command` (a sleep loop by default).
        mounts: (host path, container path, read-only); add_capabilities: names as a kubelet
        sends them ("SYS_ADMIN", no CAP_ prefix) added to the runtime's default set."""
        uid = str(uuid.uuid4())
        labels = {
            "io.kubernetes.pod.name": pod_name,
            "io.kubernetes.pod.namespace": namespace,
            "io.kubernetes.pod.uid": uid,
            **(pod_labels or {}),
        }
        mode = cri.NODE if host_network else cri.POD
        sandbox_config = cri.PodSandboxConfig(
            metadata=cri.PodSandboxMetadata(name=pod_name, uid=uid, namespace=namespace),
            # A kubelet sends no hostname for host-network pods (runc refuses one without UTS ns).
            hostname="" if host_network else pod_name,
            log_directory=f"/var/log/pods/{namespace}_{pod_name}_{uid}",
            labels=labels,
            linux=cri.LinuxPodSandboxConfig(
                cgroup_parent=f"/kubepods/besteffort/pod{uid}",
                security_context=cri.LinuxSandboxSecurityContext(
                    namespace_options=cri.NamespaceOption(
                        network=mode, pid=cri.CONTAINER, ipc=cri.POD
                    ),
                    privileged=privileged,
                ),
            ),
        )
        sandbox_id = self.runtime.RunPodSandbox(
            cri.RunPodSandboxRequest(config=sandbox_config), timeout=60
        ).pod_sandbox_id
        self.sandboxes.append(sandbox_id)
        container_config = cri.ContainerConfig(
            metadata=cri.ContainerMetadata(name=container_name),
            image=cri.ImageSpec(image=BUSYBOX),
            command=command or ["/bin/sh", "-c", "while true; do sleep 1; done"],
            log_path=f"{container_name}/0.log",
            labels={
                "io.kubernetes.container.name": container_name,
                "io.kubernetes.pod.name": pod_name,
                "io.kubernetes.pod.namespace": namespace,
                "io.kubernetes.pod.uid": uid,
            },
            annotations={"io.kubernetes.container.restartCount": "0"},
            mounts=[
                cri.Mount(host_path=src, container_path=dst, readonly=ro)
                for src, dst, ro in (mounts or [])
            ],
            linux=cri.LinuxContainerConfig(
                security_context=cri.LinuxContainerSecurityContext(
                    privileged=privileged,
                    capabilities=cri.Capability(add_capabilities=add_capabilities or []),
                    namespace_options=cri.NamespaceOption(
                        network=mode, pid=cri.CONTAINER, ipc=cri.POD
                    ),
                )
            ),
        )
        container_id = self.runtime.CreateContainer(
            cri.CreateContainerRequest(
                pod_sandbox_id=sandbox_id, config=container_config, sandbox_config=sandbox_config
            ),
            timeout=60,
        ).container_id
        self.runtime.StartContainer(cri.StartContainerRequest(container_id=container_id))
        status = self.runtime.ContainerStatus(
            cri.ContainerStatusRequest(container_id=container_id, verbose=True), timeout=10
        )
        pid = int(json.loads(status.info["info"])["pid"])
        return RunningPod(
            pod_name,
            namespace,
            uid,
            container_name,
            sandbox_id,
            container_id,
            pid,
            dict(pod_labels or {}),
        )

    def exec_sync(self, container_id: str, command: list[str], timeout: int = 10) -> bytes:
        """Run a command in a container and wait for it (CRI ExecSync); its stdout."""
        response = self.runtime.ExecSync(
            cri.ExecSyncRequest(container_id=container_id, cmd=command, timeout=timeout),
            timeout=timeout + 5,
        )
        return bytes(response.stdout)

    def remove(self, sandbox_id: str) -> None:
        for attempt in range(3):
            try:
                self.runtime.StopPodSandbox(
                    cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30
                )
                self.runtime.RemovePodSandbox(
                    cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30
                )
                return
            except grpc.RpcError:
                if attempt == 2:
                    raise
                time.sleep(0.5)

    def remove_all(self) -> None:
        while self.sandboxes:
            self.remove(self.sandboxes.pop())
        self.channel.close()
