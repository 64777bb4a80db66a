"""Upstream Falco rulesets load and compile unmodified, with the real field catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.rules.loader import load_rules_files
from tests.conftest import COMPAT, compat_path

RULESETS = sorted(str(p.relative_to(COMPAT)) for p in (COMPAT / "rules").glob("**/*.yaml"))
CURRENT = "rules/falcosecurity-rules-c72713e"


@pytest.mark.compat
@pytest.mark.parametrize("relative", RULESETS)
def test_upstream_ruleset_compiles_without_errors(relative: str) -> None:
    path = compat_path(relative)
    loaded = load_rules_files([path])
    assert [m.one_line() for m in loaded.result.errors] == []
    text = path.read_text()
    assert len(loaded.rules) == text.count("\n- rule:") + text.startswith("- rule:")


@pytest.mark.compat
def test_stable_incubating_sandbox_load_together() -> None:
    files = [
        compat_path(CURRENT, name)
        for name in ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
    ]
    loaded = load_rules_files(files)
    assert [m.one_line() for m in loaded.result.errors] == []
    assert len(loaded.rules) == 25 + 31 + 37
    assert all(rule.evttypes is not None for rule in loaded.rules)


@pytest.mark.compat
def test_stable_ruleset_facts() -> None:
    loaded = load_rules_files([compat_path(CURRENT, "falco_rules.yaml")])
    by_name = {rule.name: rule for rule in loaded.rules}
    shell = by_name["Terminal shell in container"]
    assert shell.priority.display == "Notice"
    assert shell.evttypes is not None and "execve" in shell.evttypes
    assert "container" in shell.tags
    assert loaded.required_engine_version is not None
    assert any(plugin.name == "container" for plugin in loaded.required_plugins)


def test_rule_count_helper_sees_every_file() -> None:
    # Guards the parametrisation above from silently collecting nothing.
    if not (COMPAT / "rules").exists():
        pytest.skip("compat corpus not available")
    assert len(RULESETS) >= 7
    assert all(Path(COMPAT, r).suffix == ".yaml" for r in RULESETS)
