"""Output formats, and alerts in Falco's text and JSON shapes."""

from __future__ import annotations

import json

import pytest

from lanner.alerts.alert import Alert, OutputOptions, alert_for, time_clock, time_iso8601
from lanner.rules.loader import load_rules_string
from lanner.rules.output import OutputFormatError, compile_output
from tests.conftest import compat_path
from tests.rules.test_ruleset import EVENT_TYPES, FakeEvent, fake_registry

REGISTRY = fake_registry()


def render(fmt: str, event: FakeEvent) -> str:
    return compile_output(fmt, REGISTRY).render(event)


def test_fields_and_literals() -> None:
    event = FakeEvent("open", proc_name="cat", fd_name="/etc/passwd")
    assert render("open by %proc.name of %fd.name!", event) == "open by cat of /etc/passwd!"


def test_longest_valid_field_wins_and_trailing_dot_is_text() -> None:
    event = FakeEvent("open", proc_name="cat")
    assert render("name=%proc.name.", event) == "name=cat."
    assert render("(%proc.name)", event) == "(cat)"


def test_bracket_and_dotted_arguments() -> None:
    event = FakeEvent("open", args={"flags": "O_RDONLY"}, ancestors=("bash", "sshd"))
    assert render("%evt.arg.flags %evt.arg[flags]", event) == "O_RDONLY O_RDONLY"
    assert render("%proc.aname[1]", event) == "sshd"


def test_unavailable_values_print_na_and_json_null() -> None:
    fmt = compile_output("file=%fd.name pid=%proc.pid", REGISTRY)
    event = FakeEvent("open", fd_name=None)
    assert fmt.render(event) == "file=<NA> pid=42"
    assert fmt.output_fields(event) == {"fd.name": None, "proc.pid": 42}


def test_transformers() -> None:
    event = FakeEvent("open", proc_name="CaT", fd_name="/tmp/dir/file.txt")
    fmt = compile_output("%tolower(proc.name) %toupper(proc.name) %basename(fd.name)", REGISTRY)
    assert fmt.render(event) == "cat CAT file.txt"
    assert list(fmt.output_fields(event)) == [
        "tolower(proc.name)",
        "toupper(proc.name)",
        "basename(fd.name)",
    ]


def test_leading_star_and_width() -> None:
    event = FakeEvent("open", proc_name="cat")
    assert render("*%proc.name", event) == "cat"
    assert render("[%6proc.name]", event) == "[cat   ]"


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("x %not_a_real_field", "invalid formatting token not_a_real_field"),
        ("proc.nobody=%proc.nobody", "invalid formatting token proc.nobody"),
        ("net %fd.net", "invalid formatting token fd.net"),
        ("ends with %", "invalid formatting syntax: formatting cannot end with a %"),
    ],
)
def test_invalid_tokens(fmt: str, message: str) -> None:
    with pytest.raises(OutputFormatError) as info:
        compile_output(fmt, REGISTRY)
    assert info.value.message == message


def test_time_formats() -> None:
    ns = 1_470_327_477_881_781_397
    assert time_iso8601(ns) == "2016-08-04T16:17:57.881781397+0000"
    assert time_clock(ns) == "16:17:57.881781397"


RULE_WITH_TAGS = """
- rule: open_from_cat
  desc: A process named cat does an open
  condition: evt.type=open and proc.name=cat
  output: "An open was seen (command=%proc.cmdline)"
  priority: WARNING
  tags: [testing, filesystem, process]
"""


def _alert(iso: bool) -> Alert:
    loaded = load_rules_string(RULE_WITH_TAGS, registry=REGISTRY, event_types=EVENT_TYPES)
    (rule,) = loaded.rules
    event = FakeEvent("open", proc_name="cat /dev/null")
    return alert_for(
        rule,
        event,
        hostname="test-falco-hostname",
        options=OutputOptions(time_format_iso_8601=iso),
    )


def test_alert_matches_falco_expected_json_line() -> None:
    expected_path = compat_path(
        "testing-repo-9a9c867", "outputs", "single_rule_with_cat_write.json"
    )
    expected = json.loads(expected_path.read_text().splitlines()[0])
    alert = _alert(iso=True)
    produced = json.loads(alert.to_json(OutputOptions(time_format_iso_8601=True)))
    assert produced == expected
    assert list(produced) == [k for k in expected if k != "output_fields"] + ["output_fields"]


def test_alert_matches_falco_expected_text_line() -> None:
    expected_path = compat_path("testing-repo-9a9c867", "outputs", "single_rule_with_cat_write.txt")
    expected = expected_path.read_text().splitlines()[0]
    assert _alert(iso=True).text_line(iso8601=True) == expected


def test_json_switches() -> None:
    alert = _alert(iso=False)
    data = alert.to_falco_dict(
        OutputOptions(
            json_include_output_property=False,
            json_include_tags_property=False,
            json_include_message_property=True,
        )
    )
    assert "output" not in data and "tags" not in data
    assert data["message"] == "An open was seen (command=cat /dev/null)"
    assert data["output_fields"]["evt.time"] == alert.time_ns
    assert alert.text_line().startswith("16:17:57.881781397: Warning ")
