"""Container enrichment inside the state pipeline: thread ids follow cgroups, container events
(captured and synthetic), and what the container/k8s fields then read."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from lanner.enrich.containers import ContainerInfo
from lanner.enrich.enable import enable_containers
from lanner.enrich.pipeline import ContainerEnricher
from lanner.events.event import Event
from lanner.fields import default_registry
from lanner.state.state import State
from tests.state.evbuild import event

CID = "ac09c37c12c72abbbe5cf7067684d10cd067dc9a81df6f3199ff92d123ed6e30"
POD_PATH = f"/kubepods/besteffort/podb26bff33/{CID}"
REGISTRY = default_registry()


def field(name: str, ev: Event, arg: str | None = None) -> Any:
    resolved = REGISTRY.resolve(name, arg)
    assert resolved is not None, name
    info, bound = resolved
    return info.bind(bound)(ev)


class RecordingSource:
    def __init__(self) -> None:
        self.requested: list[str] = []

    def request(self, container_id: str) -> None:
        self.requested.append(container_id)


def proc_entry(tid: int, cgroups: list[str], comm: str = "sh") -> SimpleNamespace:
    return SimpleNamespace(
        tid=tid, pid=tid, ptid=1, comm=comm, exe=comm, args=[], cwd="/", fdlimit=1024,
        flags=0, uid=0, gid=0, cgroups=cgroups,
    )  # fmt: skip


def clone_exit(tid: int, res: int, ts: int, cgroups: list[str]) -> Event:
    return event(
        "clone", "<", tid, ts, res=res, exe="sh", args=[], tid=tid, pid=tid, ptid=1, cwd="",
        fdlimit=1024, comm="sh", flags=0, uid=0, gid=0, vtid=tid, vpid=tid, cgroups=cgroups,
    )  # fmt: skip


def execve_exit(tid: int, ts: int, cgroups: list[str], comm: str) -> Event:
    return event(
        "execve", "<", tid, ts, res=0, exe=comm, args=[], tid=tid, pid=tid, ptid=1, cwd="",
        fdlimit=1024, comm=comm, cgroups=cgroups,
    )  # fmt: skip


def plain_event(tid: int, ts: int) -> Event:
    return event("close", "<", tid, ts, res=0)


def test_seeded_threads_get_their_container_and_host_threads_host() -> None:
    state = State()
    source = RecordingSource()
    enricher = ContainerEnricher().attach(state, source)
    state.seed(proc_entry(10, ["cpuset=/", f"memory={POD_PATH}"]))
    state.seed(proc_entry(11, ["cpuset=/", "memory=/user.slice"]))
    t10, t11 = state.thread(10), state.thread(11)
    assert t10 is not None and t11 is not None
    assert (t10.container_id, t11.container_id) == (CID, "")
    # The new container is in the table at once (type from the path), metadata asked for once.
    assert source.requested == [CID]
    assert state.containers.get(CID).type == "cri"
    state.seed(proc_entry(12, [f"cpu={POD_PATH}"]))
    assert source.requested == [CID] and enricher.new_containers == 1

    ev = plain_event(10, 5)
    state.process(ev)
    assert field("container.id", ev) == CID[:12]
    assert field("container.full_id", ev) == CID
    # Unknown until a metadata source describes it: <NA>, as Falco shows.
    assert field("container.name", ev) is None
    assert field("k8s.pod.name", ev) is None
    host = plain_event(11, 6)
    state.process(host)
    assert (field("container.id", host), field("container.name", host)) == ("host", "host")


def test_execve_into_a_container_cgroup_moves_the_thread() -> None:
    # runc's init runs on the host side, joins the container cgroup, then execs the payload.
    state = State()
    ContainerEnricher().attach(state)
    state.seed(proc_entry(20, ["cpuset=/", "memory=/system.slice/containerd.service"]))
    state.process(clone_exit(20, 21, 10, ["memory=/system.slice/containerd.service"]))
    child = state.thread(21)
    assert child is not None and child.container_id == ""
    ev = execve_exit(21, 11, [f"memory={POD_PATH}", "cpuset=/"], "nginx")
    state.process(ev)
    assert child.container_id == CID
    assert field("container.id", ev) == CID[:12]
    # Its own children inherit the container (child side of the clone too).
    state.process(clone_exit(21, 22, 12, [f"memory={POD_PATH}"]))
    grandchild = state.thread(22)
    assert grandchild is not None and grandchild.container_id == CID
    state.process(clone_exit(22, 0, 13, [f"memory={POD_PATH}"]))
    assert grandchild.container_id == CID
    # Leaving the container (nsenter-like exec back into a host cgroup) is seen too.
    state.process(execve_exit(21, 14, ["memory=/user.slice"], "sh"))
    assert child.container_id == ""


def test_other_events_do_not_recompute() -> None:
    state = State()
    enricher = ContainerEnricher().attach(state)
    state.seed(proc_entry(30, [f"memory={POD_PATH}"]))
    thread = state.thread(30)
    assert thread is not None
    # A change of cgroups only counts when an event that carries cgroups says so.
    thread.cgroups = [("memory", "/user.slice")]
    state.process(plain_event(30, 1))
    assert thread.container_id == CID
    assert enricher.new_containers == 1


def test_captured_container_event_fills_the_table_and_has_its_own_thread() -> None:
    state = State()
    ContainerEnricher().attach(state)
    state.seed(proc_entry(40, [f"cpuset=/docker/{CID}"]))
    body = {
        "id": CID[:12],
        "type": 0,
        "name": "epic_cray",
        "image": "nginx:latest",
        "imagerepo": "nginx",
        "imagetag": "latest",
        "privileged": True,
        "labels": {"a": "b"},
    }
    text = json.dumps({"container": body})
    ev = event("container", ">", 0xFFFFFFFFFFFFFFFF, 3, json=text)
    state.process(ev)
    assert field("evt.type", ev) == "container"
    assert field("container.id", ev) == CID[:12]
    assert field("container.name", ev) == "epic_cray"
    assert field("proc.name", ev) == f"container:{CID[:12]}"
    later = plain_event(40, 4)
    state.process(later)
    assert field("container.image.repository", later) == "nginx"
    assert field("container.privileged", later) is True
    assert field("container.label", later, "a") == "b"
    assert field("container.type", later) == "docker"
    # A broken payload is counted and ignored.
    bad = event("container", ">", 0xFFFFFFFFFFFFFFFF, 5, json='{"container":')
    state.process(bad)
    assert bad.thread is None


def test_published_containers_become_container_events_before_the_next_batch() -> None:
    state = State()
    enricher = ContainerEnricher().attach(state)
    state.seed(proc_entry(50, [f"memory={POD_PATH}"]))
    info = ContainerInfo(
        id=CID,
        type="containerd",
        name="app",
        image="docker.io/library/busybox:lanner",
        labels={
            "io.kubernetes.pod.name": "web-0",
            "io.kubernetes.pod.namespace": "shop",
            "io.kubernetes.pod.uid": "b26bff33",
            "io.kubernetes.sandbox.id": "21deafda4218821d",
        },
        pod_labels={"app": "web"},
        ip="10.77.0.2",
        complete=True,
    )
    batches: list[list[Event]] = [[plain_event(50, 1)], [plain_event(50, 2)]]

    def items() -> Any:
        yield batches[0]
        enricher.publish(info, ts=15)  # the lookup finishes while batch 0 is processed
        yield batches[1]

    seen: list[Event] = []
    for item in enricher.with_container_events(items()):
        for ev in item:
            state.process(ev)
            seen.append(ev)
    assert [ev.type_name for ev in seen] == ["close", "container", "close"]
    container_ev = seen[1]
    assert container_ev.ts == 15 and field("container.name", container_ev) == "app"
    # The synthetic event's JSON is not re-read: the published object stays in the table.
    assert state.containers.get(CID) is info
    last = seen[2]
    assert field("k8s.pod.name", last) == "web-0"
    assert field("k8s.ns.name", last) == "shop"
    assert field("k8s.pod.uid", last) == "b26bff33"
    assert field("k8s.pod.label", last, "app") == "web"
    assert field("k8s.pod.ip", last) == "10.77.0.2"
    assert field("k8s.pod.sandbox_id", last) == "21deafda4218"
    assert enricher.take_events() == []


def test_enable_for_replay_attaches_without_a_runtime() -> None:
    state = State()
    enrichment = enable_containers(state, cri_socket=None, docker_socket=None)
    assert enrichment.cri is None and enrichment.kube is None
    assert state.containers is enrichment.enricher.table
    state.seed(proc_entry(60, [f"memory={POD_PATH}"]))
    thread = state.thread(60)
    assert thread is not None and thread.container_id == CID
    enrichment.stop()
