"""Loader semantics: items, lists, macros and their visibility, append/override, result codes."""

from __future__ import annotations

from typing import Any

import pytest

from lanner.rules.loader import LoadedRules, RulesLoader, load_rules_string
from lanner.rules.results import LoadMessage
from tests.rules.test_ruleset import EVENT_TYPES, fake_registry

RULE = """
- rule: {name}
  desc: d
  condition: {condition}
  output: o
  priority: INFO
"""


def load(text: str, **options: Any) -> LoadedRules:
    return load_rules_string(text, registry=fake_registry(), event_types=EVENT_TYPES, **options)


def load_many(*texts: str) -> LoadedRules:
    loader = RulesLoader(registry=fake_registry(), event_types=EVENT_TYPES)
    for number, text in enumerate(texts):
        loader.add_string(text, f"file{number}.yaml")
    return loader.finish()


def codes(messages: list[LoadMessage]) -> list[str]:
    return [m.code.name for m in messages]


def condition_of(loaded: LoadedRules, name: str) -> str:
    assert loaded.successful, [m.one_line() for m in loaded.result.errors]
    return next(rule.condition_text for rule in loaded.rules if rule.name == name)


def only_error(loaded: LoadedRules) -> LoadMessage:
    errors = loaded.result.errors
    assert len(errors) == 1, [m.one_line() for m in errors]
    return errors[0]


# lists -------------------------------------------------------------------------------------


def test_lists_expand_textually_with_quoting_and_nested_lists() -> None:
    loaded = load(
        """
- list: base
  items: [bash, "my shell"]
- list: more
  items: [base, zsh]
"""
        + RULE.format(name="r", condition="evt.type=execve and proc.name in (more)")
    )
    text = condition_of(loaded, "r")
    assert 'bash, "my shell", zsh' in text
    assert not loaded.result.warnings


def test_empty_list_swallows_a_comma() -> None:
    loaded = load(
        "- list: nothing\n  items: []\n"
        + RULE.format(name="r", condition="evt.type=execve and proc.name in (a, nothing)")
    )
    assert condition_of(loaded, "r").replace(" ", "") == "evt.type=execveandproc.namein(a)"


def test_unused_list_and_macro_warn() -> None:
    loaded = load(
        "- list: lonely\n  items: [a]\n- macro: alone\n  condition: proc.name=a\n"
        + RULE.format(name="r", condition="evt.type=open")
    )
    assert sorted(codes(loaded.result.warnings)) == ["LOAD_UNUSED_LIST", "LOAD_UNUSED_MACRO"]


# macros -------------------------------------------------------------------------------------


def test_macro_cannot_use_a_macro_defined_after_it() -> None:
    loaded = load(
        """
- macro: first
  condition: second
- macro: second
  condition: proc.name=x
"""
        + RULE.format(name="r", condition="evt.type=open and first")
    )
    error = only_error(loaded)
    assert (error.code.name, error.item_type, error.item_name) == (
        "LOAD_ERR_VALIDATE",
        "macro",
        "first",
    )
    assert error.message == "Undefined macro 'second' used in filter."
    assert (error.line, error.col) == (3, 14)


def test_rules_see_macros_defined_after_them() -> None:
    loaded = load(
        RULE.format(name="r", condition="evt.type=open and later_macro")
        + "- macro: later_macro\n  condition: proc.name=cat\n"
    )
    assert "later_macro" in condition_of(loaded, "r")


def test_redefined_macro_is_seen_by_earlier_macros() -> None:
    # The usual customisation: a later file redefines a placeholder macro used earlier.
    loaded = load_many(
        """
- macro: never
  condition: proc.pid < 0
- macro: user_known
  condition: (never)
- macro: guarded
  condition: evt.type=open and not user_known
"""
        + RULE.format(name="r", condition="guarded"),
        "- macro: user_known\n  condition: proc.name=cat\n",
    )
    assert loaded.successful
    compiled = loaded.rules[0].condition
    from tests.rules.test_ruleset import FakeEvent

    assert compiled.fn(FakeEvent("open", proc_name="ls"))
    assert not compiled.fn(FakeEvent("open", proc_name="cat"))


def test_macro_append_concatenates_text() -> None:
    loaded = load(
        """
- macro: m
  condition: proc.name=a
- macro: m
  condition: or proc.name=b
  append: true
"""
        + RULE.format(name="r", condition="evt.type=open and (m)")
    )
    assert "LOAD_DEPRECATED_ITEM" in codes(loaded.result.warnings)
    rule = loaded.rules[0]
    from tests.rules.test_ruleset import FakeEvent

    assert rule.matches(FakeEvent("open", proc_name="b"))
    assert not rule.matches(FakeEvent("open", proc_name="c"))


def test_macro_syntax_error_points_at_the_token() -> None:
    loaded = load("- macro: m\n  condition: evt.type=execve foo\n")
    error = only_error(loaded)
    assert error.code.name == "LOAD_ERR_COMPILE_CONDITION"
    assert error.message == "unexpected token after 'execve', expecting 'or', 'and'"
    assert error.line == 2
    assert error.snippet.splitlines()[1].index("^") == error.col - 1


# rules, append and override -----------------------------------------------------------------

BASE = """
- list: l
  items: [a]
- rule: r
  desc: base desc
  condition: evt.type=open
  output: base output
  priority: INFO
  tags: [one]
"""


def _rule(loaded: LoadedRules) -> Any:
    assert loaded.successful, [m.one_line() for m in loaded.result.errors]
    return loaded.rules[0]


@pytest.mark.parametrize(
    ("override", "check"),
    [
        (
            "condition: and proc.name=cat\n  override: {condition: append}",
            lambda r: r.condition_text == "evt.type=open and proc.name=cat",
        ),
        (
            "condition: evt.type=execve\n  override: {condition: replace}",
            lambda r: r.condition_text == "evt.type=execve",
        ),
        (
            "output: more\n  override: {output: append}",
            lambda r: r.output.text == "base output more",
        ),
        ("desc: new\n  override: {desc: replace}", lambda r: r.description == "new"),
        ("tags: [two, one]\n  override: {tags: append}", lambda r: r.tags == ("one", "two")),
        ("tags: [two]\n  override: {tags: replace}", lambda r: r.tags == ("two",)),
        ("priority: ERROR\n  override: {priority: replace}", lambda r: r.priority.name == "ERROR"),
        ("enabled: false\n  override: {enabled: replace}", lambda r: r.enabled is False),
    ],
)
def test_rule_override_matrix(override: str, check: Any) -> None:
    loaded = load(BASE + f"- rule: r\n  {override}\n")
    assert check(_rule(loaded))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "priority: ERROR\n  override: {priority: append}",
            "Key 'priority' cannot be appended to, use 'replace' instead",
        ),
        (
            "condition: x\n  desc: y\n  override: {condition: append}",
            "Unexpected key 'desc': no corresponding entry under 'override' is defined.",
        ),
        (
            "override: {condition: append}",
            "An append override for 'condition' was specified but 'condition' is not defined",
        ),
        (
            "condition: x\n  override: {condition: append}\n  append: true",
            "Keys 'override' and 'append: true' cannot be used together.",
        ),
        (
            "condition: x\n  override: {condition: merge}",
            "Key 'condition' has an invalid override value 'merge': expected 'append' or 'replace'",
        ),
    ],
)
def test_bad_overrides_are_errors(item: str, message: str) -> None:
    error = only_error(load(BASE + f"- rule: r\n  {item}\n"))
    assert error.message == message
    assert error.item_name == "r"


def test_override_of_missing_rule_is_an_error() -> None:
    error = only_error(load("- rule: ghost\n  condition: x\n  override: {condition: append}\n"))
    assert error.code.name == "LOAD_ERR_VALIDATE"


def test_list_append_and_override() -> None:
    appended = load(
        BASE
        + "- list: l\n  items: [b]\n  override: {items: append}\n"
        + RULE.format(name="s", condition="evt.type=open and proc.name in (l)")
    )
    assert "a, b" in condition_of(appended, "s")
    replaced = load(
        BASE
        + "- list: l\n  items: [c]\n  override: {items: replace}\n"
        + RULE.format(name="s", condition="evt.type=open and proc.name in (l)")
    )
    assert "( c )" in condition_of(replaced, "s")


def test_redefinition_keeps_the_original_position() -> None:
    loaded = load(
        RULE.format(name="first", condition="evt.type=open")
        + RULE.format(name="second", condition="evt.type=open")
        + RULE.format(name="first", condition="evt.type=execve")
    )
    assert [r.name for r in loaded.rules] == ["first", "second"]
    assert loaded.rules[0].condition_text == "evt.type=execve"


def test_enabled_only_item_toggles_an_existing_rule() -> None:
    loaded = load(BASE + "- rule: r\n  enabled: false\n")
    assert _rule(loaded).enabled is False
    error = only_error(load("- rule: ghost\n  enabled: false\n"))
    assert error.code.name == "LOAD_ERR_VALIDATE"


def test_new_rule_requires_its_keys_in_falco_order() -> None:
    error = only_error(load("- rule: r\n  desc: d\n  priority: INFO\n"))
    assert error.message == "Item has no mapping for key 'condition'"
    assert error.code.name == "LOAD_ERR_YAML_VALIDATE"


def test_invalid_priority() -> None:
    error = only_error(
        load(RULE.format(name="r", condition="evt.type=open").replace("INFO", "LOUD"))
    )
    assert error.message == "Invalid priority level: LOUD"


def test_unknown_items_keys_and_sources_warn() -> None:
    loaded = load(
        "- something: else\n"
        + RULE.format(name="r", condition="evt.type=open")
        + "  colour: blue\n"
        + RULE.format(name="k", condition="ka.verb=get")
        + "  source: k8s_audit\n"
    )
    assert loaded.successful
    assert codes(loaded.result.warnings) == [
        "LOAD_UNKNOWN_ITEM",
        "LOAD_UNKNOWN_KEY",
        "LOAD_UNKNOWN_SOURCE",
    ]
    assert [r.name for r in loaded.rules] == ["r"]


def test_configurable_sources() -> None:
    text = RULE.format(name="k", condition="evt.type=open") + "  source: k8s_audit\n"
    loaded = load(text, sources=("syscall", "k8s_audit"))
    assert [r.source for r in loaded.rules] == ["k8s_audit"]


@pytest.mark.parametrize(
    ("version", "ok"),
    [("2", True), ("0.10.0", True), ("0.57.0", True), ("0.99.0", False), ("1.0.0", False)],
)
def test_required_engine_version(version: str, ok: bool) -> None:
    loaded = load(f"- required_engine_version: {version}\n")
    assert loaded.successful is ok
    if not ok:
        assert only_error(loaded).item_type == "required_engine_version"


def test_required_plugin_versions_are_recorded() -> None:
    loaded = load(
        "- required_plugin_versions:\n  - name: container\n    version: 0.4.0\n"
        "    alternatives: [{name: other, version: 1.0.0}]\n"
    )
    assert loaded.successful
    assert loaded.required_plugins[0].name == "container"
    assert loaded.required_plugins[0].alternatives == [("other", "1.0.0")]
    bad = load("- required_plugin_versions:\n  - name: container\n    version: latest\n")
    assert not bad.successful


def test_skip_if_unknown_filter_turns_errors_into_warnings() -> None:
    text = RULE.format(name="r", condition="evt.type=open and proc.nobody=x")
    assert codes(load(text).result.errors) == ["LOAD_ERR_COMPILE_CONDITION"]
    skipped = load(text + "  skip-if-unknown-filter: true\n")
    assert skipped.successful
    assert codes(skipped.result.warnings) == ["LOAD_UNKNOWN_FILTER"]
    assert skipped.rules == []


def test_output_errors() -> None:
    loaded = load(
        RULE.format(name="r", condition="evt.type=open").replace(
            "output: o", "output: x %nope.field"
        )
    )
    error = only_error(loaded)
    assert (error.code.name, error.message) == (
        "LOAD_ERR_COMPILE_OUTPUT",
        "invalid formatting token nope.field",
    )


def test_no_evttype_warning_and_its_switch() -> None:
    text = RULE.format(name="r", condition="proc.name=cat")
    assert codes(load(text).result.warnings) == ["LOAD_NO_EVTTYPE"]
    assert load(text + "  warn_evttypes: false\n").result.warnings == []


def test_condition_error_position_maps_through_lists_to_the_yaml() -> None:
    text = (
        "- list: long_list_name\n  items: [aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb]\n"
        "- rule: r\n  desc: d\n  condition: proc.name in (long_list_name) and proc.nobody=1\n"
        "  output: o\n  priority: INFO\n"
    )
    error = only_error(load(text))
    assert error.line == 5
    line = text.splitlines()[4]
    assert line[error.col - 1 :].startswith("proc.nobody")


def test_yaml_cpp_leniencies() -> None:
    loaded = load(
        """
- rule: r
  desc: != after evt.type
  condition: evt.type=open
  output: o
  priority: INFO
  exceptions:
    - name: e
      fields: [proc.name, fd.name]
      comps: [=, in]
      values: [[yes, [0755]]]
"""
    )
    rule = _rule(loaded)
    assert rule.description == "after evt.type"
    assert "proc.name = yes and fd.name in (0755)" in rule.condition_text


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("foo: bar", "LOAD_ERR_YAML_VALIDATE", "Rules content is not yaml array of objects"),
        ("just text", "LOAD_ERR_YAML_VALIDATE", "Rules content is not yaml"),
        (
            "- [1, 2]",
            "LOAD_ERR_YAML_VALIDATE",
            "Unexpected element type. Each element should be a yaml associative array.",
        ),
        ("- list:\n  items: []", "LOAD_ERR_YAML_VALIDATE", "Mapping for key 'list' is empty"),
        ("a: [", "LOAD_ERR_YAML_PARSE", None),
    ],
)
def test_content_errors(text: str, code: str, message: str | None) -> None:
    error = only_error(load(text))
    assert error.code.name == code
    if message is not None:
        assert error.message == message


def test_first_error_stops_the_file_but_earlier_files_stay_successful() -> None:
    loaded = load_many(RULE.format(name="ok", condition="evt.type=open"), "foo: bar")
    assert [f.successful for f in loaded.result.files] == [True, False]
    assert [r.name for r in loaded.rules] == ["ok"]


def test_falco_json_shape() -> None:
    data = load("foo: bar").result.to_falco_json()
    (entry,) = data["falco_load_results"]
    assert entry["successful"] is False
    (error,) = entry["errors"]
    assert error["code"] == "LOAD_ERR_YAML_VALIDATE"
    assert error["context"]["locations"][0]["item_type"] == "rules content"
