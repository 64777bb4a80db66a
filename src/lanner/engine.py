"""The detection pipeline: events → state → rules → alerts, for replay and live capture alike.

Every event updates the state first (as libsinsp's parsers do), so rules see the thread and fd
tables as they are after the event. Which events the rules see follows the event model: the
modern one (Falco ≥ 0.42: exit events, which carry their enter's parameters) by default, or the
legacy one where enter events match too (the model Falco's regression corpus was written for).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lanner.alerts.alert import Alert, OutputOptions, alert_for, default_hostname
from lanner.alerts.drops import DropMonitor
from lanner.capture.scap import EventSelection, ScapReader
from lanner.events._syscalls import SYSCALL_NAMES
from lanner.events.table import GENERIC_E, GENERIC_X, codes_for_name
from lanner.rules.ruleset import Ruleset
from lanner.state.needs import unneeded_state_types
from lanner.state.state import State, should_deliver

AlertHandler = Callable[[Alert], None]


# Fields that read the time of the stream's first event: a selective reader would skip it.
_STREAM_START_FIELDS = frozenset({"evt.reltime", "evt.reltime.s", "evt.reltime.ns"})


class BatchConsumer(Protocol):
    """Another engine reading the same stream (metrics, baselines): it gets each batch after
    the state layer has filled the events' thread/fd/enter slots."""

    def process_batch(self, events: Sequence[Any]) -> None: ...

    def needed_event_types(self) -> frozenset[str] | None:
        """The event types (evt.type names) it reads, which selection must keep (None: all)."""
        ...


# A consumer may also say which fields' worth of state it reads, with a method
# `needed_fields() -> frozenset[str] | None` (registered field names, None: any state).
# Without that method it counts as reading all the state.


@dataclass
class EngineStats:
    """What the engine has seen, for summaries and metrics."""

    events: int = 0
    """Events read (enter and exit)."""
    delivered: int = 0
    """Events the rules were run on."""
    alerts: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    first_ts: int | None = None
    last_ts: int | None = None


class DetectionEngine:
    """Runs a ruleset over a stream of events and hands each alert to ``on_alert``."""

    def __init__(
        self,
        ruleset: Ruleset,
        on_alert: AlertHandler,
        *,
        state: State | None = None,
        legacy_events: bool = False,
        hostname: str | None = None,
        output_options: OutputOptions | None = None,
        drop_monitor: DropMonitor | None = None,
        consumers: Sequence[BatchConsumer] = (),
    ) -> None:
        self.ruleset = ruleset
        self.on_alert = on_alert
        self.state = state if state is not None else State()
        self.legacy_events = legacy_events
        self.hostname = hostname if hostname is not None else default_hostname()
        self.output_options = output_options or OutputOptions()
        self.stats = EngineStats()
        self.drop_monitor = drop_monitor
        self.consumers = list(consumers)
        # Called with the event before its alert is built (live: waits, bounded, for a new
        # container's description so the alert names its pod).
        self.before_alert: Callable[[Any], None] | None = None

    def wanted_codes(self) -> frozenset[int] | None:
        """The event codes this engine needs from its source, for in-reader selection
        (`ScapReader(..., wanted_codes=...)`); None when it needs every event.

        That is the codes of the event types the running rules and the attached consumers
        (`BatchConsumer.needed_event_types`) name, both directions (a rule
        on an exit event reads its enter's parameters), and the codes the state parser acts
        on. Generic syscall events are wanted when a rule names a syscall; `wanted_generic`
        then says which. Simulated drops need every event's time, so they turn selection off.
        """
        needed = self.needed_event_types()
        monitor = self.drop_monitor
        if needed is None or (monitor is not None and monitor.settings.simulate_drops):
            return None
        fields = self.read_fields()
        if fields is not None and not fields.isdisjoint(_STREAM_START_FIELDS):
            return None  # evt.reltime counts from the stream's first event, whatever its type
        codes = set(self.state.parser.needed_codes(unneeded_state_types(fields)))
        for name in needed:
            codes.update(codes_for_name(name))
        if not needed.isdisjoint(SYSCALL_NAMES):
            codes.update((GENERIC_E, GENERIC_X))
        return frozenset(codes)

    def needed_event_types(self) -> frozenset[str] | None:
        """The event types the rules and the attached consumers read (None: every type)."""
        needed = self.ruleset.needed_event_types()
        if needed is None:
            return None
        names = set(needed)
        for consumer in self.consumers:
            wanted = consumer.needed_event_types()
            if wanted is None:
                return None
            names |= wanted
        return frozenset(names)

    def read_fields(self) -> frozenset[str] | None:
        """The registered names of the fields the running rules (conditions and outputs) and
        the consumers read; None when unknown (a consumer that does not say)."""
        names: set[str] = set()
        for rule in self.ruleset.enabled_rules():
            names |= rule.condition.fields
            names |= rule.exception_fields
            # Output keys carry their argument: proc.aname[2], evt.arg.flags.
            names.update(part.key.split("[", 1)[0] for part in rule.output.fields)
        for consumer in self.consumers:
            needed_fields = getattr(consumer, "needed_fields", None)
            wanted = needed_fields() if needed_fields is not None else None
            if wanted is None:
                return None
            names |= wanted
        return frozenset(names)

    def wanted_generic(self) -> frozenset[str] | None:
        """The syscall names of the generic events the rules and consumers need (None: all)."""
        return self.needed_event_types()

    def selection(self) -> EventSelection | None:
        """What a reader may skip for this engine with results unchanged (None: nothing).

        The state is read live (`known_tids`), so the reader's batches must be processed as
        they come, as `feed` does."""
        codes = self.wanted_codes()
        if codes is None:
            return None
        parser = self.state.parser
        return EventSelection(
            codes,
            wanted_generic=self.wanted_generic(),
            neutral_codes=parser.neutral_codes(),
            quiet_codes=parser.quiet_codes(),
            known_tids=self.state.threads.threads,
            barrier_codes=parser.barrier_codes(),
        )

    def scap_reader(self, source: Any, batch_size: int = 4096) -> ScapReader:
        """A reader of a .scap file (path, bytes or stream) that builds only the events this
        engine needs; skipped events still count in `stats.events` and in `evt.num`."""
        return ScapReader(source, batch_size, selection=self.selection())

    def seed(self, record: Any) -> bool:
        """Apply a process/fd/user/interface/machine record of a trace (or of /proc)."""
        return self.state.seed(record)

    def feed(self, items: Iterable[Any]) -> Iterator[int]:
        """Consume a reader's items (state records and event batches); yields after each batch
        the number of events processed so far, for progress display."""
        for item in items:
            if isinstance(item, list):
                self.process_batch(item)
                yield self.stats.events
            else:
                self.seed(item)

    def process_batch(self, events: list[Any]) -> None:
        """The hot loop: one state update per event, rules on the delivered ones."""
        stats = self.stats
        # A selective reader's batch also stands for the events it skipped.
        stats.events += max(len(events), getattr(events, "read", 0))
        if not events:
            return
        if self.state.start_ts is None:
            self.state.note_start(events)
        process = self.state.batch_processor()
        run = self.ruleset.run
        delivered = 0
        typed = self.ruleset.typed_rules()
        if self.legacy_events and typed is not None:
            # Every event goes to the rules; most have a type no rule names (state events).
            for event in events:
                process(event)
                if event.type_name in typed:
                    matched = run(event)
                    if matched:
                        for rule in matched:
                            self._emit(rule, event)
            delivered = len(events)
        elif self.legacy_events:
            for event in events:
                process(event)
                matched = run(event)
                if matched:
                    for rule in matched:
                        self._emit(rule, event)
            delivered = len(events)
        else:
            for event in events:
                process(event)
                # Exit events are always delivered; the check is cheap on the common path.
                if event.direction == ">" and not should_deliver(event, False):
                    continue
                delivered += 1
                if typed is not None and event.type_name not in typed:
                    continue
                matched = run(event)
                if matched:
                    for rule in matched:
                        self._emit(rule, event)
        for consumer in self.consumers:
            consumer.process_batch(events)
        stats.delivered += delivered
        if stats.first_ts is None:
            stats.first_ts = events[0].ts
        stats.last_ts = events[-1].ts
        monitor = self.drop_monitor
        if monitor is not None and (
            monitor.next_check_ns == 0 or events[-1].ts > monitor.next_check_ns
        ):
            # Rare (once per second of event time): find the events where the checks fall.
            for event in events:
                monitor.on_event_time(event.ts)

    def _emit(self, rule: Any, event: Any) -> None:
        if self.before_alert is not None:
            self.before_alert(event)
        alert = alert_for(rule, event, hostname=self.hostname, options=self.output_options)
        stats = self.stats
        stats.alerts += 1
        stats.by_rule[alert.rule] += 1
        stats.by_priority[alert.priority] += 1
        self.on_alert(alert)
