"""ThreadTable and FdTable behaviour: indexes, lineage, reparenting, purging."""

from __future__ import annotations

from lanner.state.fds import FdInfo, FdTable, FdType
from lanner.state.threads import ThreadInfo, ThreadTable, make_unknown_thread


def _thread(tid: int, pid: int, ptid: int, comm: str = "") -> ThreadInfo:
    info = ThreadInfo(tid, pid, ptid)
    info.comm = comm or f"t{tid}"
    return info


def _table() -> ThreadTable:
    table = ThreadTable()
    table.add(_thread(1, 1, 0, "init"))
    table.add(_thread(10, 10, 1, "bash"))
    table.add(_thread(20, 20, 10, "python"))
    table.add(_thread(21, 20, 10, "python-worker"))
    return table


def test_main_thread_group_and_children() -> None:
    table = _table()
    worker = table.threads[21]
    main = table.main_thread(worker)
    assert main is not None and main.tid == 20
    assert {t.tid for t in table.group(20)} == {20, 21}
    assert {t.tid for t in table.children(10)} == {20, 21}


def test_ancestors_walk_and_loop_protection() -> None:
    table = _table()
    names = [t.comm for t in table.ancestors(table.threads[20])]
    assert names == ["bash", "init"]
    # A parent loop (corrupt input) must end the walk, not spin.
    table.set_ptid(table.threads[1], 20)
    walked = [t.tid for t in table.ancestors(table.threads[20])]
    assert walked == [10, 1]


def test_reaper_prefers_live_thread_then_subreaper_then_init() -> None:
    table = _table()
    table.add(_thread(30, 30, 20, "child"))
    assert table.find_reaper(table.threads[20]) == 21
    table.threads[21].exited = True
    assert table.find_reaper(table.threads[20]) == 1
    table.threads[10].is_subreaper = True
    assert table.reparent_children(table.threads[20]) == 10
    assert table.threads[30].ptid == 10
    assert 30 in {t.tid for t in table.children(10)}


def test_bounded_table_purges_exited_first() -> None:
    table = ThreadTable(max_size=4)
    for tid in range(1, 5):
        table.add(_thread(tid, tid, 0))
    table.threads[2].exited = True
    table.add(_thread(99, 99, 0))
    assert 99 in table and 2 not in table
    assert len(table) <= 4
    assert table.counters()["dropped"] >= 1


def test_unknown_thread_placeholder() -> None:
    info = make_unknown_thread(42)
    assert (info.tid, info.pid, info.ptid, info.comm, info.incomplete) == (42, 42, -1, "<NA>", True)


def test_lookup_counters() -> None:
    table = _table()
    assert table.get(10) is not None
    assert table.get(12345) is None
    counters = table.counters()
    assert counters["lookups"] == 2 and counters["misses"] == 1


def test_fd_kinds_and_clone() -> None:
    table = FdTable(7)
    table.add(FdInfo(3, FdType.FILE_V2, "/etc/passwd"))
    sock = table.add(FdInfo(4, FdType.IPV6_SERVSOCK, "::1:80"))
    assert (sock.typestring, sock.typechar, sock.is_socket) == ("ipv6", "6", True)
    assert table.get(3) is not None and table.get(3).typechar == "f"  # type: ignore[union-attr]
    child = table.clone(8)
    child.remove(3)
    assert 3 in table and 3 not in child
    assert child.get(4) is not sock and child.get(4).name == "::1:80"  # type: ignore[union-attr]
    assert FdInfo(5, FdType.PIDFD).typechar == "P"
    assert FdInfo(6, FdType.UNSUPPORTED).typechar == "X"


def test_fd_copy_carries_every_slot() -> None:
    info = FdInfo(3, 1, "/x")
    for index, slot in enumerate(FdInfo.__slots__):
        setattr(info, slot, f"value-{index}")
    same = info.copy()
    renumbered = info.copy(9)
    for slot in FdInfo.__slots__:
        assert getattr(same, slot) == getattr(info, slot), slot
        if slot != "fd":
            assert getattr(renumbered, slot) == getattr(info, slot), slot
    assert renumbered.fd == 9
