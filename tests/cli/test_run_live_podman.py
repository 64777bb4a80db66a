"""`lanner run` on a Docker-API engine (Podman here): a container that acts at once, before
anyone could have described it, still gets alerts naming it (the lookup over the Docker API,
and the alert's wait for it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.capture.bpf_support import require_bpf
from tests.cli.test_run_live import LiveRun
from tests.enrich.fixtures import containerd_cri
from tests.enrich.podman import PodmanFactory, podman_api, podman_containers

__all__ = ["containerd_cri", "podman_api", "podman_containers"]
pytestmark = pytest.mark.bpf


def test_an_immediate_sensitive_read_in_a_podman_container_names_it(
    tmp_path: Path, podman_containers: PodmanFactory
) -> None:
    require_bpf()
    # A generous wait: the test is about the wait working, not about its default length.
    run = LiveRun(tmp_path, "-o", "containers.alert_wait_ms=5000")
    try:
        box = podman_containers.start(
            "lanner-live-db",
            [
                "sh",
                "-c",
                "mkdir -p /root/.ssh; echo k > /root/.ssh/id_rsa; cat /root/.ssh/id_rsa; sleep 30",
            ],
            labels={"app": "db"},
        )
        deadline = time.monotonic() + 20
        while box.id[:12] not in run.out.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        alerts = run.stop()
    mine = [a for a in alerts if a["output_fields"].get("container.id") == box.id[:12]]
    reads = [a for a in mine if a["rule"] == "Sensitive file read by an unexpected program"]
    assert reads, [(a["rule"], a["output_fields"].get("container.id")) for a in alerts]
    fields = reads[0]["output_fields"]
    assert fields["fd.name"] == "/root/.ssh/id_rsa"
    assert fields["container.name"] == "lanner-live-db"
    assert "container=lanner-live-db" in reads[0]["output"]
    assert fields["k8s.pod.name"] is None  # not a pod: no kubelet labels
