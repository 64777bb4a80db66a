"""proc.is_exe_upper_layer live: in a real containerd pod (overlayfs root), a binary copied into
the container after it started runs from the container's writable upper layer; the image's own
binary runs from a lower layer."""

from __future__ import annotations

import time

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.enrich.pipeline import ContainerEnricher
from lanner.events.event import Event
from lanner.state.state import State
from tests.capture.bpf_support import drain, state_probe
from tests.enrich.fixtures import RunInPod, containerd_cri, cri_pods, run_in_pod
from tests.enrich.test_pipeline import field

__all__ = ["containerd_cri", "cri_pods", "run_in_pod", "state_probe"]
pytestmark = pytest.mark.bpf


def test_a_binary_written_in_the_container_runs_from_the_upper_layer(
    probe: ProbeSource, run_in_pod: RunInPod
) -> None:
    drain(probe, settle=0.02)
    state = State()
    ContainerEnricher().attach(state)  # container ids from cgroups
    for record in snapshot():
        state.seed(record)
    script = (
        "cp /bin/busybox /bin/lanner-dropped; /bin/lanner-dropped true; /bin/busybox true; sleep 30"
    )
    _pid, container_id = run_in_pod(["sh", "-c", script], pod_name="upper-0")
    events: list[Event] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        events += probe.poll()
        if any(
            e.type_name == "execve" and e.param_by_name("exe") == "/bin/busybox" for e in events
        ):
            break
        time.sleep(0.05)
    events += drain(probe, settle=0.2)
    execs = {}
    for event in events:
        state.process(event)
        if event.type_name == "execve" and event.param_by_name("res") == 0:
            execs[str(field("proc.exepath", event))] = event
    dropped, image = execs.get("/bin/lanner-dropped"), execs.get("/bin/busybox")
    assert dropped is not None and image is not None, sorted(execs)
    assert field("container.id", dropped) == container_id[:12]
    assert field("proc.is_exe_upper_layer", dropped) is True
    assert field("proc.is_exe_upper_layer", image) is False
