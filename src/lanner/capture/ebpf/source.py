"""ProbeSource: the live eBPF capture, yielding batches of Event objects.

Loads probe.bpf.o, sets the in-kernel selection (which syscalls to emit), attaches, and drains the
ring buffer on a short timer (the probe submits with BPF_RB_NO_WAKEUP, so no wakeup per event).
Two ways to hook syscall exits, chosen with `mode`:
  - "tracepoint": the per-syscall tracepoints syscalls/sys_exit_<name>, attached only for the
    selected syscalls; every other syscall runs with no BPF program at all.
  - "raw": tp_btf/sys_exit, which runs for every syscall and filters on the selection table.
The selection can change at runtime (`update_selection`), e.g. when rules are reloaded.

Two options feed the metrics engine:
  - `latency`: a sys_enter hook is loaded (tp_btf/sys_enter in raw mode, the selected
    syscalls' sys_enter_<name> tracepoints in tracepoint mode) and notes when each selected
    syscall began; the probe then sends every exit's enter event (with that time) just before
    it, so exit minus enter is the syscall's latency, as in any scap stream. Off: exit events
    only, and no sys_enter hook.
  - `file_io`: read/write-family calls on regular files are sent too (without data); otherwise
    only socket I/O is.
And one for rules and captures: `file_data` sends file reads and writes with their first snaplen
bytes (a rule on `evt.type=write and fd.name=...`, or `lanner capture` of everything).

"raw" is the default: it needs no tracefs, and detaching it is instant where each per-syscall
tracepoint waits for an RCU grace period (closing a 50-syscall tracepoint probe: ~1.9 s, 3.7 s
with latency, detaches overlapped in threads). Its floor on unselected syscalls is higher
(bench/live_overhead.py with each probe loaded only for its own runs, getppid loop: raw
1.48-1.73x, tracepoints 1.29-1.33x, and +0.35 vs +0.02 with latency; docs/performance.md).
"""

from __future__ import annotations

import ctypes
import os
import struct
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from lanner.capture.ebpf import syscalls
from lanner.capture.ebpf.layout import MAX_CPUS, Globals, fill_enter_layouts
from lanner.capture.ebpf.libbpf import BpfError, BpfObject, num_possible_cpus
from lanner.capture.ebpf.ring import RingReader
from lanner.events.event import Event
from lanner.events.table import EVENT_TABLE

PROBE_OBJECT = Path(__file__).with_name("probe.bpf.o")
KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")
TRACEFS_SYSCALLS = (
    Path("/sys/kernel/tracing/events/syscalls"),
    Path("/sys/kernel/debug/tracing/events/syscalls"),
)
HEADER_LEN = 26
_RECORD_HEADER = struct.Struct("<QQIHI")  # ts, tid, len, code, nparams
DEFAULT_MODE = "raw"
_CAP_BPF = 39
_CAP_SYS_ADMIN = 21


class ProbeError(RuntimeError):
    """The probe cannot run here; the message says why in one line."""


@dataclass(frozen=True)
class CpuCounters:
    events: int
    drops: int
    bytes: int


@dataclass(frozen=True)
class ProbeStats:
    """Kernel-side counters (summed over CPUs and per CPU) and what userspace consumed."""

    events: int  # records the probe wrote to the ring
    drops: int  # records lost because the ring was full
    bytes: int
    per_cpu: tuple[CpuCounters, ...]
    consumed: int  # records userspace read
    undecodable: int  # records with an unknown code or a bad length (should stay 0)


def _has_capability(cap: int) -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    except OSError:
        return False
    return False


def check_environment(probe: Path = PROBE_OBJECT) -> str | None:
    """None when the probe can be loaded here, else a one-line reason."""
    reason = syscalls.check_architecture()
    if reason:
        return reason
    if os.geteuid() != 0 and not (_has_capability(_CAP_BPF) or _has_capability(_CAP_SYS_ADMIN)):
        return "the eBPF probe needs root (or CAP_BPF and CAP_PERFMON)"
    if not KERNEL_BTF.exists():
        return f"the kernel has no BTF ({KERNEL_BTF} missing): a CO-RE probe cannot load"
    if not probe.exists():
        return f"the eBPF probe is not built ({probe} missing): run `make probe`"
    return None


def boot_to_epoch_ns() -> int:
    """What to add to CLOCK_BOOTTIME nanoseconds to get nanoseconds since the epoch."""
    best: tuple[int, int] | None = None
    for _ in range(5):  # the pair with the smallest gap between the two reads
        t0 = time.time_ns()
        boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        t1 = time.time_ns()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, (t0 + t1) // 2 - boot)
    assert best is not None
    return best[1]


def tracefs_syscalls() -> Path | None:
    for path in TRACEFS_SYSCALLS:
        if path.is_dir():
            return path
    return None


FILE_IO_DATA = 2  # lanner_g.file_io_enabled: file reads/writes with data (lanner_probe.h)


class ProbeSource:
    """Live events from the kernel. Use as a context manager, or call close()."""

    def __init__(
        self,
        selected_event_names: Iterable[str],
        *,
        mode: str = DEFAULT_MODE,
        snaplen: int = 80,
        ring_bytes: int = 16 << 20,
        poll_interval: float = 0.005,
        probe: Path = PROBE_OBJECT,
        trace_self: bool = False,
        log_dir: Path | None = None,
        latency: bool = False,
        file_io: bool = False,
        file_data: bool = False,
    ) -> None:
        if mode not in ("tracepoint", "raw"):
            raise ValueError(f"unknown probe mode {mode!r} (tracepoint or raw)")
        reason = check_environment(probe)
        if reason:
            raise ProbeError(reason)
        if mode == "tracepoint" and tracefs_syscalls() is None:
            mode = "raw"  # per-syscall tracepoints need tracefs; tp_btf does not
        self.mode = mode
        self.poll_interval = poll_interval
        self._closed = False
        self._num = 0
        self._consumed = 0
        self._undecodable = 0
        self._selection = syscalls.select(())
        programs = ["lanner_exec", "lanner_procexit"]
        programs.append("lanner_tp_sys_exit" if mode == "tracepoint" else "lanner_sys_exit")
        if latency:
            programs.append("lanner_tp_sys_enter" if mode == "tracepoint" else "lanner_sys_enter")
        self.latency = latency
        ring_bytes = 1 << max(ring_bytes - 1, 4096).bit_length()  # a power of two
        try:
            self._obj = BpfObject(
                probe,
                autoload=programs,
                max_entries={
                    "lanner_ring": ring_bytes,
                    "lanner_scratch": min(num_possible_cpus(), MAX_CPUS),
                },
            )
        except BpfError as exc:
            raise ProbeError(self._save_log(exc, log_dir)) from None
        try:
            self._bss = self._obj.mmap_map(".bss")
            if self._obj.map_value_size(".bss") < ctypes.sizeof(Globals):
                raise ProbeError(
                    f"{probe} does not match this lanner version (globals layout): run `make probe`"
                )
            self._globals = Globals.from_buffer(self._bss)
            self._ring = RingReader(self._obj.map_fd("lanner_ring"), ring_bytes)
            g = self._globals
            g.self_tgid = 0 if trace_self else os.getpid()
            g.snaplen = max(0, min(snaplen, 4096))
            g.boot_to_epoch_ns = boot_to_epoch_ns()
            self._file_io = file_io
            self.file_data = file_data
            if latency:
                fill_enter_layouts(g)
                g.latency_enabled = 1
            self._obj.attach("lanner_exec")
            self._obj.attach("lanner_procexit")
            if mode == "raw":
                self._obj.attach("lanner_sys_exit")
            if latency and mode == "raw":
                self._obj.attach("lanner_sys_enter")
            self.update_selection(selected_event_names)
            g.active = 1
        except (BpfError, OSError) as exc:
            self.close()
            raise ProbeError(f"cannot start the eBPF probe: {exc}") from None

    @staticmethod
    def _save_log(exc: BpfError, log_dir: Path | None) -> str:
        lines = exc.log
        if not lines:
            return str(exc)
        directory = log_dir or Path(tempfile.gettempdir())
        path = directory / f"lanner-probe-load-{os.getpid()}.log"
        path.write_text("".join(lines))
        return f"{exc} (libbpf and verifier log: {path})"

    # ---- selection ----

    @property
    def selection(self) -> syscalls.Selection:
        return self._selection

    def update_selection(self, names: Iterable[str]) -> syscalls.Selection:
        """Capture exactly the syscalls behind these event-type names from now on."""
        new = syscalls.select(names)
        enabled = self._globals.syscall_enabled
        numbers = syscalls.SYSCALL_NUMBERS_X86_64
        if self.mode == "tracepoint":
            base = tracefs_syscalls()
            for name in sorted(new.syscalls - self._selection.syscalls):
                if base is not None and (base / f"sys_exit_{name}").is_dir():
                    self._obj.attach_tracepoint(
                        "lanner_tp_sys_exit", "syscalls", f"sys_exit_{name}"
                    )
                    if self.latency:
                        self._obj.attach_tracepoint(
                            "lanner_tp_sys_enter", "syscalls", f"sys_enter_{name}"
                        )
        for name in syscalls.CAPTURABLE:
            enabled[numbers[name]] = new.mark(name)
        if self.mode == "tracepoint":
            for name in sorted(self._selection.syscalls - new.syscalls):
                self._obj.detach(f"syscalls/sys_exit_{name}")
                self._obj.detach(f"syscalls/sys_enter_{name}")
        self._globals.procexit_enabled = 1 if new.procexit else 0
        self._selection = new
        return new

    @property
    def snaplen(self) -> int:
        """Bytes of I/O data captured per socket read/write/send/recv."""
        return int(self._globals.snaplen)

    @snaplen.setter
    def snaplen(self, value: int) -> None:
        self._globals.snaplen = max(0, min(value, 4096))

    @property
    def file_io(self) -> bool:
        """Whether reads and writes on regular files are captured (at least without data)."""
        return bool(self._globals.file_io_enabled)

    @file_io.setter
    def file_io(self, value: bool) -> None:
        self._file_io = value
        self.file_data = self.file_data

    @property
    def file_data(self) -> bool:
        """Whether reads and writes on regular files are captured with their data."""
        return bool(self._globals.file_io_enabled == FILE_IO_DATA)

    @file_data.setter
    def file_data(self, value: bool) -> None:
        self._globals.file_io_enabled = FILE_IO_DATA if value else (1 if self._file_io else 0)

    # ---- reading ----

    def read_records(self, max_records: int = 4096) -> list[bytes]:
        """The raw scap event records waiting in the ring (non-blocking)."""
        records = self._ring.read(max_records)
        self._consumed += len(records)
        return records

    def decode(self, records: list[bytes]) -> list[Event]:
        """Event objects for raw records; params stay undecoded until asked for."""
        events: list[Event] = []
        append = events.append
        num = self._num
        unpack = _RECORD_HEADER.unpack_from
        table = EVENT_TABLE
        table_size = len(table)
        bad = 0
        for rec in records:
            size = len(rec)
            if size < HEADER_LEN:
                bad += 1
                continue
            ts, tid, _length, code, nparams = unpack(rec)
            info = table[code] if code < table_size else None
            # the probe always writes an event's full table layout: anything else is corrupt
            if info is None or nparams != info.nparams or HEADER_LEN + 2 * nparams > size:
                bad += 1
                continue
            num += 1
            append(Event(num, ts, tid, 0, info, nparams, rec, HEADER_LEN, size))
        self._undecodable += bad
        self._num = num
        return events

    def poll(self, max_records: int = 4096) -> list[Event]:
        """One non-blocking drain: the events waiting now (maybe none)."""
        return self.decode(self.read_records(max_records))

    def batches(
        self, idle_timeout: float | None = None, max_records: int = 4096
    ) -> Iterator[list[Event]]:
        """Non-empty batches of events as they arrive.

        Ends on close(), or after `idle_timeout` seconds without any event when given.
        """
        idle_since = time.monotonic()
        while not self._closed:
            records = self.read_records(max_records)
            if records:
                idle_since = time.monotonic()
                events = self.decode(records)
                if events:
                    yield events
                continue
            if idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout:
                return
            time.sleep(self.poll_interval)

    def stats(self) -> ProbeStats:
        cpus = min(num_possible_cpus(), MAX_CPUS)
        per_cpu = tuple(
            CpuCounters(c.events, c.drops, c.bytes) for c in list(self._globals.cpu)[:cpus]
        )
        return ProbeStats(
            events=sum(c.events for c in per_cpu),
            drops=sum(c.drops for c in per_cpu),
            bytes=sum(c.bytes for c in per_cpu),
            per_cpu=per_cpu,
            consumed=self._consumed,
            undecodable=self._undecodable,
        )

    # ---- teardown ----

    def pause(self) -> None:
        """Stop emitting (the probe's master switch; programs stay attached): what is in the
        ring can then be drained to the end, however busy the node is."""
        if not self._closed:
            self._globals.active = 0

    def close(self) -> None:
        """Detach every program and free the maps; idempotent."""
        if self._closed:
            return
        self._closed = True
        obj = getattr(self, "_obj", None)
        if obj is not None:
            obj.detach_all()
        ring = getattr(self, "_ring", None)
        if ring is not None:
            ring.close()
        if getattr(self, "_globals", None) is not None:
            del self._globals
        bss = getattr(self, "_bss", None)
        if bss is not None:
            bss.close()
        if obj is not None:
            obj.close()

    def __enter__(self) -> ProbeSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
