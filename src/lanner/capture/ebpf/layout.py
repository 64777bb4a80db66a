"""What the probe shares with Python besides its records: the .bss globals.

`Globals` mirrors `struct lanner_globals` of lanner_probe.h (the loader checks the sizes match).
The records themselves are described by the one event table (lanner.events.table): the probe
writes each exit event in its modern layout (every argument on the exit event), which is the
table's entry for that code; tests/capture/test_ebpf_units.py checks the probe's parameter
counts against the table.
"""

from __future__ import annotations

import ctypes

MAX_SYSCALLS = 512
MAX_CPUS = 256
MAX_CODES = 512
ENTER_MAX_PARAMS = 6
ENTER_MAX_EXIT_PARAMS = 8


class CpuStats(ctypes.Structure):
    _fields_ = (
        ("events", ctypes.c_uint64),
        ("drops", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("scratch_fail", ctypes.c_uint64),
        ("pad", ctypes.c_uint64 * 4),
    )


class EnterLayout(ctypes.Structure):
    """How the probe builds the enter event of one exit code (see probe_enter.h)."""

    _fields_ = (
        ("emit", ctypes.c_uint8),
        ("nparams", ctypes.c_uint8),
        ("src", ctypes.c_uint8 * ENTER_MAX_PARAMS),
    )


class Globals(ctypes.Structure):
    _fields_ = (
        ("self_tgid", ctypes.c_uint32),
        ("snaplen", ctypes.c_uint32),
        ("boot_to_epoch_ns", ctypes.c_uint64),
        ("procexit_enabled", ctypes.c_uint32),
        ("active", ctypes.c_uint32),
        ("syscall_enabled", ctypes.c_uint8 * MAX_SYSCALLS),
        ("cpu", CpuStats * MAX_CPUS),
        ("latency_enabled", ctypes.c_uint32),
        ("file_io_enabled", ctypes.c_uint32),
        ("enter_layout", EnterLayout * MAX_CODES),
    )


# Exits whose enter event the probe never builds: a clone child has no enter of its own, and an
# execve exit belongs to the new image (its latency spans the whole program load).
_NO_ENTER_EVENT = frozenset({"clone", "clone3", "fork", "vfork", "execve", "execveat"})


def enter_layouts() -> dict[int, tuple[int, ...]]:
    """Exit code -> for each parameter of its enter event (code - 1), the exit parameter it copies.

    Modern exit layouts carry every enter parameter under the same name and type; an exit that
    does not (dup's `oldfd` for the enter's `fd`, ...) or is too large for the probe's loops gets
    no enter event, hence no latency.
    """
    from lanner.events.table import EVENT_TABLE

    layouts: dict[int, tuple[int, ...]] = {}
    for code in range(1, min(len(EVENT_TABLE), MAX_CODES)):
        exit_info, enter_info = EVENT_TABLE[code], EVENT_TABLE[code - 1]
        if exit_info is None or enter_info is None or exit_info.direction != "<":
            continue
        if enter_info.direction != ">" or enter_info.name != exit_info.name:
            continue
        if exit_info.name in _NO_ENTER_EVENT:
            continue
        if exit_info.nparams > ENTER_MAX_EXIT_PARAMS or enter_info.nparams > ENTER_MAX_PARAMS:
            continue
        where = {(p.name, p.type): i for i, p in enumerate(exit_info.params)}
        sources = [where.get((p.name, p.type)) for p in enter_info.params]
        if all(s is not None for s in sources):
            layouts[code] = tuple(s for s in sources if s is not None)
    return layouts


def fill_enter_layouts(g: Globals) -> None:
    """Write enter_layouts() into the probe's table."""
    for code, sources in enter_layouts().items():
        slot = g.enter_layout[code]
        slot.nparams = len(sources)
        for k, index in enumerate(sources):
            slot.src[k] = index
        slot.emit = 1
