"""Sinks from the configuration (falco.yaml keys, -o overrides) and through `lanner replay`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lanner.alerts.configure import build_dispatcher, build_limiter, build_sinks
from lanner.alerts.sink import LineFormat, SinkConfigError
from lanner.cli import _register, app
from lanner.config import load_config
from tests.alerts.receivers import HttpReceiver, make_alert
from tests.conftest import compat_path

TESTING = "testing-repo-9a9c867"


def _names(overrides: list[str]) -> list[str]:
    messages: list[str] = []
    sinks = build_sinks(load_config(None, overrides), LineFormat(), messages.append)
    return [s.name for s in sinks]


def test_defaults_are_stdout_only() -> None:
    assert _names([]) == ["stdout"]


def test_overrides_enable_every_sink(tmp_path: Path) -> None:
    names = _names(
        [
            "stdout_output.enabled=false",
            "file_output.enabled=true",
            f"file_output.filename={tmp_path / 'a.log'}",
            "file_output.rotation.max_bytes=1000",
            "syslog_output.enabled=true",
            "program_output.enabled=true",
            "program_output.program=cat",
            "http_output.enabled=true",
            "http_output.url=http://127.0.0.1:2801/",
            "slack_output.enabled=true",
            "slack_output.webhook_url=http://127.0.0.1:9/hook",
            "nats_output.enabled=true",
            "nats_output.servers=nats://127.0.0.1:4222",
        ]
    )
    assert names == ["file", "syslog", "program", "http", "slack", "nats"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("http_output.url=", r"http_output\.url: required"),
        (
            "file_output.rotation.max_bytes=lots",
            r"file_output\.rotation\.max_bytes: expected an integer",
        ),
        ("slack_output.minimum_priority=urgent", r"slack_output\.minimum_priority"),
        ("nats_output.subject=a b", r"nats_output\.subject"),
        ("stdout_output.enabled=maybe", r"stdout_output\.enabled: expected true or false"),
    ],
)
def test_mistakes_name_the_key(override: str, message: str) -> None:
    section = override.split(".", maxsplit=1)[0]
    overrides = [f"{section}.enabled=true", override]
    if section == "slack_output":
        overrides.append("slack_output.webhook_url=http://127.0.0.1:9/")
    if section == "nats_output":
        overrides.append("nats_output.servers=[nats://127.0.0.1:4222]")
    if section == "file_output":
        overrides.append("file_output.filename=/tmp/x")
    with pytest.raises(SinkConfigError, match=message):
        build_sinks(load_config(None, overrides), LineFormat(), print)


def test_file_output_without_filename_is_a_warning_as_in_falco() -> None:
    messages: list[str] = []
    cfg = load_config(None, ["file_output.enabled=true", "file_output.filename="])
    assert [s.name for s in build_sinks(cfg, LineFormat(), messages.append)] == ["stdout"]
    assert "without a filename" in messages[0]


def test_limiter_from_config() -> None:
    assert build_limiter(load_config(None, [])) is None
    limiter = build_limiter(
        load_config(
            None,
            [
                "alerts.fold.enabled=true",
                "alerts.fold.window=30",
                "alerts.rate_limit.enabled=true",
                "alerts.rate_limit.rules={Noisy: {rate: 0.5, max_burst: 2}}",
            ],
        )
    )
    assert limiter is not None and limiter.folder is not None and limiter.rate is not None
    assert limiter.folder.window_s == 30
    assert limiter.rate.rules["Noisy"].max_burst == 2
    with pytest.raises(SinkConfigError, match=r"alerts\.fold\.key_fields"):
        build_limiter(load_config(None, ["alerts.fold.enabled=true", "alerts.fold.key_fields=[]"]))


def test_durable_spool_path_from_config(tmp_path: Path) -> None:
    receiver = HttpReceiver()  # never started: everything stays spooled
    spool = tmp_path / "state" / "spool.db"
    cfg = load_config(
        None,
        [
            "stdout_output.enabled=false",
            "http_output.enabled=true",
            f"http_output.url={receiver.url}",
            f"alerts.spool.path={spool}",
            "alerts.shutdown_timeout=0.2",
        ],
    )
    dispatcher = build_dispatcher(cfg, LineFormat(), log=print)
    dispatcher(make_alert(0))
    dispatcher.close()
    assert spool.exists()
    again = build_dispatcher(cfg, LineFormat(), log=print)
    assert again.depth("http") == 1  # still waiting for its receiver
    with pytest.raises(SinkConfigError, match="in use by another lanner"):
        build_dispatcher(cfg, LineFormat(), log=print)
    again.close(timeout=0.1)


def _replay(args: list[str]) -> tuple[int, str, str]:
    _register()
    result = CliRunner().invoke(app, ["replay", *args])
    return result.exit_code, result.stdout, result.stderr


def test_replay_writes_file_and_webhook_from_overrides(tmp_path: Path) -> None:
    base = compat_path(TESTING)
    capture = compat_path("scap", "falco-0.34.1", "cat_write.scap")
    receiver = HttpReceiver().start()
    log = tmp_path / "alerts.json"
    try:
        code, out, err = _replay(
            [
                str(capture),
                "--legacy",
                "-r",
                str(base / "rules" / "falco" / "single_rule.yaml"),
                "--json",
                "-o",
                "file_output.enabled=true",
                "-o",
                f"file_output.filename={log}",
                "-o",
                "http_output.enabled=true",
                "-o",
                f"http_output.url={receiver.url}",
            ]
        )
    finally:
        receiver.stop()
    assert code == 0, err
    stdout_alerts = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    file_alerts = [json.loads(line) for line in log.read_text().splitlines()]
    assert stdout_alerts and file_alerts == stdout_alerts
    posted = receiver.snapshot()
    assert [p["output"] for p in posted] == [a["output"] for a in stdout_alerts]
    assert len({p["uuid"] for p in posted}) == len(posted)


def test_replay_sink_mistake_is_one_line(tmp_path: Path) -> None:
    capture = compat_path("scap", "falco-0.34.1", "cat_write.scap")
    code, _out, err = _replay(
        [str(capture), "-o", "http_output.enabled=true", "-o", "http_output.url=nowhere"]
    )
    assert code == 1
    assert "lanner: http_output.url: expected an http:// or https:// URL" in err
    assert "Traceback" not in err
