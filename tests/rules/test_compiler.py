"""Compiler: operator semantics per field type, missing values, ancestors, transformers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lanner.fields.registry import ArgKind, ArgMode, FieldInfo, FieldRegistry, FieldType
from lanner.rules.compiler import CompiledCondition, compile_condition
from lanner.rules.errors import ConditionCompileError
from lanner.rules.parser import parse_condition

EVENT_TYPES = frozenset({"open", "openat", "execve", "connect", "close"})


def _by_key(name: str) -> Callable[[str | None], Callable[[Any], Any]]:
    """Fake events are dicts: ``name`` without argument, ``name[arg]`` with one."""

    def factory(arg: str | None) -> Callable[[Any], Any]:
        key = name if arg is None else f"{name}[{arg}]"
        return lambda event: event.get(key)

    return factory


def _field(name: str, ftype: FieldType, **extra: Any) -> FieldInfo:
    return FieldInfo(name, ftype, f"test field {name}", factory=_by_key(name), **extra)


def make_registry() -> FieldRegistry:
    registry = FieldRegistry()
    registry.extend(
        [
            _field("evt.type", FieldType.STRING),
            _field("proc.name", FieldType.STRING),
            _field("proc.pname", FieldType.STRING),
            _field("proc.exe", FieldType.STRING),
            _field("proc.args", FieldType.STRING),
            _field("fd.name", FieldType.STRING),
            _field("proc.pid", FieldType.INT),
            _field("evt.rawtime", FieldType.ABSTIME),
            _field("evt.latency", FieldType.RELTIME),
            _field("thread.cpu", FieldType.DOUBLE),
            _field("fd.is_server", FieldType.BOOL),
            _field("fd.sip", FieldType.IPADDR),
            _field("fd.net", FieldType.IPNET, filter_only=True),
            _field("evt.buffer", FieldType.BYTES),
            _field(
                "proc.aname",
                FieldType.STRING,
                arg_mode=ArgMode.OPTIONAL,
                arg_kind=ArgKind.INDEX,
                any_without_arg=True,
            ),
            _field(
                "fd.types",
                FieldType.STRING,
                arg_mode=ArgMode.OPTIONAL,
                arg_kind=ArgKind.INDEX,
                is_list=True,
            ),
            _field("k8s.pod.label", FieldType.STRING, arg_mode=ArgMode.REQUIRED),
            _field(
                "evt.arg",
                FieldType.STRING,
                arg_mode=ArgMode.REQUIRED,
                arg_kind=ArgKind.INDEX_OR_KEY,
                dotted_arg=True,
            ),
            FieldInfo("proc.never", FieldType.STRING, "no extractor"),
        ]
    )
    return registry


REGISTRY = make_registry()


def compiled(text: str) -> CompiledCondition:
    return compile_condition(parse_condition(text), REGISTRY, event_types=EVENT_TYPES)


def run(text: str, **event: Any) -> bool:
    return compiled(text).fn({key.replace("__", "."): value for key, value in event.items()})


def matches(text: str, event: dict[str, Any]) -> bool:
    result = compiled(text).fn(event)
    assert isinstance(result, bool)
    return result


# -- strings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ("proc.name = bash", "bash", True),
        ("proc.name = bash", "bash2", False),
        ("proc.name == bash", "bash", True),
        ("proc.name != bash", "sh", True),
        ("proc.name != bash", "bash", False),
        ("proc.name contains as", "bash", True),
        ("proc.name contains AS", "bash", False),
        ("proc.name icontains AS", "bAsh", True),
        ("proc.name icontains x", "bash", False),
        ("proc.name startswith ba", "bash", True),
        ("proc.name startswith sh", "bash", False),
        ("proc.name endswith sh", "bash", True),
        ("proc.name endswith ba", "bash", False),
        ("proc.name glob 'b*h'", "bash", True),
        ("proc.name glob 'b?sh'", "bash", True),
        ("proc.name glob 'B*'", "bash", False),
        ("proc.name glob '[ab]ash'", "bash", True),
        ("fd.name glob '/etc/*'", "/etc/ssl/certs", True),
        ("proc.name iglob 'B*H'", "bash", True),
        ("proc.name regex 'ba.h'", "bash", True),
        ("proc.name regex 'as'", "bash", False),
        ("proc.name regex 'b.*'", "bash", True),
        ("proc.name in (sh, bash)", "bash", True),
        ("proc.name in (sh, zsh)", "bash", False),
        ("proc.name in ()", "bash", False),
        ("proc.name intersects (sh, bash)", "bash", True),
        ("proc.name in bash", "bash", True),
        ("proc.name < 5", "bash", False),  # compared as text, like strcmp
        ("proc.name > 5", "bash", True),
        ('proc.name = "my shell"', "my shell", True),
    ],
)
def test_string_operators(condition: str, value: str, expected: bool) -> None:
    assert matches(condition, {"proc.name": value, "fd.name": value}) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc", True),
        ("/etc/passwd", True),
        ("/etc/ssl/certs/x", True),
        ("/etcx", False),
        ("/usr/lib/x", True),
        ("/usr/libexec", False),
        ("/usr", False),
        ("etc/passwd", False),
    ],
)
def test_pmatch_is_a_path_prefix_match(path: str, expected: bool) -> None:
    assert matches("fd.name pmatch (/etc, /usr/lib/)", {"fd.name": path}) is expected


def test_pmatch_with_root_matches_every_absolute_path() -> None:
    assert matches("fd.name pmatch (/)", {"fd.name": "/a/b"})
    assert not matches("fd.name pmatch (/)", {"fd.name": "a/b"})


# -- missing values -------------------------------------------------------------------

ALL_STRING_CHECKS = [
    "proc.name = x",
    "proc.name != x",
    "proc.name contains x",
    "proc.name icontains x",
    "proc.name startswith x",
    "proc.name endswith x",
    "proc.name glob x*",
    "proc.name iglob x*",
    "proc.name regex x",
    "proc.name in (x, y)",
    "proc.name intersects (x)",
    "proc.name pmatch (/x)",
    "proc.name < 1",
    "proc.name startswith anyof (x, y)",
    "proc.name = val(proc.pname)",
    "tolower(proc.name) = x",
    "proc.pid != 1",
    "proc.pid < 1",
    "proc.pid in (1, 2)",
    "fd.sip != 10.0.0.1",
    "fd.net != 10.0.0.0/8",
    "fd.is_server != true",
    "evt.buffer bcontains 00",
    "proc.aname != x",
    "fd.types in (file)",
    "proc.never = x",
]


@pytest.mark.parametrize("condition", ALL_STRING_CHECKS)
def test_unavailable_value_makes_every_comparison_false_and_only_not_flips(
    condition: str,
) -> None:
    assert matches(condition, {}) is False
    assert matches(f"not ({condition})", {}) is True


def test_exists_tests_availability() -> None:
    assert matches("proc.name exists", {"proc.name": ""})
    assert not matches("proc.name exists", {})
    assert matches("not proc.name exists", {})
    assert not matches("proc.never exists", {"proc.never": "x"})


def test_val_with_unavailable_right_side_is_false() -> None:
    assert not matches("proc.name = val(proc.pname)", {"proc.name": "a"})
    assert not matches("proc.name != val(proc.pname)", {"proc.name": "a"})


# -- numbers, booleans, times ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("proc.pid = 42", True),
        ("proc.pid = 0x2a", True),
        ("proc.pid = 0X2A", True),
        ("proc.pid != 42", False),
        ("proc.pid < 43", True),
        ("proc.pid <= 42", True),
        ("proc.pid > 42", False),
        ("proc.pid >= 42", True),
        ("proc.pid > -1", True),
        ("proc.pid in (1, 42)", True),
        ("proc.pid in (1, 2)", False),
        ("proc.pid intersects (42)", True),
        ("evt.rawtime > 1000", True),
        ("evt.latency <= 5", True),
        ("thread.cpu > 0.5", True),
        ("thread.cpu < 1e+3", True),
        ("fd.is_server = true", True),
        ("fd.is_server = false", False),
        ("fd.is_server != false", True),
        ("fd.is_server in (TRUE)", True),
    ],
)
def test_numeric_and_bool_operators(condition: str, expected: bool) -> None:
    event = {
        "proc.pid": 42,
        "evt.rawtime": 2000,
        "evt.latency": 5,
        "thread.cpu": 0.75,
        "fd.is_server": True,
    }
    assert matches(condition, event) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("proc.pid = abc", "invalid value 'abc' for proc.pid: expected an integer"),
        ("proc.pid = 3.0", "invalid value '3.0' for proc.pid: expected an integer"),
        ("evt.latency > 1.5", "invalid value '1.5' for evt.latency: expected an integer"),
        ("thread.cpu = fast", "invalid value 'fast' for thread.cpu: expected a number"),
        ("fd.is_server = yes", "invalid value 'yes' for fd.is_server: expected true or false"),
        ("fd.sip = 10.0.0.300", "invalid value '10.0.0.300' for fd.sip: expected an IP"),
        ("evt.buffer bcontains zz", "bcontains on evt.buffer needs a hexadecimal byte string"),
        ("proc.name regex '('", "invalid regular expression '('"),
    ],
)
def test_bad_values_are_compile_errors(condition: str, message: str) -> None:
    with pytest.raises(ConditionCompileError) as caught:
        compiled(condition)
    assert caught.value.message.startswith(message)
    assert caught.value.pos is not None


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "proc.pid contains 1",
            "operator 'contains' is not supported for field proc.pid of type int",
        ),
        ("fd.is_server > 1", "operator '>' is not supported for field fd.is_server of type bool"),
        ("fd.sip startswith 10", "operator 'startswith' is not supported for field fd.sip"),
        ("proc.name bcontains 00", "operator 'bcontains' is not supported for field proc.name"),
        ("evt.buffer glob x", "operator 'glob' is not supported for field evt.buffer"),
        ("fd.types = file", "operator '=' is not supported for list field fd.types"),
        ("proc.pid pmatch (/x)", "operator 'pmatch' is not supported for field proc.pid"),
    ],
)
def test_operators_are_gated_by_field_type(condition: str, message: str) -> None:
    with pytest.raises(ConditionCompileError) as caught:
        compiled(condition)
    assert caught.value.message.startswith(message)


# -- IP addresses and networks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "sip", "expected"),
    [
        ("fd.sip = 10.0.0.1", "10.0.0.1", True),
        ("fd.sip = 10.0.0.1", "10.0.0.2", False),
        ("fd.sip != 10.0.0.1", "10.0.0.2", True),
        ("fd.sip = '0:0::1'", "::1", True),
        ("fd.sip = 10.0.0.0/8", "10.200.1.1", True),
        ("fd.sip = 10.0.0.0/8", "11.0.0.1", False),
        ("fd.sip != 10.0.0.0/8", "11.0.0.1", True),
        ("fd.sip in (192.168.0.0/16, 10.0.0.1)", "10.0.0.1", True),
        ("fd.sip in (192.168.0.0/16, 10.0.0.1)", "192.168.3.4", True),
        ("fd.sip in (192.168.0.0/16, 10.0.0.1)", "172.16.0.1", False),
        ("fd.net = 10.0.0.0/8", "10.1.2.3", True),
        ("fd.net = 10.0.0.0/8", "::1", False),
        ("fd.net in (fe80::/10, 127.0.0.0/8)", "fe80::1", True),
        ("fd.net = 127.0.0.1", "127.0.0.1", True),
    ],
)
def test_ip_comparisons(condition: str, sip: str, expected: bool) -> None:
    assert matches(condition, {"fd.sip": sip, "fd.net": sip}) is expected


def test_ip_field_with_several_addresses_matches_any() -> None:
    assert matches("fd.net = 10.0.0.0/8", {"fd.net": ("192.168.0.1", "10.0.0.5")})
    assert not matches("fd.net = 10.0.0.0/8", {"fd.net": ("192.168.0.1", None)})


# -- buffers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("evt.buffer bcontains 454c46", True),
        ("evt.buffer bcontains 00ff", False),
        ("evt.buffer bstartswith 7f454C46", True),
        ("evt.buffer bstartswith 454c46", False),
        ("evt.buffer contains ELF", True),
        ("evt.buffer startswith ELF", False),
        ("evt.buffer endswith tail", True),
        ("evt.buffer = x", False),
        ("evt.buffer in (x, y)", False),
    ],
)
def test_buffer_operators(condition: str, expected: bool) -> None:
    assert matches(condition, {"evt.buffer": b"\x7fELF\x02\x01tail"}) is expected


# -- lists and ancestors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "types", "expected"),
    [
        # libsinsp (sinsp_filter_check::compare for list fields): `in` holds when EVERY
        # extracted value is in the set, `intersects` when at least one is.
        ("fd.types in (file, ipv4)", ["file", "ipv4"], True),
        ("fd.types in (file, ipv4)", ["file", "pipe"], False),
        ("fd.types intersects (file, ipv4)", ["file", "pipe"], True),
        ("fd.types intersects (ipv6)", ["file", "pipe"], False),
        ("fd.types exists", [], True),
    ],
)
def test_list_fields(condition: str, types: list[str], expected: bool) -> None:
    assert matches(condition, {"fd.types": types}) is expected


def test_list_field_with_index_is_a_scalar() -> None:
    assert matches("fd.types[1] = pipe", {"fd.types[1]": "pipe"})


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("proc.aname = sshd", True),
        ("proc.aname = cron", False),
        ("proc.aname != sshd", True),
        ("proc.aname in (cron, systemd)", True),
        ("proc.aname startswith ss", True),
        ("proc.aname contains zz", False),
        ("proc.aname[1] = bash", True),
        ("proc.aname[2] = bash", False),
        ("proc.aname[2] = sshd", True),
        ("toupper(proc.aname) = SSHD", True),
        ("proc.aname exists", True),
    ],
)
def test_ancestor_fields_without_index_match_any_ancestor(condition: str, expected: bool) -> None:
    event = {
        "proc.aname": ["bash", "sshd", None, "systemd"],
        "proc.aname[1]": "bash",
        "proc.aname[2]": "sshd",
    }
    assert matches(condition, event) is expected


# -- modifiers, transformers, val() -----------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("proc.name startswith oneof (/usr, /opt)", True),
        ("proc.name startswith anyof (/bin, /opt)", False),
        ("proc.name contains allof (usr, bin)", True),
        ("proc.name contains allof (usr, sbin)", False),
        ("proc.name = oneof (/usr/bin/x, y)", True),
        ("proc.name endswith allof (x)", True),
    ],
)
def test_operator_modifiers(condition: str, expected: bool) -> None:
    assert matches(condition, {"proc.name": "/usr/bin/x"}) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("tolower(proc.name) = bash", True),
        ("toupper(proc.name) = BASH", True),
        ("tolower(proc.name) = BASH", False),
        ("basename(proc.exe) = bash", True),
        ("tolower(basename(proc.exe)) = bash", True),
        ("b64(proc.args) = 'hello'", True),
        ("len(proc.name) = 4", True),
        ("len(proc.name) > 4", False),
        ("len(fd.types) = 3", True),
        ("proc.name = tolower(proc.pname)", True),
        ("tolower(proc.pname) = val(proc.name)", True),
    ],
)
def test_transformers(condition: str, expected: bool) -> None:
    event = {
        "proc.name": "BaSh",
        "proc.pname": "BASH",
        "proc.exe": "/usr/bin/BaSh",
        "proc.args": "aGVsbG8=",
        "fd.types": ["a", "b", "c"],
    }
    if condition.startswith(("tolower(proc.name)", "basename", "proc.name = tolower")):
        event["proc.name"] = event["proc.exe"] = "bash"
        event["proc.exe"] = "/usr/bin/BaSh" if "tolower(basename" in condition else "/bin/bash"
        event["proc.pname"] = "BASH"
    if condition.startswith("tolower(proc.pname)"):
        event["proc.name"] = "bash"
    assert matches(condition, event) is expected


def test_b64_of_invalid_text_is_unavailable() -> None:
    assert not matches("b64(proc.args) exists", {"proc.args": "not base64!"})
    assert matches("b64(proc.args) exists", {"proc.args": "eA=="})


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("tolower(proc.pid) = x", "transformer 'tolower' needs a string field, proc.pid is int"),
        ("len(proc.pid) = 1", "transformer 'len' needs a string, buffer or list field"),
        ("join(',', proc.name) = x", "transformer 'join' is not supported"),
        ("proc.name glob val(proc.pname)", "operator 'glob' cannot compare proc.name"),
    ],
)
def test_transformer_errors(condition: str, message: str) -> None:
    with pytest.raises(ConditionCompileError, match=message.replace("(", r"\(")):
        compiled(condition)


@pytest.mark.parametrize(
    ("condition", "event", "expected"),
    [
        ("proc.name = val(proc.pname)", {"proc.name": "a", "proc.pname": "a"}, True),
        ("proc.name = val(proc.pname)", {"proc.name": "a", "proc.pname": "b"}, False),
        ("proc.name != val(proc.pname)", {"proc.name": "a", "proc.pname": "b"}, True),
        ("proc.name startswith val(proc.pname)", {"proc.name": "ab", "proc.pname": "a"}, True),
        ("proc.pid > val(evt.latency)", {"proc.pid": 5, "evt.latency": 3}, True),
        ("fd.sip = val(fd.net)", {"fd.sip": "::1", "fd.net": "0::1"}, True),
    ],
)
def test_val_compares_two_fields(condition: str, event: dict[str, Any], expected: bool) -> None:
    assert matches(condition, event) is expected


# -- fields, arguments, event types -----------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("proc.nobody = cat", "filter_check called with nonexistent field proc.nobody"),
        ("evt.type = some_invalid_event", "unknown event type some_invalid_event"),
        ("evt.type in (open, list_a)", "unknown event type list_a"),
        ("k8s.pod.label = x", "filter k8s.pod.label requires an argument"),
        ("proc.name[1] = x", "filter proc.name does not support arguments"),
        ("proc.aname[x] = y", "filter proc.aname requires a numeric index argument, got 'x'"),
        ("some_macro and proc.name = x", "Undefined macro 'some_macro' used in filter."),
        ("proc.name = (a, b)", ""),
    ],
)
def test_compile_errors_have_falco_texts(condition: str, message: str) -> None:
    try:
        node = parse_condition(condition)
    except Exception:  # "= (a, b)" is already a syntax error: nothing to compile
        assert message == ""
        return
    with pytest.raises(ConditionCompileError) as caught:
        compile_condition(node, REGISTRY, event_types=EVENT_TYPES)
    assert caught.value.message == message
    assert caught.value.pos is not None


def test_dotted_and_bracket_arguments_reach_the_extractor() -> None:
    assert matches("evt.arg.flags contains RDONLY", {"evt.arg[flags]": "O_RDONLY"})
    assert matches("evt.arg[0] = 3", {"evt.arg[0]": "3"})
    assert matches("k8s.pod.label[app] = web", {"k8s.pod.label[app]": "web"})


def test_evt_type_is_an_ordinary_runtime_check_and_drives_evttypes() -> None:
    result = compiled("evt.type in (open, openat) and proc.name = cat")
    assert result.evttypes == frozenset({"open", "openat"})
    assert result.fn({"evt.type": "open", "proc.name": "cat"})
    assert not result.fn({"evt.type": "close", "proc.name": "cat"})
    assert compiled("proc.name = cat").evttypes is None
    assert compiled("evt.type != open").evttypes == EVENT_TYPES - {"open"}


def test_unknown_event_types_are_not_checked_without_a_universe() -> None:
    node = parse_condition("evt.type = anything")
    result = compile_condition(node, REGISTRY, event_types=frozenset())
    assert result.evttypes is None
    assert result.fn({"evt.type": "anything"})


def test_fields_and_source_are_reported() -> None:
    result = compiled("evt.arg.name = x and proc.aname[2] = y or proc.name exists")
    assert result.fields == {"evt.arg", "proc.aname", "proc.name"}
    assert "def condition(e):" in result.source


# -- evaluation strategy -------------------------------------------------------------------


def _counting_registry(calls: dict[str, int]) -> FieldRegistry:
    registry = FieldRegistry()
    for name in ("proc.name", "evt.type", "fd.name"):

        def factory(arg: str | None, name: str = name) -> Callable[[Any], Any]:
            def extract(event: dict[str, Any]) -> Any:
                calls[name] = calls.get(name, 0) + 1
                return event.get(name)

            return extract

        registry.add(FieldInfo(name, FieldType.STRING, "counted", factory=factory))
    return registry


@pytest.mark.parametrize(
    ("condition", "event", "expected_calls"),
    [
        # the first use dominates the later ones: one extraction
        ("proc.name = a or proc.name = b or proc.name = c", {"proc.name": "c"}, 1),
        ("proc.name != a and (proc.name = b or proc.name = c)", {"proc.name": "c"}, 1),
        ("not proc.name = a and proc.name startswith c", {"proc.name": "c"}, 1),
        # short-circuit: the second field is never read
        ("evt.type = open and proc.name = a", {"evt.type": "close"}, 0),
        ("evt.type = close or proc.name = a", {"evt.type": "close"}, 0),
        # first use not certain to run: extracted again, still correct
        ("(evt.type = open and proc.name = a) or proc.name = b", {"evt.type": "open"}, 2),
    ],
)
def test_each_field_is_extracted_at_most_once_when_safe(
    condition: str, event: dict[str, Any], expected_calls: int
) -> None:
    calls: dict[str, int] = {}
    node = parse_condition(condition)
    result = compile_condition(node, _counting_registry(calls), event_types=frozenset())
    result.fn(event)
    assert calls.get("proc.name", 0) == expected_calls


def test_deeply_nested_condition_compiles_or_fails_cleanly() -> None:
    text = "proc.name = a"
    for index in range(60):
        text = f"not (proc.name = x{index} or ({text}))"
    node = parse_condition(text)
    try:
        result = compile_condition(node, REGISTRY, event_types=EVENT_TYPES)
    except ConditionCompileError as err:
        assert "too deeply nested" in err.message
    else:
        assert isinstance(result.fn({"proc.name": "a"}), bool)


@pytest.mark.parametrize(
    ("condition", "event"),
    [
        ('k8s.pod.label["a\\nb"] = x', {"k8s.pod.label[a\nb]": "x"}),
        ('proc.name = "a\\nb\x00c"', {"proc.name": "a\nb\x00c"}),
        ('proc.name in ("\u2028", "\\"")', {"proc.name": '"'}),
    ],
)
def test_any_characters_in_arguments_and_values_compile(
    condition: str, event: dict[str, Any]
) -> None:
    assert matches(condition, event)
    assert not matches(condition, {})
