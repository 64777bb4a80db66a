"""The shape every default rule promises (issue #6), checked on the shipped file itself.

Each rule: a description, a priority, MITRE ATT&CK tactic and technique tags, an output naming
the process, its parent, the command line, the user, the container and the pod (and the
connection for network rules); and the file loads with a user's overrides appended to it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

RULES_FILE = ROOT / "src" / "lanner" / "rules" / "default" / "lanner_rules.yaml"
LANNER = Path(sys.executable).with_name("lanner")
PRIORITIES = {"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFORMATIONAL"}
OUTPUT_FIELDS = (
    "%proc.cmdline",
    "%proc.pname",
    "%user.name",
    "%container.name",
    "%container.id",
    "%k8s.pod.name",
    "%k8s.ns.name",
)
IP_SOCKETS = re.compile(r"lanner_outbound_net|fd\.typechar = [46]")


def _items() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES_FILE.read_text())
    assert isinstance(loaded, list)
    return loaded


RULES = [item for item in _items() if "rule" in item]


def test_twenty_rules_with_unique_names() -> None:
    names = [rule["rule"] for rule in RULES]
    assert len(names) == 20 and len(set(names)) == 20


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: str(rule["rule"]))
def test_rule_has_desc_priority_and_mitre_tags(rule: dict[str, Any]) -> None:
    assert len(rule["desc"].split()) >= 8
    assert rule["priority"] in PRIORITIES
    tags = rule["tags"]
    assert any(tag.startswith("mitre_") for tag in tags), tags
    assert any(re.fullmatch(r"T\d{4}(\.\d{3})?", tag) for tag in tags), tags


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: str(rule["rule"]))
def test_output_names_process_user_container_and_pod(rule: dict[str, Any]) -> None:
    output = rule["output"]
    missing = [field for field in OUTPUT_FIELDS if field not in output]
    assert not missing, missing
    if "network" in rule["tags"]:
        assert "%fd.name" in output
    if IP_SOCKETS.search(rule["condition"]):  # the tuple: the peer's address and port
        assert "%fd.sip:%fd.sport" in output


def test_overridable_names() -> None:
    """Lists and macros a user may redefine carry the documented prefixes."""
    names = [item.get("list") or item.get("macro") for item in _items()]
    named = [name for name in names if name]
    assert named and all(re.match(r"(lanner_|allowed_|never_true_)", name) for name in named)


def test_user_overrides_load_after_the_default_file(tmp_path: Path) -> None:
    overrides = tmp_path / "local_rules.yaml"
    overrides.write_text(
        "- list: allowed_shell_parents\n"
        "  items: [my-entrypoint]\n"
        "  override: {items: append}\n"
        "- macro: allowed_container_shell\n"
        '  condition: (proc.pcmdline contains "healthcheck.sh")\n'
        "  override: {condition: replace}\n"
    )
    done = subprocess.run(
        [str(LANNER), "rules", "validate", str(RULES_FILE), str(overrides)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "20 rules compiled" in done.stdout + done.stderr
