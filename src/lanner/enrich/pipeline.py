"""How container enrichment plugs into the event path.

`ContainerEnricher.attach(state)` gives the State its ``containers`` table and its container
hook, and wraps two of its methods so that every thread's ``container_id`` follows its cgroups:

* ``state.seed_proc`` (snapshot records): the new thread is resolved at once;
* ``state.process`` (events): only process events that set cgroups (clone family, execve
  family exits) resolve again, the caller's thread and the new child. Every other event pays
  one set-membership test. Resolution is memoised per cgroup path, so it is cheap anyway.

``thread.container_id`` is then the full id, or "" for a host process (None: never resolved).

Container lifecycle. A metadata source (the CRI client) reports containers it has described;
each becomes a synthetic ``container`` event (CONTAINER_JSON_2, tid -1, as libsinsp emits it)
queued here. `with_container_events(items)` wraps a capture's item stream and puts the queued
events, as their own batch, in front of the next batch: rules see ``evt.type = container``
one batch after the description arrives, never blocking the stream. Container events already
in old captures go through the State's container hook into the table as they are.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from lanner.enrich.containers import (
    SHORT_ID_LEN,
    CgroupResolver,
    ContainerInfo,
    ContainerJsonError,
    ContainerTable,
    container_from_json,
    container_to_json,
)
from lanner.events.event import Event
from lanner.events.table import event_info
from lanner.state.threads import ThreadInfo

# Exit events whose handlers set a thread's cgroups.
_CGROUP_EVENTS = ("clone", "fork", "vfork", "clone3", "execve", "execveat")
CONTAINER_JSON_E = 272
CONTAINER_JSON_2_E = 324
_CONTAINER_EVENT_CODES = frozenset({228, CONTAINER_JSON_E, CONTAINER_JSON_2_E})
# At most this much waiting for descriptions per WAIT_WINDOW_S (see await_metadata).
WAIT_BUDGET_S = 3.0
WAIT_WINDOW_S = 60.0
# libsinsp's tid for events that belong to no thread (-1 as an unsigned 64-bit value).
NO_TID = 0xFFFFFFFFFFFFFFFF


def _cgroup_event_codes() -> frozenset[int]:
    codes = set()
    for code in range(1024):
        info = event_info(code)
        if info is not None and info.direction == "<" and info.name in _CGROUP_EVENTS:
            codes.add(code)
    return frozenset(codes)


class MetadataSource(Protocol):
    """Describes containers off the event path (the CRI client is one)."""

    def request(self, container_id: str) -> None:
        """Ask for a description of a newly seen container; must not block."""

    def wait_for(self, container_id: str, timeout: float) -> bool:
        """Wait, at most `timeout` seconds, for an open lookup of that container to end."""


class ContainerEnricher:
    """Container ids for threads, the container table, and container lifecycle events."""

    def __init__(self, table: ContainerTable | None = None) -> None:
        self.table = table if table is not None else ContainerTable()
        self.resolver = CgroupResolver()
        self.source: MetadataSource | None = None
        # Sources for particular container types (docker, podman: the Docker API); the others
        # go to `source` (CRI).
        self.sources: dict[str, MetadataSource] = {}
        self._codes = _cgroup_event_codes() | _CONTAINER_EVENT_CODES
        self._state: Any = None
        # Synthetic container events waiting for the next batch (appended by any thread).
        self._pending: collections.deque[Event] = collections.deque()
        # JSON texts of the synthetic events we made: the State hook must not re-read them.
        self._emitted: dict[str, str] = {}
        self._hook_container_id: str | None = None
        self._event_threads: dict[str, ThreadInfo] = {}
        self.json_errors = 0
        self.new_containers = 0
        # Containers an alert already waited for: the wait is paid once per container.
        self._awaited: set[str] = set()
        self.alert_waits = 0
        self.alert_waits_skipped = 0
        self._wait_window_start = 0.0
        self._waited_s = 0.0
        # When each container entry was made (monotonic s), for forget_unused's grace period.
        self._added_at: dict[str, float] = {}
        self.forgotten = 0
        self.last_forgotten: list[str] = []  # full ids forget_unused dropped last time

    # ---- wiring ----------------------------------------------------------------------------

    def attach(
        self,
        state: Any,
        source: MetadataSource | None = None,
        sources: dict[str, MetadataSource] | None = None,
    ) -> ContainerEnricher:
        """Install into a State (before it sees records). `source` describes containers of
        any type, `sources` those of the types they are keyed by. Returns self."""
        self._state = state
        self.source = source
        self.sources = dict(sources or {})
        state.containers = self.table
        state.container_hook = self.on_container_json
        state_process: Callable[[Any], None] = state.process
        seed_proc: Callable[[Any], ThreadInfo] = state.seed_proc
        codes = self._codes
        after = self._after_event

        def process(event: Any) -> None:
            state_process(event)
            if event.code in codes:
                after(event)

        def seed(entry: Any) -> ThreadInfo:
            thread = seed_proc(entry)
            self.resolve_thread(thread)
            return thread

        state.process = process
        state.seed_proc = seed
        for thread in list(state.threads.threads.values()):
            self.resolve_thread(thread)
        return self

    # ---- threads ---------------------------------------------------------------------------

    def resolve_thread(self, thread: ThreadInfo) -> str:
        """Set thread.container_id from its cgroups: the container they name, else "" (host).
        A thread without any cgroups (made up on first sight) keeps what it has, e.g. the id
        a clone child inherited."""
        found = self.resolver.resolve(thread.cgroups)
        if found is None:
            if thread.cgroups or thread.container_id is None:
                thread.container_id = ""
            return thread.container_id
        thread.container_id = found.id
        if self.table.get(found.id) is None:
            self.new_containers += 1
            self.table.add(ContainerInfo(id=found.id, type=found.type))
            self._added_at[found.id[:SHORT_ID_LEN]] = time.monotonic()
            source = self.source_for(found.type)
            if source is not None:
                source.request(found.id)
        return found.id

    def _after_event(self, event: Any) -> None:
        if event.code in _CONTAINER_EVENT_CODES:
            self._mark_container_event(event)
            return
        thread = event.thread
        if thread is not None:
            self.resolve_thread(thread)
        if event.type_name in ("clone", "fork", "vfork", "clone3") and event.nparams:
            child_tid = event.param(0)
            if isinstance(child_tid, int) and child_tid > 0:
                child = self._state.threads.threads.get(child_tid)
                if child is not None:
                    self.resolve_thread(child)

    def source_for(self, container_type: str | None) -> MetadataSource | None:
        """Who describes containers of this type (None: nobody)."""
        return self.sources.get(container_type or "", self.source)

    def await_metadata(self, thread: ThreadInfo | None, timeout: float) -> bool:
        """Before an alert on `thread` is written: if its container's description is still
        being looked up, wait for it, at most `timeout` seconds, once per container (the alert
        then names the pod and image instead of <NA>). True when it waited."""
        cid = thread.container_id if thread is not None else None
        if not cid or timeout <= 0 or cid in self._awaited:
            return False
        info = self.table.get(cid)
        if info is not None and info.complete:
            return False
        source = self.source_for(info.type if info is not None else None)
        if source is None:
            return False
        # A budget over a sliding minute: many new containers alerting at once (a rollout)
        # must not stall the event path for longer than the ring can absorb.
        now = time.monotonic()
        if now - self._wait_window_start >= WAIT_WINDOW_S:
            self._wait_window_start, self._waited_s = now, 0.0
        budget = WAIT_BUDGET_S - self._waited_s
        if budget <= 0:
            self.alert_waits_skipped += 1
            return False
        self._awaited.add(cid)
        self.alert_waits += 1
        source.wait_for(cid, min(timeout, budget))
        self._waited_s += time.monotonic() - now
        return True

    def forget_unused(self, grace_s: float = 60.0, now: float | None = None) -> int:
        """Drop the containers no thread belongs to any more (they exited), once they have been
        in the table for `grace_s`, with what was kept about them; as libsinsp's periodic
        removal of inactive containers. A container seen again is looked up again. Returns how
        many went. Runs on the event path's thread (`lanner run` calls it once a minute)."""
        now = time.monotonic() if now is None else now
        threads = self._state.threads.threads.values() if self._state is not None else ()
        in_use = {t.container_id[:SHORT_ID_LEN] for t in threads if t.container_id}
        gone = [
            key
            for key in list(self.table)
            if key not in in_use and now - self._added_at.setdefault(key, now) >= grace_s
        ]
        self.last_forgotten = []
        for key in gone:
            info = self.table.pop(key, None)
            forget = getattr(self.source_for(info.type if info else None), "forget", None)
            self._added_at.pop(key, None)
            self._emitted.pop(key, None)
            self._event_threads.pop(key, None)
            full_id = info.id if info is not None else key
            self.last_forgotten.append(full_id)
            self._awaited.discard(full_id)
            if forget is not None:
                forget(full_id)
        self.forgotten += len(gone)
        return len(gone)

    # ---- container events ------------------------------------------------------------------

    def on_container_json(self, text: str) -> None:
        """State.container_hook: a CONTAINER_JSON event's payload (old captures, or ours)."""
        self._hook_container_id = None
        if not text.startswith("{"):
            return
        for cid, emitted in self._emitted.items():
            if emitted == text:
                self._hook_container_id = cid
                return
        try:
            info = container_from_json(text)
        except ContainerJsonError:
            self.json_errors += 1
            return
        self.table.add(info)
        self._hook_container_id = info.id

    def _mark_container_event(self, event: Any) -> None:
        # libsinsp gives a container event a thread of its own: tid -1, named after the
        # container, inside it; container.* fields then describe the container.
        cid = self._hook_container_id
        if cid is None:
            return
        thread = self._event_threads.get(cid)
        if thread is None:
            thread = ThreadInfo(-1, -1)
            # libsinsp's container thread: virtual ids -2, ids and users left at their
            # initial values.
            thread.vtid = thread.vpid = -2
            thread.comm = thread.exe = f"container:{cid[:12]}"
            thread.container_id = cid
            self._event_threads[cid] = thread
        event.thread = thread

    def publish(self, info: ContainerInfo, ts: int | None = None) -> None:
        """A metadata source described a container: store it and queue its container event.
        Safe to call from any thread."""
        self.table.add(info)
        text = container_to_json(info)
        self._emitted[info.short_id] = text
        spec = event_info(CONTAINER_JSON_2_E)
        assert spec is not None
        event = Event.from_params(
            spec, [text.encode()], ts=ts if ts is not None else time.time_ns(), tid=NO_TID
        )
        self._pending.append(event)

    def take_events(self) -> list[Event]:
        """The synthetic container events queued so far, oldest first."""
        events: list[Event] = []
        pending = self._pending
        while pending:
            events.append(pending.popleft())
        return events

    def with_container_events(self, items: Iterable[Any]) -> Iterator[Any]:
        """A capture's items with queued container events slipped in before each batch."""
        for item in items:
            if isinstance(item, list) and self._pending:
                yield self.take_events()
            yield item
        if self._pending:
            yield self.take_events()
