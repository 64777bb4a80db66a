"""A small ctypes binding to libbpf.so.1: open, load, attach and detach a BPF object, find its maps.

Only what the probe needs. libbpf's own messages (including the verifier log of a failed load) are
captured through its print callback, formatted with libc's vsnprintf, and kept in `BpfObject.log`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

_VP = ctypes.c_void_p


class BpfError(RuntimeError):
    """A libbpf call failed; the message is one line for the user, `log` what libbpf printed."""

    def __init__(self, message: str, log: list[str] | None = None) -> None:
        super().__init__(message)
        self.log = log or []


def _load_lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("bpf") or "libbpf.so.1"
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise BpfError(f"libbpf not found ({exc}); install it: apt-get install -y libbpf1") from exc


_loaded: list[ctypes.CDLL] = []  # libbpf once loaded and typed
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, _VP]
_libc.vsnprintf.restype = ctypes.c_int

_PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, _VP)
_log_sink: list[str] = []


# One buffer for every message: a failed load prints the whole verifier log as one message.
_print_buf = ctypes.create_string_buffer(8 << 20)


def _print_cb(level: int, fmt: bytes, va_list: int) -> int:
    n = _libc.vsnprintf(_print_buf, len(_print_buf), fmt, va_list)
    if n > 0:
        _log_sink.append(_print_buf.value.decode("utf-8", "replace"))
    return 0


_print_ref = _PRINT_FN(_print_cb)  # keep the callback alive for the process lifetime

_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "bpf_object__open_file": (_VP, [ctypes.c_char_p, _VP]),
    "bpf_object__load": (ctypes.c_int, [_VP]),
    "bpf_object__close": (None, [_VP]),
    "bpf_object__next_program": (_VP, [_VP, _VP]),
    "bpf_object__find_map_by_name": (_VP, [_VP, ctypes.c_char_p]),
    "bpf_program__name": (ctypes.c_char_p, [_VP]),
    "bpf_program__set_autoload": (ctypes.c_int, [_VP, ctypes.c_bool]),
    "bpf_program__attach": (_VP, [_VP]),
    "bpf_program__attach_tracepoint": (_VP, [_VP, ctypes.c_char_p, ctypes.c_char_p]),
    "bpf_link__destroy": (ctypes.c_int, [_VP]),
    "bpf_map__fd": (ctypes.c_int, [_VP]),
    "bpf_map__set_max_entries": (ctypes.c_int, [_VP, ctypes.c_uint32]),
    "bpf_map__max_entries": (ctypes.c_uint32, [_VP]),
    "bpf_map__value_size": (ctypes.c_uint32, [_VP]),
    "libbpf_set_print": (_VP, [_VP]),
    "libbpf_num_possible_cpus": (ctypes.c_int, []),
}


def lib() -> ctypes.CDLL:
    """libbpf, loaded and typed on first use."""
    if not _loaded:
        loaded = _load_lib()
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(loaded, name)
            fn.restype = restype
            fn.argtypes = argtypes
        loaded.libbpf_set_print(ctypes.cast(_print_ref, _VP))
        _loaded.append(loaded)
    return _loaded[0]


def _errno_text() -> str:
    err = ctypes.get_errno()
    return os.strerror(err) if err else "unknown error"


class BpfObject:
    """One opened and loaded BPF object file with the links it attached."""

    def __init__(
        self,
        path: Path,
        *,
        autoload: Iterable[str] | None = None,
        max_entries: dict[str, int] | None = None,
    ) -> None:
        self.path = path
        self.log: list[str] = []
        self._links: dict[str, list[int]] = {}
        self.programs: dict[str, int] = {}
        libbpf = lib()
        start = len(_log_sink)
        obj = libbpf.bpf_object__open_file(str(path).encode(), None)
        if not obj:
            raise BpfError(f"cannot open BPF object {path}: {_errno_text()}")
        self._obj: int | None = obj
        prog = None
        wanted = set(autoload) if autoload is not None else None
        while True:
            prog = libbpf.bpf_object__next_program(obj, prog)
            if not prog:
                break
            name = libbpf.bpf_program__name(prog).decode()
            self.programs[name] = prog
            if wanted is not None:
                libbpf.bpf_program__set_autoload(prog, name in wanted)
        for map_name, entries in (max_entries or {}).items():
            libbpf.bpf_map__set_max_entries(self._map(map_name), entries)
        err = libbpf.bpf_object__load(obj)
        self.log = _log_sink[start:]
        del _log_sink[start:]
        if err:
            self.close()
            raise BpfError(f"cannot load BPF object {path}: {os.strerror(-err)}", self.log)

    def _map(self, name: str) -> int:
        assert self._obj is not None
        found = lib().bpf_object__find_map_by_name(self._obj, name.encode())
        if not found:
            raise BpfError(f"BPF object {self.path} has no map {name!r}")
        return int(found)

    def map_fd(self, name: str) -> int:
        return int(lib().bpf_map__fd(self._map(name)))

    def map_value_size(self, name: str) -> int:
        return int(lib().bpf_map__value_size(self._map(name)))

    def map_max_entries(self, name: str) -> int:
        return int(lib().bpf_map__max_entries(self._map(name)))

    def mmap_map(self, name: str) -> mmap.mmap:
        """Map an mmap-able map (the .bss of globals) into this process, read-write."""
        size = self.map_value_size(name)
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
        return mmap.mmap(
            self.map_fd(name), pages, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
        )

    def attach(self, program: str, key: str | None = None) -> None:
        """Attach a program at the hook its section names (tp_btf/..., ...)."""
        link = lib().bpf_program__attach(self.programs[program])
        if not link:
            raise BpfError(f"cannot attach {program}: {_errno_text()}")
        self._links.setdefault(key or program, []).append(link)

    def attach_tracepoint(self, program: str, category: str, name: str) -> None:
        link = lib().bpf_program__attach_tracepoint(
            self.programs[program], category.encode(), name.encode()
        )
        if not link:
            raise BpfError(
                f"cannot attach {program} to tracepoint {category}/{name}: {_errno_text()}"
            )
        self._links.setdefault(f"{category}/{name}", []).append(link)

    def attached(self) -> set[str]:
        return set(self._links)

    def detach(self, key: str) -> None:
        for link in self._links.pop(key, []):
            lib().bpf_link__destroy(link)

    def detach_all(self) -> None:
        """Destroy every link. Detaching a tracepoint waits for an RCU grace period (~70 ms
        here); the destroys run in threads (ctypes releases the GIL) so the waits overlap."""
        links = [link for key in list(self._links) for link in self._links.pop(key)]
        if len(links) < 4:
            for link in links:
                lib().bpf_link__destroy(link)
            return
        destroy = lib().bpf_link__destroy
        with ThreadPoolExecutor(max_workers=min(64, len(links))) as pool:
            list(pool.map(destroy, links))

    def close(self) -> None:
        self.detach_all()
        if self._obj is not None:
            lib().bpf_object__close(self._obj)
            self._obj = None


def num_possible_cpus() -> int:
    n = int(lib().libbpf_num_possible_cpus())
    return n if n > 0 else os.cpu_count() or 1
