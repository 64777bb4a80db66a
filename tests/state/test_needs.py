"""The field -> state-handler mapping of field-aware selection."""

from __future__ import annotations

from lanner.fields.catalog import default_registry
from lanner.state.needs import (
    MEMORY_TYPES,
    SEND_TYPES,
    SOCKET_IO_TYPES,
    field_reads_fd_table,
    unneeded_state_types,
)

ALL = MEMORY_TYPES | SOCKET_IO_TYPES | SEND_TYPES


def test_unknown_reads_need_every_handler() -> None:
    assert unneeded_state_types(None) == frozenset()


def test_no_field_read_needs_none_of_them() -> None:
    assert unneeded_state_types(()) == ALL


def test_memory_fields_keep_memory_events_only() -> None:
    assert unneeded_state_types(["proc.vmrss", "proc.name"]) == SOCKET_IO_TYPES | SEND_TYPES
    assert unneeded_state_types(["thread.vmsize"]) == SOCKET_IO_TYPES | SEND_TYPES


def test_fd_fields_keep_io_events() -> None:
    for name in ("fd.name", "fd.sip", "evt.args", "evt.arg", "proc.fdopencount", "fd.types"):
        assert field_reads_fd_table(name), name
        assert unneeded_state_types([name]) == MEMORY_TYPES, name


def test_paths_resolved_through_the_table_keep_sends() -> None:
    assert unneeded_state_types(["proc.cwd"]) == MEMORY_TYPES | SOCKET_IO_TYPES


def test_unclassified_names_count_as_reading_everything() -> None:
    assert field_reads_fd_table("evt.some_future_field")
    assert field_reads_fd_table("fs.path.name")


def test_every_fd_field_of_the_registry_reads_the_table() -> None:
    for info in default_registry():
        if info.name.startswith(("fd.", "fdlist.", "fs.")):
            assert field_reads_fd_table(info.name), info.name
    # and the plain process and event facts do not
    for name in ("proc.name", "proc.cmdline", "user.name", "container.id", "evt.type", "evt.res"):
        assert not field_reads_fd_table(name), name
