"""In-reader event selection (`DetectionEngine.scap_reader`) changes nothing but speed: every
corpus trace gives the same alerts, event counts and event numbers with and without it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lanner.alerts.alert import Alert
from lanner.alerts.drops import DropMonitor, DropSettings
from lanner.capture.scap import ScapReader
from lanner.engine import DetectionEngine
from lanner.events.table import event_info
from lanner.rules.loader import load_rules_files, load_rules_string
from lanner.rules.ruleset import Ruleset
from lanner.state.needs import unneeded_state_types
from tests.conftest import COMPAT, compat_path

RULESETS = {
    "falco-0.34.1": ["falco-0.34.1-pinned-c558fc7/falco_rules.yaml"],
    "falcosecurity-rules": [
        "falcosecurity-rules-c72713e/falco_rules.yaml",
        "falcosecurity-rules-c72713e/falco-incubating_rules.yaml",
        "falcosecurity-rules-c72713e/falco-sandbox_rules.yaml",
    ],
}
# Rules that fire on most fd and process events, with outputs full of state-dependent fields:
# any state an unselected event would have changed shows up in some alert.
BUSY_RULES = """
- rule: fd activity
  desc: fd events
  condition: >
    evt.type in (open, openat, openat2, creat, close, read, write, sendto, recvfrom, connect,
    accept, accept4, socket, bind, fstat, dup, dup2, dup3, pipe, pipe2, mmap, fcntl, sendmsg,
    recvmsg, readv, writev, eventfd, pread, pwrite)
  output: >
    %evt.num %evt.type %evt.dir %evt.args res=%evt.res lat=%evt.latency %proc.name
    %proc.pid %proc.ppid %proc.pname %proc.cmdline %proc.exepath %proc.cwd %thread.tid
    %user.name %fd.num %fd.name %fd.type %fd.sip %fd.sport %fd.cip %fd.cport %fd.l4proto
  priority: INFO
- rule: process activity
  desc: process events and generic syscalls
  condition: >
    evt.type in (execve, clone, fork, vfork, procexit, chdir, fchdir, setuid, setgid, setsid,
    prctl, epoll_pwait, mprotect, exit_group, wait4, getpid)
  output: >
    %evt.num %evt.type %evt.dir %evt.args %proc.name %proc.pid %proc.ppid %proc.pname
    %proc.aname[2] %proc.cmdline %proc.exepath %proc.cwd %user.uid %proc.sid %proc.vpid
  priority: INFO
"""
# No fd field anywhere: memory, plain I/O and send events feed nothing these rules read, so
# field-aware selection leaves them out (process fields must still come out the same).
PROCESS_RULES = """
- rule: process view
  desc: process fields on process and file events
  condition: >
    evt.type in (execve, clone, fork, procexit, open, openat, close, chdir, setuid, connect,
    accept, socket)
  output: >
    %evt.num %evt.type %evt.dir %evt.res %proc.name %proc.pid %proc.ppid %proc.pname
    %proc.aname[2] %proc.cmdline %proc.exe %thread.tid %user.name %proc.sid %proc.vpid
    %evt.latency %container.id
  priority: INFO
"""
# Memory fields but no fd ones: memory events stay, I/O ones go; the working directory keeps
# send events (their inferred sockets could stand for a later fchdir's directory).
MEMORY_RULES = """
- rule: memory view
  desc: memory figures on process and file events
  condition: evt.type in (execve, clone, procexit, open, openat, close, connect, accept)
  output: >
    %evt.num %evt.type %proc.name %proc.vmsize %proc.vmrss %proc.vmswap %thread.vmsize
    %thread.vmrss %proc.cwd %proc.exepath
  priority: INFO
"""
# fd fields, but on events other than I/O: the I/O events are not wanted for themselves, only
# for what they teach the fd table (socket tuples, roles, inferred UDP sockets).
SOCKET_RULES = """
- rule: socket view
  desc: fd fields on events that use an existing fd
  condition: >
    evt.type in (close, connect, shutdown, setsockopt, getsockopt, fcntl, dup, dup2, fstat,
    epoll_ctl, getsockname, bind, listen, ioctl, poll, select)
  output: >
    %evt.num %evt.type %evt.dir %fd.num %fd.name %fd.type %fd.typechar %fd.sip %fd.sport
    %fd.cip %fd.cport %fd.l4proto %fd.connected %fd.is_server %fd.name_changed %evt.args
  priority: INFO
"""
TEXT_RULESETS = {
    "busy": BUSY_RULES,
    "process": PROCESS_RULES,
    "memory": MEMORY_RULES,
    "sockets": SOCKET_RULES,
}
TRACES = sorted(str(p.relative_to(COMPAT / "scap")) for p in (COMPAT / "scap").glob("*/*.scap"))


@cache
def _ruleset(name: str) -> Ruleset:
    if name in TEXT_RULESETS:
        loaded = load_rules_string(TEXT_RULESETS[name], f"{name}.yaml")
        assert loaded.successful, loaded.result
        return loaded.ruleset()
    files = [compat_path("rules", *part.split("/")) for part in RULESETS[name]]
    loaded = load_rules_files(files)
    ruleset = loaded.ruleset()
    ruleset.apply([])
    return ruleset


def _replay(trace: Path, ruleset: Ruleset, legacy: bool, select: bool) -> tuple[Any, ...]:
    alerts: list[Alert] = []
    engine = DetectionEngine(ruleset, alerts.append, legacy_events=legacy, hostname="test")
    reader = engine.scap_reader(trace) if select else ScapReader(trace)
    for _ in engine.feed(reader):
        pass
    found = [(a.time_ns, a.rule, a.output, sorted(a.output_fields.items())) for a in alerts]
    return engine.stats.events, engine.stats.alerts, found


# The busy rules in both event models; Falco's rulesets in the legacy one (their enter events
# make the most of the selection's pairing notes).
CASES = [
    ("busy", True),
    ("busy", False),
    ("process", True),
    ("memory", False),
    ("sockets", True),
    *((name, True) for name in sorted(RULESETS)),
]


@pytest.mark.parametrize(
    ("rules", "legacy"), CASES, ids=[f"{r}-{'legacy' if m else 'modern'}" for r, m in CASES]
)
@pytest.mark.parametrize("trace", TRACES)
def test_selection_gives_the_same_alerts(trace: str, rules: str, legacy: bool) -> None:
    path = compat_path("scap", *trace.split("/"))
    ruleset = _ruleset(rules)
    # The comparison means something only if the engine does select.
    probe = DetectionEngine(ruleset, lambda _a: None, hostname="test")
    assert probe.wanted_codes() is not None
    assert _replay(path, ruleset, legacy, select=True) == _replay(path, ruleset, legacy, False)


def test_the_corpus_raises_alerts_to_compare() -> None:
    total = 0
    for trace in TRACES:
        path = compat_path("scap", *trace.split("/"))
        total += _replay(path, _ruleset("busy"), True, select=True)[1]
    assert total > 5_000


def test_selection_skips_most_of_a_busy_trace_and_keeps_evt_num() -> None:
    path = compat_path("scap", "gpl-sysdig-inspect", "502Error.scap")
    engine = DetectionEngine(_ruleset("falco-0.34.1"), lambda _a: None, hostname="test")
    selected = []
    for item in engine.scap_reader(path):
        if isinstance(item, list):
            selected.extend(item)
            engine.process_batch(item)
        else:
            engine.seed(item)
    every = {e.num: e for batch in ScapReader(path).events() for e in batch}
    assert engine.stats.events == len(every)
    assert len(selected) < len(every) / 3
    for event in selected:
        same = every[event.num]
        assert (event.ts, event.tid, event.type_name) == (same.ts, same.tid, same.type_name)
    names = {e.type_name for e in selected}
    assert "procinfo" not in names
    assert {"open", "close", "connect"} <= names


def test_without_rules_only_the_state_parser_codes_are_wanted() -> None:
    engine = DetectionEngine(load_rules_files([]).ruleset(), lambda _a: None, hostname="test")
    codes = engine.wanted_codes()
    parser = engine.state.parser
    # No field is read: the handlers of memory and I/O state are left out too.
    assert codes == parser.needed_codes(unneeded_state_types(frozenset()))
    assert codes < parser.needed_codes()
    assert not codes & parser.neutral_codes()


def test_a_rule_on_every_event_type_turns_selection_off() -> None:
    text = """
- rule: any event
  desc: no event type restriction
  condition: proc.name = nginx
  output: "%proc.name"
  priority: INFO
"""
    loaded = load_rules_string(text, "any.yaml")
    engine = DetectionEngine(loaded.ruleset(), lambda _a: None, hostname="test")
    assert engine.wanted_codes() is None
    assert engine.selection() is None


def test_simulated_drops_need_every_event() -> None:
    engine = DetectionEngine(_ruleset("falco-0.34.1"), lambda _a: None, hostname="test")
    assert engine.wanted_codes() is not None
    engine.drop_monitor = DropMonitor(
        DropSettings(simulate_drops=True),
        lambda: (0, 0),
        log=lambda _m: None,
        alert=lambda _a: None,
        hostname="test",
    )
    assert engine.wanted_codes() is None


def _wanted_names(rules: str) -> set[str]:
    engine = DetectionEngine(_ruleset(rules), lambda _a: None, hostname="test")
    codes = engine.wanted_codes()
    assert codes is not None
    return {event_info(code).name for code in codes if event_info(code) is not None}


def test_field_aware_selection_leaves_out_state_no_rule_reads() -> None:
    process = _wanted_names("process")
    assert not process & {"mmap", "munmap", "brk", "read", "recvfrom", "sendto", "writev"}
    assert {"close", "open", "execve", "dup2"} <= process
    memory = _wanted_names("memory")
    assert {"mmap", "munmap", "brk", "sendto", "sendmsg"} <= memory
    assert not memory & {"read", "recvfrom", "write", "writev"}
    assert {"mmap", "read", "recvfrom", "sendto"} <= _wanted_names("busy")


def test_a_consumer_that_does_not_name_its_fields_keeps_all_the_state() -> None:
    class Consumer:
        def process_batch(self, events: Any) -> None:
            pass

        def needed_event_types(self) -> frozenset[str]:
            return frozenset({"open"})

    engine = DetectionEngine(
        _ruleset("process"), lambda _a: None, hostname="test", consumers=[Consumer()]
    )
    assert engine.read_fields() is None
    codes = engine.wanted_codes()
    assert codes is not None
    assert {"mmap", "read"} <= {event_info(c).name for c in codes if event_info(c)}
