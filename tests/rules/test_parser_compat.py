"""The parser against Falco's own rules files and expected messages (compat corpus, by path)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lanner.rules.errors import ConditionSyntaxError
from lanner.rules.parser import format_condition, parse_condition
from tests.conftest import compat_path

pytestmark = pytest.mark.compat


class _Loader(yaml.SafeLoader):
    """PyYAML reading Falco's files: no YAML 1.1 '=' value tag, unknown '!' tags kept as text."""


_Loader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:value"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_multi_constructor(
    "!",
    lambda loader, _suffix, node: loader.construct_scalar(node),
)


def load_rules_yaml(path: Path) -> list[dict[str, Any]]:
    try:
        docs = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError:
        return []  # the corpus holds deliberately broken YAML too
    return [d for d in docs if isinstance(d, dict)] if isinstance(docs, list) else []


def _quote_item(item: str) -> str:
    if " " in item and not (item.startswith(("'", '"')) and item.endswith(item[0])):
        return f'"{item}"'
    return item


def substitute_lists(text: str, lists: dict[str, list[Any]]) -> str:
    """A rough stand-in for the loader's textual list substitution."""
    for name, items in lists.items():
        joined = ", ".join(_quote_item(str(i)) for i in items)
        pattern = r"(?<=[\s(),=])" + re.escape(name) + r"(?=$|[\s(),=])"
        text = re.sub(pattern, joined.replace("\\", "\\\\"), text)
    text = re.sub(r",\s*(?=[,)])", "", text)  # what an empty list leaves behind
    return re.sub(r"\(\s*,", "(", text)


def _conditions(paths: list[Path]) -> list[tuple[str, str, str]]:
    found = []
    for path in paths:
        docs = load_rules_yaml(path)
        lists = {
            d["list"]: d["items"] for d in docs if "list" in d and isinstance(d.get("items"), list)
        }
        for doc in docs:
            condition = doc.get("condition")
            if not isinstance(condition, str) or doc.get("append"):
                continue  # appended fragments are joined to their base by the loader
            if "rule" in doc or "macro" in doc:
                name = str(doc.get("rule") or doc.get("macro"))
                found.append((path.name, name, substitute_lists(condition, lists)))
    return found


def test_every_condition_of_the_rulesets_and_test_files_parses() -> None:
    paths = sorted(compat_path("rules").rglob("*.yaml"))
    paths += sorted(compat_path("testing-repo-9a9c867", "rules").rglob("*.yaml"))
    conditions = _conditions(paths)
    assert len(conditions) > 1500
    failures = []
    for file, name, text in conditions:
        try:
            node = parse_condition(text)
        except ConditionSyntaxError as err:
            failures.append(f"{file}: {name}: {err} at {err.pos}")
            continue
        assert parse_condition(format_condition(node)) == node, (file, name)
    assert failures == []


@pytest.mark.parametrize(
    ("base", "appended", "message"),
    [
        ("invalid_base_rule.yaml", "invalid_append_rule.yaml", "after 'open', expecting"),
        ("invalid_base_macro.yaml", "invalid_append_macro.yaml", "after 'execve', expecting"),
    ],
)
def test_appended_condition_errors_match_falco(base: str, appended: str, message: str) -> None:
    folder = compat_path("testing-repo-9a9c867", "rules", "falco")
    first = load_rules_yaml(folder / base)[0]["condition"]
    second = load_rules_yaml(folder / appended)[0]["condition"]
    # Falco joins an appended condition to its base with a single space.
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(f"{first} {second}")
    assert caught.value.message == f"unexpected token {message} 'or', 'and'"
    assert caught.value.pos == len(first) + 1
