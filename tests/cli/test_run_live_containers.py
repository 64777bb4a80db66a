"""`lanner run` on a real containerd pod: the alerts name the container and the pod.

A kubelet-style pod (CRI, io.kubernetes.* labels) runs a shell that reads /etc/shadow inside
the container; the live probe catches it and the alerts carry container.id/name/image and
k8s.pod.name/k8s.ns.name from the CRI metadata.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.capture.bpf_support import require_bpf
from tests.cli.test_run_live import LiveRun
from tests.enrich.fixtures import RunInPod, containerd_cri, cri_pods, run_in_pod
from tests.metrics.servers import free_port

__all__ = ["containerd_cri", "cri_pods", "run_in_pod"]
pytestmark = pytest.mark.bpf


def _scrape(port: int) -> dict[tuple[str, str, str], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {
        (s.name, s.labels.get("source", ""), s.labels.get("result", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _wait_for(run: LiveRun, predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate(run.out.read_text()):
            return
        time.sleep(0.2)


def test_pod_shell_and_sensitive_read_carry_container_and_pod(
    tmp_path: Path, run_in_pod: RunInPod
) -> None:
    require_bpf()
    port = free_port()
    run = LiveRun(tmp_path, "-o", f"webserver.listen_port={port}")
    try:
        # The container's first process may start before CRI has described the container:
        # keep the shell alive a moment, then read the file, as an intruder would.
        _pid, container_id = run_in_pod(
            [
                "sh",
                "-c",
                "sleep 2; mkdir -p /root/.ssh; echo key > /root/.ssh/id_rsa; "
                "sh -c 'cat /root/.ssh/id_rsa'; sleep 30",
            ],
            pod_name="web-7d9f",
            namespace="shop",
        )
        _wait_for(
            run,
            lambda text: any(
                '"fd.name":"/root/.ssh/id_rsa"' in line and container_id[:12] in line
                for line in text.splitlines()
            ),
        )
        scraped = _scrape(port)
    finally:
        alerts = run.stop()
    # /metrics says where container metadata came from: CRI described this one (at least).
    assert scraped[("lanner_container_metadata_lookups_total", "cri", "described")] >= 1
    assert scraped[("lanner_containers", "", "")] >= 1
    short = container_id[:12]
    mine = [a for a in alerts if a["output_fields"].get("container.id") == short]
    assert mine, [(a["rule"], a["output_fields"].get("container.id")) for a in alerts]
    reads = [a for a in mine if a["rule"] == "Sensitive file read by an unexpected program"]
    assert reads, sorted({(a["rule"], a["output_fields"].get("proc.cmdline")) for a in mine})
    fields = reads[0]["output_fields"]
    assert fields["fd.name"] == "/root/.ssh/id_rsa"
    # busybox re-executes itself through /proc/self/exe for its applets: the comm is "exe".
    assert fields["proc.cmdline"].endswith("/root/.ssh/id_rsa")
    assert fields["k8s.pod.name"] == "web-7d9f"
    assert fields["k8s.ns.name"] == "shop"
    assert fields["container.name"] not in (None, "host")
    # The entrypoint shell is the container's own process; the shell it starts is what alerts.
    shells = [a for a in mine if a["rule"] == "Shell started in a container"]
    assert all(a["output_fields"]["proc.pname"] in ("sh", "exe") for a in shells)
    assert shells and shells[0]["output_fields"]["container.image.repository"]
    # The runtime setting the container up (runc init's mounts) is not an escape attempt.
    mounts = [a for a in mine if a["rule"] == "Mount inside a container"]
    assert not mounts, [a["output_fields"]["proc.cmdline"] for a in mounts]
