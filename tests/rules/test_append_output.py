"""falco.yaml's append_output and static_fields: which rules an entry matches, what the text
line and the JSON output_fields gain, and the one-line mistakes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from lanner.alerts.alert import alert_for
from lanner.cli import _register, app
from lanner.fields import default_registry
from lanner.rules.append_output import (
    AppendOutputError,
    apply_append_output,
    parse_append_output,
)
from lanner.rules.loader import load_rules_string
from tests.conftest import compat_path

REGISTRY = default_registry()
RULES = """
- rule: Shell in a container
  desc: t
  condition: evt.type = execve and proc.name = sh
  output: shell (proc=%proc.name)
  priority: WARNING
  tags: [container, shell]
- rule: Shell on the host
  desc: t
  condition: evt.type = execve and proc.name = bash
  output: host shell (proc=%proc.name)
  priority: NOTICE
  tags: [shell]
"""


def _rules() -> dict[str, Any]:
    loaded = load_rules_string(RULES, "t.yaml")
    assert loaded.successful, loaded.result
    return {rule.name: rule for rule in loaded.ruleset().rules}


def _event() -> Any:
    thread = SimpleNamespace(comm="sh", exe="sh", pid=7, tid=7)
    return SimpleNamespace(ts=5, thread=thread, cpu=3, type_name="execve")


def test_entries_match_by_source_rule_and_all_tags() -> None:
    rules = _rules()
    entries = parse_append_output(
        [
            {"match": {"tags": ["container", "shell"]}, "extra_output": "on cpu %evt.cpu"},
            {"match": {"rule": "Shell on the host"}, "extra_fields": ["evt.cpu"]},
            {"match": {"source": "k8s_audit"}, "extra_output": "never"},
            {"extra_fields": [{"team": "platform"}]},
        ],
        {"cluster": "prod-1", "zone": 3},
        REGISTRY,
    )
    assert apply_append_output(rules.values(), entries, REGISTRY) == 2
    inside, host = rules["Shell in a container"], rules["Shell on the host"]
    assert inside.output.text == "shell (proc=%proc.name) on cpu %evt.cpu"
    assert host.output.text == "host shell (proc=%proc.name)"  # only JSON fields for it
    assert [key for key, _ in host.output.extra] == ["evt.cpu", "team", "cluster", "zone"]
    assert [key for key, _ in inside.output.extra] == ["team", "cluster", "zone"]
    # The engine's field-aware selection sees the extra fields too.
    assert "evt.cpu" in {f.key for f in host.output.fields}


def test_the_alert_carries_the_text_and_the_json_only_fields() -> None:
    rules = _rules()
    entries = parse_append_output(
        [
            {
                "match": {"source": "syscall"},
                "extra_output": "on cpu %evt.cpu",
                "extra_fields": ["proc.name", {"home": "/root"}, {"who": "%proc.name/%evt.cpu"}],
            }
        ],
        None,
        REGISTRY,
    )
    apply_append_output(rules.values(), entries, REGISTRY)
    alert = alert_for(rules["Shell in a container"], _event(), hostname="h")
    assert alert.output == "shell (proc=sh) on cpu 3"
    assert alert.output_fields["home"] == "/root" and alert.output_fields["who"] == "sh/3"
    assert alert.output_fields["proc.name"] == "sh" and alert.output_fields["evt.cpu"] == 3


@pytest.mark.parametrize(
    ("entries", "static", "message"),
    [
        ({"match": {}}, None, r"append_output: expected a list"),
        ([{"mtch": {}}], None, r"append_output\[0\]: unknown key 'mtch'"),
        ([{"match": {"tag": "x"}}], None, r"append_output\[0\]\.match: unknown key 'tag'"),
        ([{"extra_output": "cpu %evt.nope"}], None, r"append_output\[0\]\.extra_output: "),
        (
            [{}, {"extra_fields": ["proc.name", "proc.nope"]}],
            None,
            r"append_output\[1\]\.extra_fields\[1\]: unknown field 'proc.nope'",
        ),
        ([{"extra_fields": [{"a": [1]}]}], None, r"extra_fields\[0\]\.a: expected a text value"),
        ([{"match": {"tags": [1]}}], None, r"append_output\[0\]\.match\.tags: expected a list"),
        ([], ["x"], r"static_fields: expected a mapping"),
    ],
)
def test_mistakes_name_the_entry_and_key(entries: Any, static: Any, message: str) -> None:
    with pytest.raises(AppendOutputError, match=message):
        parse_append_output(entries, static, REGISTRY)


def test_replay_with_append_output_from_the_command_line(tmp_path: Path) -> None:
    capture = compat_path("scap", "falco-0.34.1", "cat_write.scap")
    rules = compat_path("testing-repo-9a9c867", "rules", "falco", "single_rule.yaml")
    _register()
    entry = {"match": {"rule": "open_from_cat"}, "extra_output": "(cpu %evt.cpu)",
             "extra_fields": ["evt.hostname", {"site": "${LANNER_TEST_SITE}"}]}  # fmt: skip
    result = CliRunner(env={"LANNER_TEST_SITE": "lab-7"}).invoke(
        app,
        [
            "replay", str(capture), "--legacy", "-r", str(rules), "--json",
            "-o", f"append_output[]={json.dumps(entry)}",
            "-o", "static_fields.owner=secops",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert alerts
    for alert in alerts:
        assert alert["output"].endswith(f"(cpu {alert['output_fields']['evt.cpu']})")
        assert alert["output_fields"]["site"] == "lab-7"
        assert alert["output_fields"]["owner"] == "secops"
        assert "evt.hostname" in alert["output_fields"]


def test_a_bad_entry_on_the_command_line_is_one_line() -> None:
    capture = compat_path("scap", "falco-0.34.1", "cat_write.scap")
    _register()
    result = CliRunner().invoke(
        app, ["replay", str(capture), "-o", 'append_output[]={"extra_fields": ["proc.nope"]}']
    )
    assert result.exit_code == 1
    assert "append_output[0].extra_fields[0]: unknown field 'proc.nope'" in result.stderr
    assert "Traceback" not in result.stderr
