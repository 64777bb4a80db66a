"""The ruleset: event-type index, first/all matching, selections, priority threshold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from lanner.fields.registry import ArgKind, ArgMode, FieldInfo, FieldRegistry, FieldType
from lanner.rules.loader import load_rules_string
from lanner.rules.ruleset import Priority, Ruleset, Selection, parse_selections

EVENT_TYPES = frozenset({"open", "openat", "execve", "connect", "read", "write", "close"})


@dataclass
class FakeEvent:
    """Just what the fake registry below reads."""

    type_name: str
    proc_name: str | None = "cat"
    fd_name: str | None = None
    pid: int | None = 42
    ts: int = 1_470_327_477_881_781_397
    args: dict[str, str] = field(default_factory=dict)
    ancestors: tuple[str, ...] = ()


def _attr(name: str) -> Any:
    def factory(_arg: str | None) -> Any:
        return lambda event: getattr(event, name)

    return factory


def _arg_factory(arg: str | None) -> Any:
    return lambda event: event.args.get(arg or "")


def _aname_factory(arg: str | None) -> Any:
    if arg is None:
        return lambda event: event.ancestors or None
    index = int(arg)
    return lambda event: event.ancestors[index] if index < len(event.ancestors) else None


def _broken(_arg: str | None) -> Any:
    def extract(_event: Any) -> Any:
        raise RuntimeError("extractor bug")

    return extract


def fake_registry() -> FieldRegistry:
    """A handful of fields over :class:`FakeEvent`, independent of the real catalog."""
    registry = FieldRegistry()
    registry.extend(
        [
            FieldInfo("evt.type", FieldType.STRING, "type", factory=_attr("type_name")),
            FieldInfo("evt.rawtime", FieldType.ABSTIME, "time", factory=_attr("ts")),
            FieldInfo("evt.time.iso8601", FieldType.STRING, "time", factory=_attr("ts")),
            FieldInfo("proc.name", FieldType.STRING, "name", factory=_attr("proc_name")),
            FieldInfo("proc.pid", FieldType.INT, "pid", factory=_attr("pid")),
            FieldInfo("proc.cmdline", FieldType.STRING, "cmdline", factory=_attr("proc_name")),
            FieldInfo("fd.name", FieldType.STRING, "fd", factory=_attr("fd_name")),
            FieldInfo(
                "evt.arg",
                FieldType.STRING,
                "args",
                arg_mode=ArgMode.REQUIRED,
                arg_kind=ArgKind.INDEX_OR_KEY,
                dotted_arg=True,
                factory=_arg_factory,
            ),
            FieldInfo(
                "proc.aname",
                FieldType.STRING,
                "ancestors",
                arg_mode=ArgMode.OPTIONAL,
                arg_kind=ArgKind.INDEX,
                any_without_arg=True,
                factory=_aname_factory,
            ),
            FieldInfo("fd.net", FieldType.IPNET, "net", filter_only=True),
            FieldInfo("test.broken", FieldType.STRING, "raises", factory=_broken),
        ]
    )
    return registry


def _ruleset(text: str, **options: Any) -> Ruleset:
    loaded = load_rules_string(text, registry=fake_registry(), event_types=EVENT_TYPES)
    assert loaded.successful, [m.one_line() for m in loaded.result.errors]
    return loaded.ruleset(**options)


RULES = """
- rule: open_cat
  desc: d
  condition: evt.type in (open, openat) and proc.name=cat
  output: o
  priority: WARNING
  tags: [files, a]
- rule: any_cat
  desc: d
  condition: proc.name=cat
  output: o
  priority: INFO
  tags: [b]
- rule: exec_any
  desc: d
  condition: evt.type=execve
  output: o
  priority: CRITICAL
  tags: [a, b]
- rule: off_by_default
  desc: d
  condition: evt.type=open
  output: o
  priority: ERROR
  enabled: false
"""


def _names(rules: Any) -> list[str]:
    return [rule.name for rule in rules]


def test_index_visits_only_rules_of_the_event_type_in_load_order() -> None:
    ruleset = _ruleset(RULES)
    assert _names(ruleset.rules_for_type("open")) == ["open_cat", "any_cat"]
    assert _names(ruleset.rules_for_type("execve")) == ["any_cat", "exec_any"]
    # A type no rule names explicitly still visits the rules that match any type.
    assert _names(ruleset.rules_for_type("read")) == ["any_cat"]


def test_first_match_stops_and_all_collects() -> None:
    event = FakeEvent("open")
    assert _names(_ruleset(RULES).run(event)) == ["open_cat"]
    assert _names(_ruleset(RULES, rule_matching="all").run(event)) == ["open_cat", "any_cat"]
    assert _names(_ruleset(RULES).run(FakeEvent("open", proc_name="ls"))) == []


def test_disabled_rule_does_not_run_until_enabled_by_selection() -> None:
    ruleset = _ruleset(RULES, rule_matching="all")
    assert not ruleset.is_enabled("off_by_default")
    ruleset.apply([Selection(True, rule="off_*")])
    assert ruleset.is_enabled("off_by_default")
    assert "off_by_default" in _names(ruleset.run(FakeEvent("open", proc_name="ls")))


def test_selections_apply_in_order() -> None:
    ruleset = _ruleset(RULES)
    ruleset.apply(parse_selections([{"disable": {"rule": "*"}}, {"enable": {"tag": "a"}}]))
    assert _names(ruleset.enabled_rules()) == ["open_cat", "exec_any"]
    ruleset.apply(parse_selections([{"disable": {"tag": "b"}}]))
    assert _names(ruleset.enabled_rules()) == ["open_cat"]


@pytest.mark.parametrize(
    "entry",
    [{"enable": {}}, {"allow": {"rule": "x"}}, {"enable": {"rule": "x"}, "disable": {"tag": "t"}}],
)
def test_bad_selection_entries_are_rejected(entry: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_selections([entry])


def test_legacy_tag_and_name_options() -> None:
    ruleset = _ruleset(RULES)
    ruleset.enable_only_tags(["b"])
    assert _names(ruleset.enabled_rules()) == ["any_cat", "exec_any"]
    ruleset = _ruleset(RULES)
    ruleset.disable_tags(["a"])
    assert _names(ruleset.enabled_rules()) == ["any_cat"]
    ruleset = _ruleset(RULES)
    ruleset.disable_rules(["_cat"])  # substring, as Falco's -D
    assert _names(ruleset.enabled_rules()) == ["exec_any"]
    ruleset = _ruleset(RULES)
    ruleset.disable_rules(["*_any"])  # glob
    assert _names(ruleset.enabled_rules()) == ["open_cat", "any_cat"]


def test_min_priority_drops_less_severe_rules() -> None:
    ruleset = _ruleset(RULES)
    ruleset.set_min_priority(Priority.WARNING)
    assert _names(ruleset.enabled_rules()) == ["open_cat", "exec_any"]
    assert _names(ruleset.run(FakeEvent("execve"))) == ["exec_any"]


def test_needed_event_types() -> None:
    ruleset = _ruleset(RULES)
    assert ruleset.needed_event_types() is None  # any_cat needs every type
    ruleset.disable_rules(["any_cat"])
    assert ruleset.needed_event_types() == frozenset({"open", "openat", "execve"})


def test_a_raising_extractor_counts_an_error_and_does_not_stop_other_rules() -> None:
    ruleset = _ruleset(
        """
- rule: broken
  desc: d
  condition: evt.type=open and test.broken=x
  output: o
  priority: INFO
- rule: fine
  desc: d
  condition: evt.type=open
  output: o
  priority: INFO
"""
    )
    assert _names(ruleset.run(FakeEvent("open"))) == ["fine"]
    assert ruleset.evaluation_errors == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("warning", Priority.WARNING),
        ("INFO", Priority.INFORMATIONAL),
        ("Informational", Priority.INFORMATIONAL),
        ("emergency", Priority.EMERGENCY),
        ("loud", None),
    ],
)
def test_priority_names(text: str, expected: Priority | None) -> None:
    assert Priority.parse(text) is expected


def test_priority_display_is_falco_spelling() -> None:
    assert Priority.INFORMATIONAL.display == "Informational"
    assert Priority.WARNING.display == "Warning"
