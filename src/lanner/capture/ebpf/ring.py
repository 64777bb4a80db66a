"""Reading a BPF ring buffer by mmap, with no callback per record.

Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (read-write for us); from page 1
the producer position, then the data area mapped twice back to back, so a record that wraps around
is contiguous in the mapping. Each record is an 8-byte header {u32 len with BUSY (bit 31) and
DISCARD (bit 30) flags; u32 page offset} followed by the payload, padded to 8 bytes.
"""

from __future__ import annotations

import mmap
import struct

_BUSY = 1 << 31
_DISCARD = 1 << 30
_LEN_MASK = _DISCARD - 1
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


class RingReader:
    """Consumer side of one BPF_MAP_TYPE_RINGBUF map."""

    def __init__(self, map_fd: int, size: int) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError(f"ring size must be a power of two, got {size}")
        page = mmap.PAGESIZE
        self.size = size
        self._mask = size - 1
        self._page = page
        self._cons = mmap.mmap(
            map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._prod = mmap.mmap(
            map_fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
        )
        self._view = memoryview(self._prod)

    def pending(self) -> int:
        """Bytes written by the producer and not consumed yet."""
        return int(_U64.unpack_from(self._prod, 0)[0] - _U64.unpack_from(self._cons, 0)[0])

    def read(self, max_records: int = 4096) -> list[bytes]:
        """Copy out up to `max_records` committed records (oldest first) and release their space."""
        cons = _U64.unpack_from(self._cons, 0)[0]
        prod = _U64.unpack_from(self._prod, 0)[0]
        view = self._view
        base = self._page
        mask = self._mask
        unpack = _U32.unpack_from
        out: list[bytes] = []
        while cons < prod and len(out) < max_records:
            at = base + (cons & mask)
            header = unpack(view, at)[0]
            if header & _BUSY:
                break  # reserved but not committed yet: stop here, keep order
            length = header & _LEN_MASK
            if not header & _DISCARD:
                out.append(bytes(view[at + 8 : at + 8 + length]))
            cons += (length + 8 + 7) & ~7
        _U64.pack_into(self._cons, 0, cons)
        return out

    def close(self) -> None:
        self._view.release()
        self._prod.close()
        self._cons.close()
