"""The metrics engine: performance aggregates from the event stream the security engine reads.

It consumes event batches after the state layer has processed them (so `event.thread`,
`event.fd`, `event.fdnum` and `event.enter` are filled) and keeps, per container and process:
syscall counts, failures by errno and latency (exit minus enter timestamp); file I/O per file
and per directory; TCP connects, accepts, resets, closes and bytes per remote peer; and the
HTTP and MySQL exchanges decoded from socket payloads. Only exit events are read: they carry
the result, the payload and (through `enter`) the start time.

Memory is bounded: connections are tracked in an LRU of `max_connections` entries, files and
directories beyond `max_files` fold into "<other>", protocol series beyond `max_series` fold
their path or query into "{other}".
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Sequence
from typing import Any

from lanner.events.render import errno_name
from lanner.events.table import ParamType
from lanner.metrics.protocols.detect import Protocol, Side, detect
from lanner.metrics.protocols.http import HttpConnection, HttpExchange
from lanner.metrics.protocols.mysql import MysqlConnection, MysqlExchange
from lanner.metrics.stats import (
    HOST,
    ConnectionSummary,
    FileStats,
    HttpStats,
    MysqlStats,
    PeerStats,
    SyscallStats,
)
from lanner.state.fds import FdRole, FdType, L4Proto
from lanner.state.values import is_mapped_ipv4, is_unspecified, unmap_ipv4

EAGAIN, EPIPE, ECONNRESET, EINPROGRESS = 11, 32, 104, 115
EALREADY, EISCONN = 114, 106
AF_INET, AF_INET6 = 2, 10
OTHER = "<other>"
NEVER_CONNECTED = "closed_before_connected"
OTHER_SERIES = "{other}"
_PROBE_CHUNKS = 3  # payloads looked at before a connection is declared of unknown protocol

_READS = frozenset({"read", "readv", "pread", "preadv", "recv", "recvfrom", "recvmsg", "recvmmsg"})
_WRITES = frozenset(
    {"write", "writev", "pwrite", "pwritev", "send", "sendto", "sendmsg", "sendmmsg"}
)
# What the engine reads: socket and file I/O, connection set-up and tear-down, and the opens
# that name the files (the state layer needs those too). Selection must keep these.
METRICS_EVENT_TYPES: frozenset[str] = frozenset(
    {*_READS, *_WRITES}
    | {"connect", "accept", "accept4", "close", "socket", "bind", "listen", "shutdown"}
    | {"open", "openat", "openat2", "creat"}
)
_FILE_TYPES = frozenset({FdType.FILE, FdType.FILE_V2})
_SOCKET_TYPES = frozenset({FdType.IPV4_SOCK, FdType.IPV6_SOCK, FdType.UNIX_SOCK})
_RESULT_TYPES = (ParamType.ERRNO, ParamType.FD, ParamType.PID, ParamType.INT64)
_KIND_OTHER, _KIND_READ, _KIND_WRITE, _KIND_CONNECT, _KIND_ACCEPT, _KIND_CLOSE = range(6)

PeerKey = tuple[str, str, str, str, int]  # container, proc, role, remote ip, service port
ProtoKey = tuple[str, str, str, str, str]  # container, proc, role, method/command, path/query


class _CodeSpec:
    __slots__ = ("data_index", "fd32", "kind", "res_index")

    def __init__(self, info: Any) -> None:
        name = info.name
        self.kind = _KIND_OTHER
        if name in _READS:
            self.kind = _KIND_READ
        elif name in _WRITES:
            self.kind = _KIND_WRITE
        elif name == "connect":
            self.kind = _KIND_CONNECT
        elif name in ("accept", "accept4"):
            self.kind = _KIND_ACCEPT
        elif name == "close":
            self.kind = _KIND_CLOSE
        self.res_index: int | None = None
        self.fd32 = False
        self.data_index: int | None = None
        params = info.params
        if params and params[0].name in ("res", "fd") and params[0].type in _RESULT_TYPES:
            self.res_index = 0
        for index, param in enumerate(params):
            if param.name == "data" and param.type == ParamType.BYTEBUF:
                self.data_index = index
                break


class _Conn:
    """Per-connection tracking: peer labels, pending non-blocking connect, protocol decoder."""

    __slots__ = (
        "connect_start",
        "decoder",
        "fdinfo",
        "outgoing_is_client",
        "peer",
        "pending_connect",
        "probes",
        "protocol",
        "summary",
    )

    def __init__(self, fdinfo: Any, summary: ConnectionSummary) -> None:
        self.fdinfo = fdinfo
        self.summary = summary
        self.peer: PeerStats | None = None
        self.pending_connect = False
        self.connect_start = 0
        self.protocol: Protocol | None = None
        self.probes = 0
        self.decoder: HttpConnection | MysqlConnection | None = None
        self.outgoing_is_client = True


def _labels(event: Any) -> tuple[str, str]:
    thread = event.thread
    if thread is None:
        return HOST, "<NA>"
    return thread.container_id or HOST, thread.comm or "<NA>"


def _ip(value: str | None) -> str | None:
    if value is not None and is_mapped_ipv4(value):
        return unmap_ipv4(value)
    return value


class MetricsEngine:
    """Aggregates from exit events. Feed it with `process_batch` after `State.process`."""

    def __init__(
        self,
        *,
        max_connections: int = 65536,
        max_files: int = 4096,
        max_series: int = 4096,
        closed_history: int = 1024,
    ) -> None:
        self.max_connections = max_connections
        self.max_files = max_files
        self.max_series = max_series
        self.syscalls: dict[tuple[str, str, str], SyscallStats] = {}
        self.files: dict[tuple[str, str], FileStats] = {}
        self.dirs: dict[tuple[str, str], FileStats] = {}
        self.peers: dict[PeerKey, PeerStats] = {}
        self.listeners: dict[tuple[str, str, int], int] = {}
        self.http: dict[ProtoKey, HttpStats] = {}
        self.mysql: dict[ProtoKey, MysqlStats] = {}
        self.connections: OrderedDict[tuple[int, int], _Conn] = OrderedDict()
        self.closed: deque[ConnectionSummary] = deque(maxlen=closed_history)
        self.events = 0
        self.evicted_connections = 0
        self.last_ts = 0
        # Optional observers of each decoded exchange (connection summary, exchange).
        self.on_http: Callable[[ConnectionSummary, HttpExchange], None] | None = None
        self.on_mysql: Callable[[ConnectionSummary, MysqlExchange], None] | None = None
        self._specs: dict[int, _CodeSpec] = {}

    # ---- the consumer interface ----------------------------------------------------------

    def process_batch(self, events: Sequence[Any]) -> None:
        """Consume a batch the state layer has already processed."""
        exit_event = self._exit
        for event in events:
            if event.direction == "<":
                exit_event(event)
        self.events += len(events)
        if events:
            self.last_ts = events[-1].ts

    def needed_event_types(self) -> frozenset[str]:
        """The event types to keep for this engine when a source selects events."""
        return METRICS_EVENT_TYPES

    def on_event(self, event: Any) -> None:
        self.process_batch((event,))

    def forget_containers(self, container_ids: Collection[str]) -> int:
        """Drop every series of these containers (they exited: `lanner run`'s housekeeping),
        so /metrics stops reporting them and the series bounds make room for new ones.
        Returns how many series went. Open connections end with their processes anyway."""
        gone = set(container_ids)
        if not gone:
            return 0
        dropped = 0
        tables: list[dict[Any, Any]] = [
            self.syscalls,
            self.files,
            self.dirs,
            self.peers,
            self.listeners,
            self.http,
            self.mysql,
        ]
        for table in tables:
            for key in [key for key in table if key[0] in gone]:
                del table[key]
                dropped += 1
        return dropped

    def flush(self) -> None:
        """End of input: finish decoders of open connections (unanswered requests stay so)."""
        for conn in list(self.connections.values()):
            if conn.decoder is not None:
                conn.decoder.close(self.last_ts, report_unanswered=False)
        self.connections.clear()

    # ---- per event -----------------------------------------------------------------------

    def _exit(self, event: Any) -> None:
        spec = self._specs.get(event.code)
        if spec is None:
            spec = self._specs[event.code] = _CodeSpec(event.info)
        container, proc = _labels(event)
        key = (container, proc, event.type_name)
        stats = self.syscalls.get(key)
        if stats is None:
            stats = self.syscalls[key] = SyscallStats()
        stats.count += 1
        enter = event.enter
        if enter is not None:
            stats.latency.observe(event.ts - enter.ts)
        res = 0
        if spec.res_index is not None and event.nparams > spec.res_index:
            value = event.param(spec.res_index)
            if isinstance(value, int):
                res = value - (1 << 32) if 0x80000000 <= value <= 0xFFFFFFFF else value
                if res < 0:
                    stats.errors[errno_name(-res) or str(res)] += 1
        kind = spec.kind
        if kind == _KIND_OTHER:
            return
        if kind in (_KIND_READ, _KIND_WRITE):
            self._io(event, spec, res, kind == _KIND_WRITE, (container, proc))
        elif kind == _KIND_CONNECT:
            self._connect(event, res, container, proc)
        elif kind == _KIND_ACCEPT:
            self._accept(event, res, container, proc)
        else:
            self._close(event, res)

    def _io(
        self, event: Any, spec: _CodeSpec, res: int, outgoing: bool, labels: tuple[str, str]
    ) -> None:
        container, proc = labels
        fd = event.fd
        if fd is None:
            return
        fdtype = fd.type
        if fdtype in _FILE_TYPES:
            self._file_io(event, fd.name, res, outgoing, container)
            return
        if fdtype not in _SOCKET_TYPES:
            return
        conn = self._conn(event, fd, container, proc)
        if conn is None:
            return
        peer = conn.peer
        if fd.transport == L4Proto.UDP and fd.type != FdType.UNIX_SOCK and res >= 0:
            # A datagram socket may talk to a new peer with every datagram, and the fd
            # holds the batch's last one by now: the event's own tuple says whose it is. A
            # datagram read without its sender counts for the last peer known (the one a
            # reply comes from).
            datagram_peer = self._datagram_peer(event, fd, outgoing, labels)
            if datagram_peer is not None:
                peer = conn.peer = datagram_peer
        if res < 0:
            if peer is not None:
                if res in (-ECONNRESET, -EPIPE):
                    peer.resets += 1
                if conn.pending_connect and res != -EAGAIN:
                    conn.pending_connect = False
                    peer.connect_failed[errno_name(-res) or str(res)] += 1
            return
        if conn.pending_connect and peer is not None:
            conn.pending_connect = False
            peer.connect_ok += 1
            peer.connect_latency.observe(event.ts - conn.connect_start)
        summary = conn.summary
        if outgoing:
            summary.bytes_out += res
            if peer is not None:
                peer.bytes_out += res
        else:
            summary.bytes_in += res
            if peer is not None:
                peer.bytes_in += res
        if res == 0 or spec.data_index is None or conn.protocol is Protocol.UNKNOWN:
            return
        data = event.param(spec.data_index)
        if not isinstance(data, bytes) or not data:
            return
        decoder = conn.decoder
        if decoder is None:
            decoder = self._start_decoder(conn, data, outgoing)
            if decoder is None:
                return
        decoder.feed(event.ts, data, res, outgoing == conn.outgoing_is_client)

    def _start_decoder(
        self, conn: _Conn, data: bytes, outgoing: bool
    ) -> HttpConnection | MysqlConnection | None:
        protocol, side = detect(data)
        if protocol is Protocol.UNKNOWN:
            conn.probes += 1
            if conn.probes >= _PROBE_CHUNKS:
                conn.protocol = Protocol.UNKNOWN
            return None
        conn.protocol = protocol
        conn.summary.protocol = protocol.value
        conn.outgoing_is_client = (side is Side.CLIENT) == outgoing
        conn.summary.role = "client" if conn.outgoing_is_client else "server"
        summary = conn.summary
        decoder: HttpConnection | MysqlConnection
        if protocol is Protocol.HTTP:
            decoder = HttpConnection(lambda ex: self._http_exchange(summary, ex))
        else:
            decoder = MysqlConnection(lambda ex: self._mysql_exchange(summary, ex))
        conn.decoder = decoder
        return decoder

    def _file_io(self, event: Any, path: str, res: int, outgoing: bool, container: str) -> None:
        enter = event.enter
        latency = event.ts - enter.ts if enter is not None else -1
        slash = path.rfind("/")
        directory = path[: slash + 1] if slash >= 0 else path
        for table, name in ((self.files, path), (self.dirs, directory)):
            key = (container, name)
            stats = table.get(key)
            if stats is None:
                if len(table) >= self.max_files:
                    key = (container, OTHER)
                    stats = table.get(key)
                if stats is None:
                    stats = table[key] = FileStats()
            if res < 0:
                stats.errors += 1
            elif outgoing:
                stats.writes += 1
                stats.write_bytes += res
            else:
                stats.reads += 1
                stats.read_bytes += res
            stats.latency.observe(latency)

    # ---- connections ---------------------------------------------------------------------

    def _conn(self, event: Any, fd: Any, container: str, proc: str) -> _Conn | None:
        thread = event.thread
        fdnum = event.fdnum
        if thread is None or fdnum is None or fdnum < 0:
            return None
        key = (thread.pid, fdnum)
        conn = self.connections.get(key)
        if conn is not None and conn.fdinfo is fd:
            self.connections.move_to_end(key)
            if conn.peer is None:
                conn.peer = self._peer_of(fd, container, proc)
            return conn
        if conn is not None:
            self._finish(key, conn, event.ts, report_unanswered=True)
        summary = ConnectionSummary(
            container, proc, thread.pid, fdnum, fd.name, _role(fd), "", opened_ts=event.ts
        )
        conn = _Conn(fd, summary)
        conn.peer = self._peer_of(fd, container, proc)
        self.connections[key] = conn
        if len(self.connections) > self.max_connections:
            old_key, old = self.connections.popitem(last=False)
            self.evicted_connections += 1
            self._finish(old_key, old, event.ts, report_unanswered=False, keep=False)
        return conn

    def _peer_of(self, fd: Any, container: str, proc: str) -> PeerStats | None:
        if fd.type == FdType.UNIX_SOCK:
            return None
        role = _role(fd)
        remote = fd.cip if role == "server" else fd.sip
        port = fd.sport
        if remote is None or port is None:
            return None
        return self._peer((container, proc, role, _ip(remote) or "", int(port)))

    def _datagram_peer(
        self, event: Any, fd: Any, outgoing: bool, labels: tuple[str, str]
    ) -> PeerStats | None:
        """The peer of one datagram from its tuple: for a client the server it went to or
        came from, for a server the sender or receiver on the service port. None when the
        tuple names no peer (a datagram read without asking who sent it)."""
        role = _role(fd)
        local_port = fd.cport if role == "client" else fd.sport
        tup = event.param_by_name("tuple")
        if role == "unknown" or local_port is None or tup is None:
            return None
        if getattr(tup, "family", None) not in (AF_INET, AF_INET6):
            return None
        # Sent: local -> destination; received: sender -> local, or local -> peer on a
        # connected socket (the probe writes the kernel's peer when it has one).
        ends = ((tup.dip, tup.dport), (tup.sip, tup.sport))
        if not outgoing:
            ends = ends[::-1]
        if ends[0][1] == local_port and ends[1][1] != local_port:
            ends = ends[::-1]
        ip, port = ends[0]
        if not port and is_unspecified(ip):
            return None
        container, proc = labels
        if role == "client":
            return self._peer((container, proc, role, _ip(ip) or "", int(port)))
        return self._peer((container, proc, role, _ip(ip) or "", int(local_port)))

    def _peer(self, key: PeerKey) -> PeerStats:
        stats = self.peers.get(key)
        if stats is None:
            stats = self.peers[key] = PeerStats()
        return stats

    def _connect(self, event: Any, res: int, container: str, proc: str) -> None:
        enter = event.enter
        # The exit carries the address too (modern layout, the live probe); otherwise
        # param_by_name falls back to the enter event's.
        addr = event.param_by_name("addr")
        if getattr(addr, "family", None) not in (AF_INET, AF_INET6) and enter is not None:
            addr = enter.param_by_name("addr")
        family = getattr(addr, "family", None)
        ip, port = getattr(addr, "addr", None), getattr(addr, "port", None)
        if family not in (AF_INET, AF_INET6):
            tup = event.param_by_name("tuple")
            family = getattr(tup, "family", None)
            ip, port = getattr(tup, "dip", None), getattr(tup, "dport", None)
        if family not in (AF_INET, AF_INET6) or ip is None or port is None:
            return
        peer = self._peer((container, proc, "client", _ip(ip) or "", int(port)))
        if self._completes_pending_connect(event, res, peer):
            return
        peer.connect_attempts += 1
        start = enter.ts if enter is not None else event.ts
        if res == 0:
            peer.connect_ok += 1
            peer.connect_latency.observe(event.ts - start)
        elif res != -EINPROGRESS:
            peer.connect_failed[errno_name(-res) or str(res)] += 1
            return
        fd = event.fd
        if fd is None:
            return
        conn = self._conn(event, fd, container, proc)
        if conn is None:
            return
        if conn.summary.opened_ts != event.ts:
            # A connect on an fd already tracked: a new connection on a reused socket number.
            key = (conn.summary.pid, conn.summary.fd)
            self._finish(key, conn, event.ts, report_unanswered=True)
            conn = self._conn(event, fd, container, proc)
            if conn is None:
                return
        conn.peer = peer
        if res == -EINPROGRESS:
            conn.pending_connect = True
            conn.connect_start = start

    def _completes_pending_connect(self, event: Any, res: int, peer: PeerStats) -> bool:
        """A second connect on a socket whose non-blocking connect is in progress, to the same
        peer, is the caller asking how the first one ended (haproxy does): 0 or EISCONN is
        success, EALREADY still in progress, another error the failure; not a new attempt."""
        thread, fdnum = event.thread, event.fdnum
        if thread is None or fdnum is None:
            return False
        conn = self.connections.get((thread.pid, fdnum))
        if conn is None or not conn.pending_connect or conn.peer is not peer:
            return False
        if res in (-EALREADY, -EINPROGRESS):
            return True
        conn.pending_connect = False
        if res in (0, -EISCONN):
            peer.connect_ok += 1
            peer.connect_latency.observe(event.ts - conn.connect_start)
        else:
            peer.connect_failed[errno_name(-res) or str(res)] += 1
        return True

    def _accept(self, event: Any, res: int, container: str, proc: str) -> None:
        if res < 0:
            return
        tup = event.param_by_name("tuple")
        if getattr(tup, "family", None) not in (AF_INET, AF_INET6):
            return
        port = int(tup.dport or 0)
        key = (container, proc, port)
        self.listeners[key] = self.listeners.get(key, 0) + 1
        peer = self._peer((container, proc, "server", _ip(tup.sip) or "", port))
        peer.accepted += 1
        if event.fd is not None:
            conn = self._conn(event, event.fd, container, proc)
            if conn is not None:
                conn.peer = peer

    def _close(self, event: Any, res: int) -> None:
        fd = event.fd
        thread = event.thread
        if fd is None or thread is None or res < 0 or fd.type not in _SOCKET_TYPES:
            return
        key = (thread.pid, event.fdnum)
        conn = self.connections.get(key)
        if conn is None or conn.fdinfo is not fd:
            return
        if conn.peer is not None:
            conn.peer.closes += 1
            if conn.pending_connect:
                # A non-blocking connect whose outcome was read elsewhere (poll, then
                # getsockopt SO_ERROR), closed without moving a byte: it never worked.
                conn.pending_connect = False
                conn.peer.connect_failed[NEVER_CONNECTED] += 1
        self._finish(key, conn, event.ts, report_unanswered=True)

    def _finish(
        self,
        key: tuple[int, int],
        conn: _Conn,
        ts: int,
        *,
        report_unanswered: bool,
        keep: bool = True,
    ) -> None:
        if keep:
            self.connections.pop(key, None)
        if conn.decoder is not None:
            conn.decoder.close(ts, report_unanswered=report_unanswered)
        conn.summary.closed_ts = ts
        self.closed.append(conn.summary)

    # ---- decoded exchanges ---------------------------------------------------------------

    def _series_key(self, table: dict[Any, Any], key: ProtoKey) -> ProtoKey:
        if key in table or len(table) < self.max_series:
            return key
        return (key[0], key[1], key[2], key[3], OTHER_SERIES)

    def _http_exchange(self, summary: ConnectionSummary, exchange: HttpExchange) -> None:
        key = self._series_key(
            self.http,
            (summary.container, summary.proc, summary.role, exchange.method, exchange.path),
        )
        stats = self.http.get(key)
        if stats is None:
            stats = self.http[key] = HttpStats()
        stats.requests += 1
        stats.statuses[exchange.status or 0] += 1
        if exchange.is_error:
            stats.errors += 1
        stats.request_bytes += exchange.request_bytes
        stats.response_bytes += exchange.response_bytes
        latency = exchange.latency_ns
        if latency is not None:
            stats.latency.observe(latency)
        if self.on_http is not None:
            self.on_http(summary, exchange)

    def _mysql_exchange(self, summary: ConnectionSummary, exchange: MysqlExchange) -> None:
        key = self._series_key(
            self.mysql,
            (summary.container, summary.proc, summary.role, exchange.command, exchange.query),
        )
        stats = self.mysql.get(key)
        if stats is None:
            stats = self.mysql[key] = MysqlStats()
        stats.queries += 1
        if exchange.status == "error":
            stats.errors[str(exchange.error_code)] += 1
        elif exchange.status != "ok":
            stats.errors[exchange.status] += 1
        stats.rows += exchange.rows
        latency = exchange.latency_ns
        if latency is not None:
            stats.latency.observe(latency)
        if self.on_mysql is not None:
            self.on_mysql(summary, exchange)

    def open_connections(self) -> list[ConnectionSummary]:
        return [conn.summary for conn in self.connections.values()]


def _role(fd: Any) -> str:
    if fd.role == FdRole.SERVER:
        return "server"
    if fd.role == FdRole.CLIENT:
        return "client"
    return "unknown"
