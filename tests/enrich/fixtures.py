"""Fixtures for tests that need real containers (reusable: import them into a conftest).

`containerd_cri` (session): makes sure containerd with its CRI plugin runs, by running
scripts/containers-setup.sh (idempotent; ~1 s once set up). In CI it must work; elsewhere the
tests skip when not root.
`cri_pods`: a PodFactory whose pods are removed after the test.
`run_in_pod`: start a kubelet-style pod running a command; gives (pid, container id).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import IN_CI, ROOT

SETUP = ROOT / "scripts" / "containers-setup.sh"
SOCKET = "/run/containerd/containerd.sock"

RunInPod = Callable[..., tuple[int, str]]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"containers required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def containerd_cri() -> str:
    """The CRI socket of a running containerd (started here if needed)."""
    if os.geteuid() != 0:
        _unavailable("real containers need root")
    try:
        import cri_api  # noqa: F401
    except ImportError:
        _unavailable("the container-runtime-interface-api package is not installed")
    done = subprocess.run(
        ["bash", str(SETUP)], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        _unavailable(f"containers-setup.sh failed: {done.stderr.strip()[-500:]}")
    return SOCKET


@pytest.fixture
def cri_pods(containerd_cri: str) -> Iterator[object]:
    from tests.enrich.cri_pods import PodFactory

    factory = PodFactory(containerd_cri)
    try:
        yield factory
    finally:
        factory.remove_all()


@pytest.fixture
def run_in_pod(cri_pods: object) -> RunInPod:
    """run_in_pod(command, pod_name="t-0", namespace="default", **PodFactory.start options)
    -> (pid of the container's main process on the host, full container id)."""
    from tests.enrich.cri_pods import PodFactory

    assert isinstance(cri_pods, PodFactory)

    def run(
        command: list[str], pod_name: str = "t-0", namespace: str = "default", **options: object
    ) -> tuple[int, str]:
        pod = cri_pods.start(pod_name, namespace, command=command, **options)  # type: ignore[arg-type]
        return pod.pid, pod.container_id

    return run
