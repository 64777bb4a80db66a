from __future__ import annotations

from pathlib import Path

import pytest

from lanner.config import (
    ConfigError,
    get_bool,
    get_number,
    get_value,
    load_config,
    parse_override,
)


def test_overrides_are_typed_and_nested() -> None:
    cfg = load_config(
        None, ["json_output=true", "file_output.filename=/tmp/x.log", "priority=warning"]
    )
    assert cfg["json_output"] is True
    assert get_value(cfg, "file_output.filename") == "/tmp/x.log"
    assert get_value(cfg, "file_output.enabled") is False  # untouched sibling keeps its default
    assert cfg["priority"] == "warning"


def test_override_list_index() -> None:
    path, value = parse_override("rules[1].disable.rule=foo*")
    assert path == ["rules", 1, "disable", "rule"]
    assert value == "foo*"
    cfg = load_config(None, ["rules[0].enable.tag=network"])
    assert cfg["rules"] == [{"enable": {"tag": "network"}}]


def test_file_then_overrides(tmp_path: Path) -> None:
    f = tmp_path / "lanner.yaml"
    f.write_text("json_output: true\nstdout_output:\n  enabled: false\n")
    cfg = load_config(f, ["json_output=false"])
    assert cfg["json_output"] is False
    assert get_bool(cfg, "stdout_output.enabled") is False


@pytest.mark.parametrize("bad", ["novalue", "=x", "a..b=1", "a b=1"])
def test_bad_override_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="-o"):
        load_config(None, [bad])


def test_bad_file_names_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+:\d+"):
        load_config(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    g = tmp_path / "list.yaml"
    g.write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(g)


def test_get_bool_rejects_non_bool() -> None:
    cfg = load_config(None, ["json_output=maybe"])
    with pytest.raises(ConfigError, match="json_output"):
        get_bool(cfg, "json_output")


def test_get_number_reads_numbers_and_rejects_the_rest() -> None:
    cfg = load_config(None, ["containers.alert_wait_ms=250"])
    assert get_number(cfg, "containers.alert_wait_ms", 1000) == 250.0
    assert get_number(load_config(None, []), "containers.alert_wait_ms", 7) == 1000.0  # default
    for bad in ("soon", "-1", "true"):
        cfg = load_config(None, [f"containers.alert_wait_ms={bad}"])
        with pytest.raises(ConfigError, match=r"containers\.alert_wait_ms: expected a number"):
            get_number(cfg, "containers.alert_wait_ms", 1000)


def test_bracket_append_adds_list_items() -> None:
    cfg = load_config(
        None,
        [
            'append_output[]={"extra_output": "a"}',
            "append_output[]={extra_output: b}",
            "rules[].disable.rule=x*",
        ],
    )
    assert [e["extra_output"] for e in cfg["append_output"]] == ["a", "b"]
    assert cfg["rules"] == [{"disable": {"rule": "x*"}}]


def test_environment_variables_expand_in_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANNER_T_HOME", "/home/t")
    monkeypatch.delenv("LANNER_T_UNSET", raising=False)
    f = tmp_path / "lanner.yaml"
    f.write_text(
        "file_output: {filename: '${LANNER_T_HOME}/alerts.log'}\n"
        "static_fields: {a: '${LANNER_T_UNSET}', b: '$${LANNER_T_HOME}', c: 'x${LANNER_T_HOME}y'}\n"
    )
    cfg = load_config(f, ["http_output.url=http://h/${LANNER_T_HOME}"])
    assert cfg["file_output"]["filename"] == "/home/t/alerts.log"
    assert cfg["static_fields"] == {"a": "", "b": "${LANNER_T_HOME}", "c": "x/home/ty"}
    assert cfg["http_output"]["url"] == "http://h//home/t"


def test_falco_legacy_rules_file_key_is_read(tmp_path: Path) -> None:
    """A falco.yaml from before `rules_files` names the list `rules_file` (a single path in
    the oldest ones); both forms load, and `rules_files` wins when both are there."""
    old = tmp_path / "old.yaml"
    old.write_text("rules_file:\n  - /etc/falco/falco_rules.yaml\n  - /etc/falco/rules.d\n")
    assert load_config(old)["rules_files"] == ["/etc/falco/falco_rules.yaml", "/etc/falco/rules.d"]
    single = tmp_path / "single.yaml"
    single.write_text("rules_file: /etc/falco/falco_rules.yaml\n")
    assert load_config(single)["rules_files"] == ["/etc/falco/falco_rules.yaml"]
    both = tmp_path / "both.yaml"
    both.write_text("rules_file: [/a.yaml]\nrules_files: [/b.yaml]\n")
    assert load_config(both)["rules_files"] == ["/b.yaml"]
    # and on the command line, as Falco's `-o rules_file=...`
    assert load_config(None, ["rules_file=/c.yaml"])["rules_files"] == ["/c.yaml"]


def test_unknown_settings_are_named_with_the_nearest_known_one(tmp_path: Path) -> None:
    """A typo in lanner.yaml or -o would otherwise be ignored without a word."""
    path = tmp_path / "lanner.yaml"
    path.write_text(
        "json_ouput: true\n"
        "file_output: {enabled: false, filname: /tmp/x}\n"
        "http_output: {headers: {X-Token: abc}}\n"  # free-form maps are not checked
        "alerts: {rate_limit: {rules: {Some rule: 2}}}\n"
        "static_fields: {cluster: prod}\n"
        "rules: [{disable: {tag: network}}]\n"
        "zzzz: 1\n"
    )
    notes: list[str] = []
    config = load_config(path, ["priority=warning", "stdout_output.enabeld=false"], notes)
    assert notes == [
        f"{path}: unknown setting 'json_ouput' (did you mean 'json_output'?)",
        f"{path}: unknown setting 'file_output.filname' (did you mean 'file_output.filename'?)",
        f"{path}: unknown setting 'zzzz'",
        "-o stdout_output.enabeld: unknown setting 'stdout_output.enabeld'"
        " (did you mean 'stdout_output.enabled'?)",
    ]
    assert config["json_output"] is False  # the typo set nothing


def test_falco_only_settings_are_listed_once(tmp_path: Path) -> None:
    """A falco.yaml brought over loads; its settings lanner has no use for are listed in one
    line, not reported as typos."""
    path = tmp_path / "falco.yaml"
    path.write_text(
        "rules_file: [/etc/falco/falco_rules.yaml]\n"
        "log_level: info\n"
        "grpc: {enabled: false}\n"
        "webserver: {enabled: true, listen_port: 8765, ssl_enabled: false}\n"
        "metrics: {enabled: true, interval: 1h}\n"
        "engine: {kind: modern_ebpf}\n"
    )
    notes: list[str] = []
    load_config(path, [], notes)
    assert notes == [
        f"{path}: Falco settings lanner does not use: log_level, grpc, webserver.ssl_enabled, "
        "metrics.interval, engine.kind"
    ]
    notes.clear()
    load_config(None, ["json_output=true", "alerts.fold.enabled=true"], notes)
    assert notes == []
