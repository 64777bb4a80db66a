"""`lanner capture` on a real containerd pod: the file carries the container's description.

The capture describes containers as `lanner run` does (CRI) and writes each description as a
container event, so a later replay -- lanner's or sysdig's -- names the container, its image
and, for lanner, the pod, from the file alone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.capture.bpf_support import require_bpf, start_capture, stop_capture
from tests.enrich.fixtures import RunInPod, containerd_cri, cri_pods, run_in_pod
from tests.sysdig import sysdig_output

__all__ = ["containerd_cri", "cri_pods", "run_in_pod"]
pytestmark = pytest.mark.bpf
SEP = "\x1f"


def test_a_capture_names_the_container_and_pod_for_any_reader(
    tmp_path: Path, run_in_pod: RunInPod
) -> None:
    require_bpf()
    out = tmp_path / "pod.scap"
    capture = start_capture(out, "container.id != host")
    try:
        _pid, container_id = run_in_pod(
            ["sh", "-c", "sleep 2; cat /etc/hostname; sleep 2"],
            pod_name="cap-5c8d",
            namespace="audit",
        )
        time.sleep(5)
    finally:
        stop_capture(capture)
    short = container_id[:12]
    fmt = SEP.join(("%container.id", "%container.name", "%container.image", "%proc.cmdline"))
    ours = subprocess.run(
        [sys.executable, "-m", "lanner", "replay", str(out), "-p",
         fmt + SEP + "%k8s.pod.name" + SEP + "%k8s.ns.name", f"container.id={short}"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    rows = [line.split(SEP) for line in ours]
    # (busybox runs its applets through /proc/self/exe: "exe /etc/hostname")
    cats = [row for row in rows if row[3].endswith("/etc/hostname")]
    assert cats, ours[:5]
    _cid, name, image, _cmd, pod, namespace = cats[0]
    assert name not in ("", "<NA>", "host") and "busybox" in image
    assert (pod, namespace) == ("cap-5c8d", "audit")
    if shutil.which("sysdig") is not None:
        theirs = [
            line.split(SEP)
            for line in sysdig_output(
                "-r", str(out), "-p", fmt, f"container.id={short}"
            ).splitlines()
        ]
        assert any(row[3].endswith("/etc/hostname") and row[1:3] == [name, image] for row in theirs)
