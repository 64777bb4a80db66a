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


class CpuStats(ctypes.Structure):
    _fields_ = (
        ("events", ctypes.c_uint64),
        ("drops", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("scratch_fail", ctypes.c_uint64),
        ("pad", ctypes.c_uint64 * 4),
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
    )
