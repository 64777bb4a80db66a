"""Process-list entries written before libs 0.10 (loginuid right after root) seed the
loginuid the state reports, as libscap reads them."""

from __future__ import annotations

import struct

from lanner.capture.scap_records import parse_proc_list
from lanner.state.state import State


def _lstr(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<H", len(raw)) + raw


def _v9_entry(tid: int, tail: bytes) -> bytes:
    """One PL V9 entry (length-prefixed) whose fields end with root, then `tail`."""
    body = struct.pack("<QQQQQ", tid, tid, 1, tid, tid)  # tid pid ptid sid vpgid
    body += _lstr("sshd") + _lstr("/usr/sbin/sshd") + _lstr("/usr/sbin/sshd")
    body += _lstr("sshd\0") + _lstr("/")  # args, cwd
    body += struct.pack("<QIII", 1024, 0, 0, 0)  # fdlimit flags uid gid
    body += struct.pack("<IIIQQ", 0, 0, 0, 0, 0)  # vm sizes, page faults
    body += _lstr("")  # env
    body += struct.pack("<qq", tid, tid) + _lstr("") + _lstr("/")  # vtid vpid cgroups root
    body += tail
    return struct.pack("<I", 4 + len(body)) + body  # the length counts itself


def test_pre_0_10_entry_has_loginuid_right_after_root() -> None:
    old = _v9_entry(10, struct.pack("<I", 501))
    old_full = _v9_entry(11, struct.pack("<IBQQQ", 502, 0, 0, 0, 0))
    new = _v9_entry(12, struct.pack("<QII", 7, 34817, 503) + bytes(1 + 24 + 1 + 24 + 2 + 8))
    entries = parse_proc_list(old + old_full + new, 9)
    assert [e.loginuid for e in entries] == [501, 502, 503]
    assert (entries[0].tty, entries[2].tty, entries[2].pidns_init_start_ts) == (None, 34817, 7)
    state = State()
    for entry in entries:
        state.seed(entry)
    thread = state.thread(10)
    assert thread is not None and thread.loginuid == 501
