"""Container rules on real kubelet-style pods (containerd CRI, busybox image).

Whatever could harm the node happens inside a test pod: a shell exec'd as `kubectl exec` does,
a package manager run, a powerful capability granted, a filesystem mounted. Each pod's
entrypoint waits two seconds before acting so CRI has described the container by then (the
alerts must name the container and the pod). Twins: the same command on the host, an
entrypoint shell, a pod without added capabilities, a privileged pod, the runtime's own mounts.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.rules_default.conftest import Alert, LiveSession, none_for, only, token

pytestmark = pytest.mark.bpf
SHELL = "Shell started in a container"
SENSITIVE = "Sensitive file read by an unexpected program"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PACKAGE = "Package manager run in a container"
CAPABILITY = "Powerful capability in a container"
MOUNT = "Mount inside a container"
DROPPED = "Dropped binary executed"
NAMESPACE = "rules-test"


class Marks:
    exec_shell = token("execsh")
    child_shell = token("childsh")
    package = token("pkg")
    package_twin = token("pkgtwin")
    caps = token("caps")
    caps_twin = token("capstwin")
    privileged_twin = token("privtwin")
    mount = token("mount")
    mount_twin = token("mounttwin")
    token_read = token("satoken")
    dropped = token("upper")
    dropped_twin = token("lower")


def acting(script: str) -> list[str]:
    """An entrypoint that waits for CRI, acts, then stays up until the pod is removed."""
    return ["sh", "-c", f"sleep 2; {script}; sleep 120"]


@pytest.fixture(scope="module")
def pods(containerd_cri: str) -> Iterator[Any]:
    from tests.enrich.cri_pods import PodFactory

    factory = PodFactory(containerd_cri)
    try:
        yield factory
    finally:
        factory.remove_all()


@pytest.fixture(scope="module")
def alerts(live: LiveSession, pods: Any) -> list[Alert]:
    tools = live.scratch / "tools"
    tools.mkdir()
    apt_get = tools / "apt-get"  # a static busybox under a package manager's name
    shutil.copy("/usr/bin/busybox", apt_get)
    live.scratch.chmod(0o755)
    account = live.scratch / "serviceaccount"  # a stand-in for the kubelet's projected token
    account.mkdir()
    (account / "token").write_text(f"{Marks.token_read}\n")

    shell_pod = pods.start("shell-a1", NAMESPACE, command=acting(f"sh -c ': {Marks.child_shell}'"))
    pods.start(
        "token-g7",
        NAMESPACE,
        command=acting(f"cat {SA_DIR}/token"),
        mounts=[(str(account), SA_DIR, True)],
    )
    pods.start(
        "pkg-b2",
        NAMESPACE,
        command=acting(f"/opt/tools/apt-get {Marks.package}"),
        mounts=[(str(tools), "/opt/tools", True)],
    )
    pods.start(
        "caps-c3", NAMESPACE, command=acting(f": {Marks.caps}"), add_capabilities=["SYS_ADMIN"]
    )
    pods.start("plain-d4", NAMESPACE, command=acting(f": {Marks.caps_twin}"))
    pods.start(
        "mount-e5",
        NAMESPACE,
        command=acting(f"mkdir -p /tmp/m; mount -t tmpfs {Marks.mount} /tmp/m"),
        privileged=True,
    )
    pods.start("priv-f6", NAMESPACE, command=acting(f": {Marks.privileged_twin}"), privileged=True)
    # A tool written into the container after it started (its upper layer), outside the
    # scratch and binary directories other rules watch; the twin: the image's own binary.
    pods.start(
        "drop-h8",
        NAMESPACE,
        command=acting(
            f"mkdir -p /srv; cp /bin/busybox /srv/{Marks.dropped}; /srv/{Marks.dropped}; "
            f"/bin/true {Marks.dropped_twin}"
        ),
    )
    for mark in (Marks.child_shell, Marks.package, Marks.mount, f"{SA_DIR}/token", Marks.dropped):
        live.wait_for(mark)
    pods.exec_sync(shell_pod.container_id, ["sh", "-c", f": {Marks.exec_shell}"])
    # Twins on the host: the same package tool, the same mount.
    subprocess.run([str(apt_get), Marks.package_twin], check=False, capture_output=True)
    target = live.scratch / "mnt"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", Marks.mount_twin, str(target)], check=True)
    subprocess.run(["umount", str(target)], check=True)
    return live.settle()


def _pod_fields(alert: Alert, pod: str) -> dict[str, Any]:
    fields: dict[str, Any] = alert["output_fields"]
    assert fields["k8s.pod.name"] == pod and fields["k8s.ns.name"] == NAMESPACE
    assert fields["container.id"] not in (None, "host") and len(fields["container.id"]) == 12
    assert fields["container.name"] == "app"
    return fields


def test_exec_shell_in_a_pod(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.exec_shell, SHELL)
    fields = _pod_fields(hits[0], "shell-a1")
    assert fields["proc.cmdline"].endswith(f"-c : {Marks.exec_shell}")
    # Started by runc exec, as `kubectl exec` shells are; runc may have exited (the parent is
    # then the host's reaper) by the time the exec is seen: not a child of the entrypoint.
    assert fields["proc.pname"] != "sh"
    assert fields["container.image.repository"] == "docker.io/library/busybox"
    assert hits[0]["priority"] == "Warning" and "T1059.004" in hits[0]["tags"]


def test_shell_started_by_the_entrypoint(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.child_shell, SHELL)
    # Only the child: the entrypoint shell (pid 1 of the container) is not reported.
    assert len(hits) == 1, [a["output"] for a in hits]
    fields = _pod_fields(hits[0], "shell-a1")
    assert fields["proc.cmdline"].endswith(f"-c : {Marks.child_shell}")
    assert fields["proc.pname"] == "sh"


def test_package_manager_in_a_pod(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.package, PACKAGE)
    fields = _pod_fields(hits[0], "pkg-b2")
    assert fields["proc.cmdline"] == f"apt-get {Marks.package}"
    assert hits[0]["priority"] == "Error"


def test_package_manager_on_the_host_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.package_twin)


def test_added_sys_admin_capability(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.caps, CAPABILITY)
    fields = _pod_fields(hits[0], "caps-c3")
    assert "CAP_SYS_ADMIN" in fields["thread.cap_effective"].split()
    assert Marks.caps in fields["proc.cmdline"]
    assert "T1611" in hits[0]["tags"]


@pytest.mark.parametrize(
    "mark", [Marks.caps_twin, Marks.privileged_twin], ids=["caps_twin", "privileged_twin"]
)
def test_default_and_privileged_pods_are_quiet(alerts: list[Alert], mark: str) -> None:
    none_for(alerts, mark)


def test_mount_in_a_privileged_pod(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.mount, MOUNT)
    fields = _pod_fields(hits[0], "mount-e5")
    assert fields["evt.arg.dev"] == Marks.mount
    assert fields["evt.arg.dir"] == "/tmp/m" and fields["evt.arg.type"] == "tmpfs"
    assert hits[0]["priority"] == "Critical"


def test_host_mount_and_runtime_mounts_are_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.mount_twin)
    runtime = [
        a
        for a in alerts
        if a["rule"] == MOUNT and a["output_fields"]["proc.name"].startswith("runc")
    ]
    assert not runtime, [a["output"] for a in runtime]


def test_service_account_token_read_in_a_pod(alerts: list[Alert]) -> None:
    hits = [
        a
        for a in alerts
        if a["rule"] == SENSITIVE
        and a["output_fields"].get("k8s.pod.name") == "token-g7"
        and a["output_fields"]["fd.name"] == f"{SA_DIR}/token"
    ]
    assert hits, sorted({(a["rule"], a["output_fields"].get("k8s.pod.name")) for a in alerts})
    fields = _pod_fields(hits[0], "token-g7")
    assert fields["proc.cmdline"].endswith(f" {SA_DIR}/token")  # busybox: "exe ..."
    assert "T1552.001" in hits[0]["tags"]


def test_binary_written_into_a_running_container(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.dropped, DROPPED)
    fields = _pod_fields(hits[0], "drop-h8")
    assert fields["proc.exepath"] == f"/srv/{Marks.dropped}"
    assert fields["proc.is_exe_upper_layer"] is True


def test_the_images_own_binary_is_quiet(alerts: list[Alert]) -> None:
    # (The dropped tool's alert names the twin too, in its parent's command line.)
    own = [a for a in alerts if Marks.dropped_twin in str(a["output_fields"].get("proc.cmdline"))]
    assert not own, [a["output"] for a in own]
