"""The event table: codes, names, directions and parameter signatures."""

from __future__ import annotations

import re

from lanner.events.table import (
    EF_LARGE_PAYLOAD,
    EVENT_TABLE,
    ParamType,
    codes_for_name,
    event_info,
    event_type_names,
    syscall_name,
)
from tests.conftest import compat_path

# Codes pinned by the .scap format and used by other packages.
KNOWN_CODES = {
    2: ("open", ">"),
    3: ("open", "<"),
    186: ("procexit", ">"),
    222: ("clone", ">"),
    223: ("clone", "<"),
    234: ("procinfo", ">"),
    272: ("container", ">"),
    292: ("execve", ">"),
    293: ("execve", "<"),
    306: ("openat", ">"),
    307: ("openat", "<"),
    322: ("pluginevent", ">"),
    324: ("container", ">"),
    330: ("execveat", ">"),
}


def test_known_codes_have_their_names_and_directions() -> None:
    for code, (name, direction) in KNOWN_CODES.items():
        info = event_info(code)
        assert info is not None, code
        assert (info.name, info.direction) == (name, direction), code


def test_even_codes_enter_odd_codes_exit() -> None:
    for info in EVENT_TABLE:
        assert info.direction == (">" if info.code % 2 == 0 else "<")


def test_large_payload_only_on_container_json2_and_plugin_events() -> None:
    large = {info.code for info in EVENT_TABLE if info.flags & EF_LARGE_PAYLOAD}
    assert {322, 324} <= large
    assert 3 not in large


def test_unknown_codes_give_none() -> None:
    assert event_info(-1) is None
    assert event_info(100000) is None


def test_open_exit_signature() -> None:
    info = event_info(3)
    assert info is not None
    assert [(p.name, p.type) for p in info.params[:3]] == [
        ("fd", ParamType.FD),
        ("name", ParamType.FSPATH),
        ("flags", ParamType.FLAGS32),
    ]
    assert info.params[2].flag_table == "file_flags"


def test_syscall_codes_and_type_names() -> None:
    assert syscall_name(75) == "mprotect"
    assert syscall_name(0) is None
    names = event_type_names()
    assert {"open", "openat", "execve", "mprotect", "arch_prctl", "connect"} <= names
    assert "NA" not in names
    assert set(codes_for_name("openat")) >= {102, 103, 306, 307}


# Parameter types libs changed after sysdig 0.29.3 (same wire size, new meaning).
UPSTREAM_TYPE_CHANGES = {
    ("listen", "backlog", "UINT32", "INT32"),
    ("mmap", "res", "UINT64", "ERRNO"),
    ("mmap2", "res", "UINT64", "ERRNO"),
    ("execve", "tty", "INT32", "UINT32"),
    ("execve", "loginuid", "INT32", "UID"),
    ("execveat", "tty", "INT32", "UINT32"),
    ("execveat", "loginuid", "INT32", "UID"),
}

_SIGNATURE = re.compile(r"^([<>]) (\S+)\((.*)\)$")


def _same_signature(name: str, ours: list[tuple[str, str]], theirs: list[tuple[str, str]]) -> bool:
    """sysdig 0.29.3 predates some appended params and the ENUMFLAGS types: compare the
    common prefix, FLAGS and ENUMFLAGS of the same width being equal."""
    if len(ours) < len(theirs):
        return False
    for (t1, n1), (t2, n2) in zip(ours, theirs, strict=False):
        if n1 != n2.replace("plugin ID", "plugin_id"):
            return False
        changed = (name, n1, t2, t1) in UPSTREAM_TYPE_CHANGES
        if t1.replace("ENUMFLAGS", "FLAGS") != t2 and not changed:
            return False
    return True


def test_signatures_agree_with_sysdig_event_list() -> None:
    """Every `sysdig -L` signature exists in our table with the same param names and types."""
    listing = compat_path("sysdig-0.29.3-reference", "sysdig-0.29.3-events.txt")
    ours: dict[tuple[str, str], list[list[tuple[str, str]]]] = {}
    for info in EVENT_TABLE:
        sig = [(p.type.name, p.name) for p in info.params]
        ours.setdefault((info.direction, info.name), []).append(sig)
    mismatches = []
    for line in listing.read_text().splitlines():
        match = _SIGNATURE.match(line.strip())
        if not match:
            continue
        direction, name, params = match.groups()
        theirs: list[tuple[str, str]] = []
        for param in params.split(","):
            words = param.split()
            if len(words) >= 2:
                theirs.append((words[0].replace("DYNAMIC", "DYN"), " ".join(words[1:])))
        candidates = ours.get((direction, name), [])

        if not any(_same_signature(name, sig, theirs) for sig in candidates):
            mismatches.append(line)
    assert mismatches == [], mismatches


# Exit events the probe writes in their modern layout (all arguments on the exit event): the
# table lists those params after the ones older captures carry, so old files still read.
MODERN_EXIT_PARAMS = {
    5: ["res", "fd"],
    7: ["res", "data", "fd", "size"],
    23: ["res", "tuple", "fd", "addr"],
    25: ["res", "fd", "backlog"],
    129: ["res", "pid", "sig"],
    241: ["res", "fd", "nstype"],
    277: ["res", "path", "mode"],
    285: ["res", "flags"],
    389: ["fd", "tuple", "queuepct", "queuelen", "queuemax", "flags"],
}


def test_modern_exit_layouts() -> None:
    for code, names in MODERN_EXIT_PARAMS.items():
        info = event_info(code)
        assert info is not None and info.direction == "<"
        assert [p.name for p in info.params] == names, code
    unshare = event_info(285)
    assert unshare is not None and unshare.params[1].flag_table == "clone_flags"


def test_an_old_capture_with_fewer_exit_params_still_reads() -> None:
    import struct

    from lanner.capture.scap import ScapReader
    from lanner.capture.scap_write import machine_info_block, section_header_block

    # a V1 event block (no nparams in the header) of a close exit with only `res`, as
    # captures made before the modern layouts hold it
    body = struct.pack("<HQQIH", 0, 1_000, 42, 22 + 2 + 8, 5) + struct.pack("<Hq", 8, 0)
    total = 12 + len(body) + (-len(body) % 4)
    block = struct.pack("<II", 0x204, total) + body + bytes(-len(body) % 4)
    data = section_header_block() + machine_info_block() + block + struct.pack("<I", total)
    events = [e for item in ScapReader(data) if isinstance(item, list) for e in item]
    assert len(events) == 1
    (close,) = events
    assert close.nparams == 1 and close.param_by_name("res") == 0
    assert close.param_index("fd") is None and close.param_by_name("fd") is None
