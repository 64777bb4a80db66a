"""DNS names of socket addresses: the resolver of the rules' domain names, the fd.*ip.name
extractors that read it, and the CLI set-up that connects the two."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from lanner.cli.detect_setup import attach_dns, build_setup
from lanner.enrich.dns import DnsNames, resolve_with_getaddrinfo, watched_names
from lanner.rules.loader import LoadedRules, load_rules_string
from lanner.state.fds import FdRole
from lanner.state.state import State
from tests.fields.builders import (
    FakeState,
    Interface,
    attach,
    extract,
    file_fd,
    i64,
    make_event,
    tcp_fd,
    thread,
)

RULES = """
- list: pools
  items: [pool.example, "other.example"]
- macro: to_pool
  condition: fd.sip.name in (pools)
- rule: pool
  desc: d
  condition: evt.type = close and (to_pool or fd.rip.name = direct.example)
  output: o
  priority: INFO
- rule: unrelated
  desc: d
  condition: evt.type = close and fd.cip.name != ignored.example
    and fd.lip.name startswith ignored2 and fd.name = not.a.dns.field
  output: o
  priority: INFO
"""


def _load(text: str = RULES) -> LoadedRules:
    loaded = load_rules_string(text)
    assert loaded.successful, [m.one_line() for m in loaded.result.errors]
    return loaded


class FakeResolver:
    """Answers from a table; a name missing from it fails like an unknown host."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, name: str) -> Iterable[str]:
        self.calls.append(name)
        if name not in self.table:
            raise OSError(f"unknown host {name}")
        return self.table[name]


def _wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---- which names the rules compare with ---------------------------------------------------


def test_names_come_from_equality_and_in_checks_through_lists_and_macros() -> None:
    loaded = _load()
    names = watched_names(rule.condition_node for rule in loaded.rules)
    assert names == ["pool.example", "other.example", "direct.example"]


def test_no_names_without_dns_fields() -> None:
    text = (
        RULES.split("- rule: unrelated", maxsplit=1)[0]
        .replace("fd.sip.name", "fd.name")
        .replace("fd.rip.name", "fd.directory")
    )
    assert watched_names(rule.condition_node for rule in _load(text).rules) == []


# ---- the resolver ------------------------------------------------------------------------


def test_name_of_after_a_round() -> None:
    resolver = FakeResolver(
        {"a.example": ["10.0.0.1", "2001:0db8:0:0::1"], "b.example": ["10.0.0.2", "10.0.0.1"]}
    )
    names = DnsNames(resolver)
    names._names = ["a.example", "b.example"]  # watched without the background thread
    assert names.name_of("10.0.0.1") is None
    names.refresh()
    assert names.name_of("10.0.0.2") == "b.example"
    assert names.name_of("10.0.0.1") == "a.example"  # shared: the first watched name
    assert names.name_of("2001:db8::1") == "a.example"  # canonical text, as fd.sip gives
    assert names.name_of("10.0.0.3") is None
    assert names.name_of(None) is None


def test_failed_lookup_keeps_the_last_addresses_and_changes_are_picked_up() -> None:
    resolver = FakeResolver({"a.example": ["10.0.0.1"], "b.example": ["10.0.0.2"]})
    names = DnsNames(resolver)
    names._names = ["a.example", "b.example"]
    names.refresh()
    del resolver.table["a.example"]
    resolver.table["b.example"] = ["10.0.0.5"]
    names.refresh()
    assert names.name_of("10.0.0.1") == "a.example"
    assert names.name_of("10.0.0.2") is None
    assert names.name_of("10.0.0.5") == "b.example"


def test_background_thread_resolves_refreshes_and_wakes_for_new_names() -> None:
    resolver = FakeResolver({"a.example": ["10.0.0.1"], "late.example": ["10.0.0.9"]})
    names = DnsNames(resolver, refresh_seconds=3600)
    try:
        names.watch(["A.Example.", "a.example", " "])
        assert names.names == ("a.example",)
        _wait_for(lambda: names.name_of("10.0.0.1") == "a.example")
        assert names.rounds == 1
        names.watch(["late.example"])  # wakes the thread long before the hour is up
        _wait_for(lambda: names.name_of("10.0.0.9") == "late.example")
        assert resolver.calls.count("a.example") == 2
    finally:
        names.close()
    assert names._thread is not None and not names._thread.is_alive()


def test_periodic_refresh_runs_off_the_calling_thread() -> None:
    resolver = FakeResolver({"a.example": ["10.0.0.1"]})
    callers: set[int] = set()

    def recording(name: str) -> Iterable[str]:
        callers.add(threading.get_ident())
        return resolver(name)

    names = DnsNames(recording, refresh_seconds=0.02)
    try:
        names.watch(["a.example"])
        _wait_for(lambda: names.rounds >= 3)
    finally:
        names.close()
    assert callers and threading.get_ident() not in callers


def test_watch_nothing_starts_no_thread_and_bad_interval_is_refused() -> None:
    names = DnsNames(FakeResolver({}))
    names.watch([])
    assert names._thread is None
    with pytest.raises(ValueError, match="interval"):
        DnsNames(refresh_seconds=0)


# ---- the fields --------------------------------------------------------------------------


def _socket_event(dns: Any, fd: Any = None) -> Any:
    """A close of fd 3 (a client connection 192.168.0.3 -> 198.18.0.7 by default) on a host
    owning 192.168.0.3."""
    state = FakeState()
    state.interfaces = [Interface("eth0", 2, "192.168.0.3", None)]
    if dns is not None:
        state.dns = dns  # type: ignore[attr-defined]
    info = thread(state, 10, "xmrig")
    info.fdtable.add(fd or tcp_fd(3, ("192.168.0.3", 5000), ("198.18.0.7", 3333), FdRole.CLIENT))
    return attach(make_event("close", ">", [i64(3)], tid=10), state, info, 3)


def _resolved(table: dict[str, list[str]]) -> DnsNames:
    names = DnsNames(FakeResolver(table))
    names._names = list(table)
    names.refresh()
    return names


def test_fields_name_each_end() -> None:
    dns = _resolved({"pool.example": ["198.18.0.7"], "me.example": ["192.168.0.3"]})
    event = _socket_event(dns)
    assert extract("fd.sip.name", event) == "pool.example"
    assert extract("fd.rip.name", event) == "pool.example"
    assert extract("fd.cip.name", event) == "me.example"
    assert extract("fd.lip.name", event) == "me.example"


def test_fields_are_none_without_resolver_name_or_socket() -> None:
    for name in ("fd.cip.name", "fd.sip.name", "fd.lip.name", "fd.rip.name"):
        assert extract(name, _socket_event(None)) is None
        assert extract(name, _socket_event(_resolved({"x.example": ["10.9.9.9"]}))) is None
        file_event = _socket_event(_resolved({"x.example": ["10.9.9.9"]}), file_fd(3, "/etc/x"))
        assert extract(name, file_event) is None


def test_rule_fires_on_the_named_server_only() -> None:
    rule = next(r for r in _load().rules if r.name == "pool")
    dns = _resolved({"pool.example": ["198.18.0.7"], "other.example": ["198.18.0.8"]})
    assert rule.matches(_socket_event(dns))
    other = tcp_fd(3, ("192.168.0.3", 5000), ("198.18.0.9", 3333), FdRole.CLIENT)
    assert not rule.matches(_socket_event(dns, other))
    assert not rule.matches(_socket_event(None))


# ---- set-up wiring -----------------------------------------------------------------------


def test_setup_watches_the_enabled_rules_names_on_the_state(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    # Off by default: the lookups are network traffic to the node's resolver.
    off = build_setup(rules_files=[rules], config={}, quiet=True)
    assert off.dns_names == ("pool.example", "other.example", "direct.example")
    quiet_state = State()
    attach_dns(off, quiet_state)
    assert quiet_state.dns is None
    setup = build_setup(rules_files=[rules], config={"dns": {"enabled": True}}, quiet=True)
    state = State()
    looked_up: list[str] = []

    def fake(name: str) -> list[str]:  # never the real resolver: no DNS traffic from tests
        looked_up.append(name)
        return []

    attach_dns(setup, state, resolver=fake)
    first = state.dns
    try:
        assert isinstance(first, DnsNames)
        attach_dns(setup, state, resolver=fake)  # a rules reload keeps the running resolver
        assert state.dns is first and first.names == setup.dns_names
    finally:
        first.close(timeout=0)
    disabled = build_setup(
        rules_files=[rules], config={"dns": {"enabled": True}}, quiet=True, disable_rules=["pool"]
    )
    assert disabled.dns_names == ()
    bare = State()
    attach_dns(disabled, bare)
    assert bare.dns is None


# ---- the system resolver -----------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0 or not os.access("/etc/hosts", os.W_OK), reason="root")
def test_getaddrinfo_resolves_a_hosts_file_name() -> None:
    hosts = Path("/etc/hosts")
    original = hosts.read_bytes()
    try:
        hosts.write_bytes(original.rstrip(b"\n") + b"\n127.0.0.9 lanner-test-pool.invalid\n")
        names = DnsNames()
        names._names = ["lanner-test-pool.invalid"]
        names.refresh()
        assert "127.0.0.9" in resolve_with_getaddrinfo("lanner-test-pool.invalid")
        assert names.name_of("127.0.0.9") == "lanner-test-pool.invalid"
    finally:
        hosts.write_bytes(original)
    assert hosts.read_bytes() == original
