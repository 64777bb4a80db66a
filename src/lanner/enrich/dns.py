"""DNS names of socket addresses, for the fd.cip.name / fd.sip.name / fd.lip.name /
fd.rip.name fields.

As in Falco, nothing is reverse-resolved: the domain names the rules compare those fields
with are resolved forward, in a background thread, and refreshed periodically; the fields
then look the socket's address up in the resulting address -> name table. The event path only
ever reads a dict, so a slow or absent DNS server never delays detection.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from lanner.rules.ast import BinaryCheck, FieldRef, ListValue, Value, iter_nodes

DEFAULT_REFRESH_SECONDS = 300.0
NAME_FIELDS = frozenset({"fd.cip.name", "fd.sip.name", "fd.lip.name", "fd.rip.name"})
# Operators whose right-hand side is a domain name to watch (as Falco's DNS manager sees it).
_EQUALITY_OPS = frozenset({"=", "==", "in"})

Resolver = Callable[[str], Iterable[str]]
"""Forward resolution of one domain name to its addresses; raises OSError when it fails."""


def resolve_with_getaddrinfo(name: str) -> list[str]:
    """Every address (IPv4 and IPv6) the system resolver gives for `name`."""
    infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _canonical(address: str) -> str | None:
    """The text form fd.*ip fields use (compressed IPv6, no zone), or None if not an IP."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).compressed
    except ValueError:
        return None


class DnsNames:
    """Watched domain names and the addresses they resolve to.

    `watch` adds names and starts the background thread on first use; each round resolves
    every watched name, then waits `refresh_seconds`. A name that fails to resolve keeps the
    addresses of its last successful round, so a DNS hiccup does not blind the rules.
    """

    def __init__(
        self,
        resolver: Resolver = resolve_with_getaddrinfo,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        if refresh_seconds <= 0:
            raise ValueError(f"DNS refresh interval must be positive, got {refresh_seconds}")
        self.resolver = resolver
        self.refresh_seconds = refresh_seconds
        self._names: list[str] = []
        self._addresses: dict[str, frozenset[str]] = {}
        # Replaced whole after each round: readers never see a half-built table.
        self._by_address: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    @property
    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._names)

    def watch(self, names: Iterable[str]) -> None:
        """Resolve these names from now on (in the background; new names at once)."""
        added = False
        with self._lock:
            for given in names:
                name = given.strip().rstrip(".").lower()
                if name and name not in self._names:
                    self._names.append(name)
                    added = True
            if not self._names or self._stop.is_set():
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lanner-dns", daemon=True)
                self._thread.start()
            elif added:
                self._wake.set()

    def name_of(self, address: str | None) -> str | None:
        """The watched name one of whose addresses is `address`, None if none."""
        if address is None:
            return None
        return self._by_address.get(address)

    def refresh(self) -> None:
        """Resolve every watched name now (the background thread's round; also for tests)."""
        names = self.names
        for name in names:
            try:
                found = {_canonical(a) for a in self.resolver(name)}
            except (OSError, UnicodeError):
                continue
            self._addresses[name] = frozenset(a for a in found if a is not None)
        table: dict[str, str] = {}
        # The first watched name claims an address several names share: a stable answer.
        for name in names:
            for address in sorted(self._addresses.get(name, ())):
                table.setdefault(address, name)
        self._by_address = table
        self.rounds += 1

    def close(self, timeout: float | None = 1.0) -> None:
        """Stop the background thread (it may still finish a lookup in progress)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.refresh()
            self._wake.wait(self.refresh_seconds)


def watched_names(condition_nodes: Iterable[Any]) -> list[str]:
    """The domain names resolved conditions compare fd.*ip.name fields with (`=`, `in`), in
    order of first appearance."""
    found: list[str] = []
    for root in condition_nodes:
        if root is None:
            continue
        for node in iter_nodes(root):
            if not isinstance(node, BinaryCheck) or node.op not in _EQUALITY_OPS:
                continue
            if not isinstance(node.lhs, FieldRef) or node.lhs.name not in NAME_FIELDS:
                continue
            values = node.rhs.items if isinstance(node.rhs, ListValue) else (node.rhs,)
            for value in values:
                if isinstance(value, Value) and value.text and value.text not in found:
                    found.append(value.text)
    return found
