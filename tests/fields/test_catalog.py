"""The field catalog covers what the rulesets and sysdig's field list name, with sane types."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lanner.fields import default_registry
from lanner.fields.catalog import field_class
from lanner.fields.registry import ArgKind, ArgMode, FieldType, check_arg
from tests.conftest import compat_path

# Classes of the syscall source; plugin classes (ka., jevt., ct., json.) stay unknown on purpose.
SYSCALL_CLASSES = {
    "evt", "syscall", "proc", "thread", "fd", "fdlist", "fs", "user", "group", "container", "k8s",
}  # fmt: skip
# Names the upstream test files use precisely because they do not exist.
DELIBERATELY_UNKNOWN = {"proc.nobody"}

FIELD = r"[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+"
OPERATORS = (
    r"(?:<=|>=|!=|=|<|>|(?:glob|iglob|contains|icontains|bcontains|startswith|bstartswith"
    r"|endswith|regex|intersects|in|pmatch|exists)\b)"
)
COND_FIELD = re.compile(rf"(?<![\w./\-])({FIELD})(\[[^\]]*\])?\s*(?={OPERATORS})")
TRANSFORMED = re.compile(rf"\b(?:tolower|toupper|b64|basename|len|val)\(\s*({FIELD})(\[[^\]]*\])?")
OUTPUT_FIELD = re.compile(rf"%({FIELD})(\[[^\]]*\])?")
QUOTED = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")


class _TolerantLoader(yaml.SafeLoader):
    """Reads the YAML yaml-cpp accepts: bare '=' scalars and '!'-prefixed plain scalars."""


_TolerantLoader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:value"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_TolerantLoader.add_multi_constructor(
    "!", lambda loader, _suffix, node: loader.construct_scalar(node)
)


def _items(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(root.rglob("*.yaml")):
        try:
            docs = list(yaml.load_all(path.read_text(), Loader=_TolerantLoader))
        except yaml.YAMLError:
            continue  # the deliberately broken YAML test inputs
        for doc in docs:
            if isinstance(doc, list):
                for item in doc:
                    if isinstance(item, dict):
                        yield path, item


def _field_refs(item: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    condition = item.get("condition")
    if isinstance(condition, str):
        text = QUOTED.sub('""', condition)
        for match in [*COND_FIELD.finditer(text), *TRANSFORMED.finditer(text)]:
            yield match.group(1), match.group(2)
    output = item.get("output")
    if isinstance(output, str):
        for match in OUTPUT_FIELD.finditer(output):
            yield match.group(1), match.group(2)
    for exception in item.get("exceptions") or []:
        if isinstance(exception, dict):
            names = exception.get("fields")
            for name in names if isinstance(names, list) else [names]:
                if isinstance(name, str):
                    yield name, None


def _rules_roots() -> list[Path]:
    return [
        compat_path("rules"),
        compat_path("testing-repo-9a9c867", "rules"),
        compat_path("falco-0.34.1-tests", "rules"),
    ]


@pytest.mark.compat
def test_every_field_the_rule_corpus_names_resolves() -> None:
    registry = default_registry()
    seen: set[str] = set()
    unknown: set[str] = set()
    for root in _rules_roots():
        for path, item in _items(root):
            if item.get("source", "syscall") != "syscall":
                continue
            for name, bracket in _field_refs(item):
                if name.split(".")[0] not in SYSCALL_CLASSES or name in DELIBERATELY_UNKNOWN:
                    continue
                seen.add(name)
                arg = bracket[1:-1].strip("\"'") if bracket else None
                resolved = registry.resolve(name, arg)
                if resolved is None or check_arg(*resolved) is not None:
                    unknown.add(f"{name}{bracket or ''} ({path.name})")
    assert len(seen) > 100  # the scan itself found the rulesets' fields
    assert not unknown, sorted(unknown)


@pytest.mark.compat
def test_the_deliberately_bogus_fields_stay_unknown() -> None:
    registry = default_registry()
    for name in ("proc.nobody", "not.exist", "not_a_real_field", "jevt.rawtime", "ka.verb"):
        assert registry.resolve(name) is None, name


def _sysdig_names() -> list[str]:
    listing = compat_path("sysdig-0.29.3-reference", "sysdig-0.29.3-fields.txt")
    names = []
    for line in listing.read_text().splitlines():
        match = re.match(rf"({FIELD})(\s|$)", line)
        if match:
            names.append(match.group(1))
    return names


SYSDIG_CLASSES = {
    "evt",
    "syscall",
    "proc",
    "thread",
    "fd",
    "fdlist",
    "user",
    "group",
    "container",
    "k8s",
}
DEPRECATED_K8S = ("k8s.rc.", "k8s.svc.", "k8s.rs.", "k8s.deployment.")


@pytest.mark.compat
def test_every_sysdig_field_of_our_classes_is_registered() -> None:
    names = [
        n
        for n in _sysdig_names()
        if n.split(".")[0] in SYSDIG_CLASSES and not n.startswith(DEPRECATED_K8S)
    ]
    assert len(names) > 150
    missing = [n for n in names if n not in default_registry()]
    assert not missing


@pytest.mark.compat
def test_descriptions_are_our_own_words() -> None:
    listing = compat_path("sysdig-0.29.3-reference", "sysdig-0.29.3-fields.txt").read_text()
    theirs = {
        m.group(1): " ".join(m.group(2).split()).lower()
        for m in re.finditer(rf"^({FIELD})\s+(\S.*)$", listing, re.MULTILINE)
    }
    copied = [
        info.name
        for info in default_registry()
        if info.name in theirs and " ".join(info.desc.split()).lower() == theirs[info.name]
    ]
    assert not copied


NEWER_FIELDS = [
    "thread.cap_permitted", "thread.cap_effective", "thread.cap_inheritable",
    "proc.is_exe_upper_layer", "proc.is_exe_lower_layer", "proc.is_exe_from_memfd",
    "proc.exe_ino", "proc.exe_ino.ctime", "proc.exe_ino.mtime",
    "proc.exe_ino.ctime_duration_proc_start", "container.full_id", "container.start_ts",
    "container.host_network", "k8s.pod.uid", "k8s.pod.sandbox_id", "k8s.pod.labels",
    "fs.path.name", "fs.path.source", "fs.path.target", "evt.hostname", "evt.source",
    "proc.aexe", "proc.aexepath", "proc.acmdline", "proc.pexepath", "fd.nameraw",
]  # fmt: skip


@pytest.mark.parametrize("name", NEWER_FIELDS)
def test_newer_libsinsp_fields_are_registered(name: str) -> None:
    assert name in default_registry()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fd.num", FieldType.INT),
        ("fd.typechar", FieldType.STRING),
        ("evt.rawres", FieldType.INT),
        ("evt.res", FieldType.STRING),
        ("fd.sip", FieldType.IPADDR),
        ("fd.net", FieldType.IPNET),
        ("evt.buffer", FieldType.BYTES),
        ("proc.duration", FieldType.RELTIME),
        ("evt.rawtime", FieldType.ABSTIME),
        ("container.privileged", FieldType.BOOL),
        ("evt.is_open_read", FieldType.BOOL),
        ("user.uid", FieldType.INT),
        ("proc.tty", FieldType.INT),
        ("fd.sport", FieldType.INT),
        ("proc.aname", FieldType.STRING),
        ("proc.apid", FieldType.INT),
    ],
)
def test_field_types(name: str, expected: FieldType) -> None:
    info = default_registry().get(name)
    assert info is not None
    assert info.type is expected


def test_filter_only_fields() -> None:
    registry = default_registry()
    only = {info.name for info in registry if info.filter_only}
    assert {"fd.net", "fd.cnet", "fd.snet", "fd.lnet", "fd.rnet"} <= only
    assert "fd.name" not in only and "fd.sip" not in only


def test_ancestor_fields_match_any_ancestor_without_index() -> None:
    registry = default_registry()
    for name in ("proc.aname", "proc.apid", "proc.aexe", "proc.aexepath", "proc.acmdline"):
        info = registry.get(name)
        assert info is not None and info.any_without_arg, name
        assert info.arg_mode is ArgMode.OPTIONAL and info.arg_kind is ArgKind.INDEX
        assert check_arg(info, "2") is None
        assert check_arg(info, "x") is not None
    assert not registry.get("proc.name").any_without_arg  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "field", "arg"),
    [
        ("evt.arg.flags", "evt.arg", "flags"),
        ("evt.rawarg.res", "evt.rawarg", "res"),
        ("k8s.pod.label.app", "k8s.pod.label", "app"),
        ("thread.cgroup.cpuacct", "thread.cgroup", "cpuacct"),
        ("evt.type.is.open", "evt.type.is", "open"),
        ("evt.abspath.src", "evt.abspath.src", None),
        ("container.mount.dest", "container.mount.dest", None),
    ],
)
def test_dotted_arguments_resolve(text: str, field: str, arg: str | None) -> None:
    resolved = default_registry().resolve(text)
    assert resolved is not None
    assert (resolved[0].name, resolved[1]) == (field, arg)


def test_required_arguments_are_enforced() -> None:
    registry = default_registry()
    for name in ("evt.arg", "container.mount.dest", "k8s.pod.label", "container.label"):
        info = registry.get(name)
        assert info is not None
        assert check_arg(info, None) is not None, name
    assert check_arg(registry.get("proc.name"), "x") is not None  # type: ignore[arg-type]


def test_every_field_is_described_and_classed() -> None:
    registry = default_registry()
    assert registry is default_registry()  # cached
    for info in registry:
        assert info.desc and "\n" not in info.desc, info.name
        assert field_class(info.name) in SYSCALL_CLASSES | {"fs.path"}, info.name
        assert info.source == "syscall"
