"""Delivery to real local HTTP receivers: a falcosidekick-like webhook and a Slack-like one.

The receiver goes away, alerts keep coming, the receiver comes back: every alert arrives,
once, in order, and the other sinks never waited for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.alerts.delivery import AlertDispatcher, RetryPolicy
from lanner.alerts.http_sinks import HttpSink, SlackSink, slack_payload
from lanner.alerts.local_sinks import FileSink
from lanner.alerts.sink import LineFormat, SinkConfigError
from lanner.store.spool import AlertSpool
from tests.alerts.receivers import HttpReceiver, make_alert

FAST_RETRY = RetryPolicy(initial=0.02, maximum=0.1, jitter=0.5)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    rx = HttpReceiver().start()
    yield rx
    rx.stop()


def _dispatcher(tmp_path: Path, *sinks: object) -> AlertDispatcher:
    names = [s.name for s in sinks]  # type: ignore[attr-defined]
    spool = AlertSpool(tmp_path / "spool.db", names)
    return AlertDispatcher(list(sinks), spool=spool, retry=FAST_RETRY, batch_size=16)  # type: ignore[arg-type]


def test_webhook_outage_every_alert_once_in_order(tmp_path: Path, receiver: HttpReceiver) -> None:
    dispatcher = _dispatcher(tmp_path, HttpSink(receiver.url))
    sent = [make_alert(i) for i in range(30)]
    for alert in sent[:10]:
        dispatcher(alert)
    assert receiver.wait_for(10)
    receiver.stop()
    for alert in sent[10:25]:
        dispatcher(alert)
    time.sleep(0.3)  # several failed attempts while it is down
    assert dispatcher.depth("http") == 15
    assert dispatcher.workers[0].stats.failures >= 1
    receiver.start()
    for alert in sent[25:]:
        dispatcher(alert)
    assert receiver.wait_for(30)
    assert dispatcher.wait_idle(5)
    dispatcher.close()
    got = receiver.snapshot()
    assert [b["uuid"] for b in got] == [a.id for a in sent]  # once each, in order
    assert len({b["uuid"] for b in got}) == len(got)
    # falcosidekick's payload: Falco's keys plus uuid.
    first = got[0]
    assert set(first) >= {"uuid", "output", "priority", "rule", "time", "output_fields", "source"}
    assert first["output_fields"]["seq"] == 0
    assert first["priority"] == "Warning" and first["hostname"] == "node-1"


def test_server_errors_are_retried_client_errors_skipped(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    sink = HttpSink(receiver.url)
    dispatcher = _dispatcher(tmp_path, sink)
    receiver.status = 503
    dispatcher(make_alert(0))
    time.sleep(0.2)
    assert receiver.snapshot() == []
    receiver.status = 200
    assert receiver.wait_for(1)
    receiver.status = 400  # will never take it: counted and skipped, not retried forever
    dispatcher(make_alert(1))
    time.sleep(0.2)
    receiver.status = 200
    dispatcher(make_alert(2))
    assert receiver.wait_for(2)
    dispatcher.close()
    assert [b["output_fields"]["seq"] for b in receiver.snapshot()] == [0, 2]
    assert sink.rejected[0] == 1


def test_headers_and_user_agent_reach_the_receiver(tmp_path: Path, receiver: HttpReceiver) -> None:
    dispatcher = _dispatcher(
        tmp_path,
        HttpSink(receiver.url + "hook?x=1", user_agent="agent/9", headers={"X-Token": "abc"}),
    )
    dispatcher(make_alert(0))
    assert receiver.wait_for(1)
    dispatcher.close()
    path, headers = receiver.requests[0]
    assert path == "/hook?x=1"
    assert headers["User-Agent"] == "agent/9" and headers["X-Token"] == "abc"
    assert headers["Content-Type"] == "application/json"


def test_slow_sink_blocks_neither_detection_nor_other_sinks(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    receiver.delay = 0.05  # 20 alerts take >= 1 s to this receiver
    log = tmp_path / "alerts.log"
    dispatcher = _dispatcher(tmp_path, HttpSink(receiver.url), FileSink(LineFormat(), log))
    start = time.monotonic()
    for i in range(20):
        dispatcher(make_alert(i))
    publish_time = time.monotonic() - start
    assert publish_time < 0.5
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (
        log.exists() and len(log.read_text().splitlines()) == 20
    ):
        time.sleep(0.02)
    assert len(log.read_text().splitlines()) == 20
    assert len(receiver.snapshot()) < 20  # the file did not wait for the slow receiver
    assert receiver.wait_for(20)
    dispatcher.close()


def test_slack_outage_every_message_once_in_order(tmp_path: Path, receiver: HttpReceiver) -> None:
    dispatcher = _dispatcher(
        tmp_path,
        SlackSink(receiver.url, minimum_priority="notice", dashboard_url="http://lanner:8080/"),
    )
    receiver.stop()
    alerts = [make_alert(i, priority="Critical" if i % 2 else "Informational") for i in range(12)]
    for alert in alerts:
        dispatcher(alert)
    time.sleep(0.2)
    receiver.start()
    wanted = [a for a in alerts if a.priority == "Critical"]
    assert receiver.wait_for(len(wanted))
    assert dispatcher.wait_idle(5)
    dispatcher.close()
    got = receiver.snapshot()
    assert len(got) == len(wanted)  # below minimum_priority: not sent
    links = [b["attachments"][0]["title_link"] for b in got]
    assert links == [f"http://lanner:8080/alerts/{a.id}" for a in wanted]
    assert dispatcher.workers[0].stats.filtered == len(alerts) - len(wanted)


def test_slack_message_shape() -> None:
    alert = make_alert(
        7,
        priority="Critical",
        **{"container.id": "abc123", "k8s.pod.name": "web-1", "fd.sip": "10.0.0.9"},
    )
    payload = slack_payload(alert)
    attachment = payload["attachments"][0]
    assert attachment["color"] == "#ff5400"
    assert attachment["text"] == alert.output
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["rule"] == "Test rule" and fields["priority"] == "Critical"
    assert fields["container.id"] == "abc123" and fields["k8s.pod.name"] == "web-1"
    assert fields["fd.sip"] == "10.0.0.9" and fields["proc.cmdline"] == "cat /etc/shadow-7"
    assert fields["tags"] == "mitre_credential_access, test"
    titles = [f["title"] for f in attachment["fields"]]
    assert titles[-1] == "time" and titles[5:-1] == sorted(titles[5:-1])
    assert "title_link" not in attachment
    text_only = slack_payload(alert, output_format="text")["attachments"][0]
    assert "fields" not in text_only and text_only["text"] == alert.output
    fields_only = slack_payload(alert, output_format="fields")["attachments"][0]
    assert "text" not in fields_only
    assert slack_payload(make_alert(1, priority="Debug"))["attachments"][0]["color"] == "#ccfff2"


def test_bad_urls_and_options_are_config_errors() -> None:
    with pytest.raises(SinkConfigError, match=r"http_output\.url"):
        HttpSink("ftp://example")
    with pytest.raises(SinkConfigError, match=r"slack_output\.webhook_url"):
        SlackSink("not a url")
    with pytest.raises(SinkConfigError, match="output_format"):
        SlackSink("http://127.0.0.1:1/", output_format="pretty")
    with pytest.raises(SinkConfigError, match="minimum_priority"):
        SlackSink("http://127.0.0.1:1/", minimum_priority="urgent")
