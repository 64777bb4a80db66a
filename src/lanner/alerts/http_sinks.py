"""Sinks over HTTP: a falcosidekick-compatible webhook and Slack's incoming webhook.

One POST per alert on a kept-alive connection (what falcosidekick and Slack expect). A 2xx
answer is a delivery. No answer, a 5xx, 408 or 429 is a failure the worker retries. Any
other 4xx says the receiver will never take this alert: it is counted as rejected and
skipped, since retrying it forever would hold back every alert behind it.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from lanner.alerts.alert import Alert, OutputOptions, time_json
from lanner.alerts.sink import DeliveryError, Sink, SinkConfigError, severity

_RETRYABLE_4XX = (408, 429)
USER_AGENT = "lanner"


class _Poster:
    """A kept-alive HTTP(S) connection to one URL."""

    def __init__(
        self,
        url: str,
        *,
        key: str,
        headers: Mapping[str, str] | None = None,
        insecure: bool = False,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SinkConfigError(f"{key}: expected an http:// or https:// URL, got {url!r}")
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        try:
            self.port = parts.port
        except ValueError:
            raise SinkConfigError(f"{key}: bad port in {url!r}") from None
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
        self.headers.update(headers or {})
        self.timeout = timeout
        self.context: ssl.SSLContext | None = None
        if self.https:
            self.context = ssl.create_default_context()
            if insecure:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            conn: http.client.HTTPConnection
            if self.https:
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self.context
                )
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            conn.connect()
            if conn.sock is not None:
                # Small requests one after another: do not let Nagle hold them back.
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
        return self._conn

    def post(self, body: bytes) -> int:
        """POST ``body``; returns the status. Raises OSError/HTTPException when no answer."""
        for attempt in (0, 1):
            try:
                conn = self._connection()
                conn.request("POST", self.path, body=body, headers=self.headers)
                response = conn.getresponse()
                response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had closed: one fresh try, then fail.
                self.close()
                if attempt:
                    raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _post_each(
    poster: _Poster, name: str, alerts: Sequence[Alert], body_of: Any, skipped: list[int]
) -> None:
    for done, alert in enumerate(alerts):
        try:
            status = poster.post(body_of(alert))
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"{name} {poster.url}: {exc}", done) from None
        if 200 <= status < 300:
            continue
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            skipped[0] += 1
            continue
        raise DeliveryError(f"{name} {poster.url}: HTTP {status}", done)


class HttpSink(Sink):
    """POSTs Falco's JSON object (plus ``uuid``), as Falco's ``http_output`` to falcosidekick."""

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        options: OutputOptions | None = None,
        user_agent: str = USER_AGENT,
        headers: Mapping[str, str] | None = None,
        insecure: bool = False,
        timeout: float = 10.0,
    ) -> None:
        merged = {"User-Agent": user_agent, **(headers or {})}
        self.poster = _Poster(
            url, key="http_output.url", headers=merged, insecure=insecure, timeout=timeout
        )
        self.options = options or OutputOptions()
        self.rejected = [0]

    def send(self, alerts: Sequence[Alert]) -> None:
        options = self.options

        def body(alert: Alert) -> bytes:
            payload = alert.sidekick_payload(options)
            return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

        _post_each(self.poster, "http_output", alerts, body, self.rejected)

    def close(self) -> None:
        self.poster.close()


# falcosidekick's colours by priority.
SLACK_COLOURS: dict[str, str] = {
    "emergency": "#e20b0b",
    "error": "#e20b0b",
    "alert": "#ff5400",
    "critical": "#ff5400",
    "warning": "#ffc700",
    "notice": "#5bffb5",
    "informational": "#68c2ff",
    "debug": "#ccfff2",
}
_SHORT_FIELD = 36
FOOTER = "lanner"


def _field(title: str, value: Any, short: bool | None = None) -> dict[str, Any]:
    text = "<NA>" if value is None else str(value)
    return {
        "title": title,
        "value": text,
        "short": len(text) < _SHORT_FIELD if short is None else short,
    }


def slack_payload(
    alert: Alert,
    *,
    output_format: str = "all",
    dashboard_url: str = "",
    username: str = "",
    icon_url: str = "",
    channel: str = "",
) -> dict[str, Any]:
    """The incoming-webhook message for an alert, in falcosidekick's attachment shape.

    ``output_format``: ``all`` (text and fields), ``text`` (the output line only) or
    ``fields`` (the fields only). With ``dashboard_url`` the attachment title links to the
    alert in lanner's dashboard (``<dashboard_url>/alerts/<id>``).
    """
    attachment: dict[str, Any] = {
        "fallback": alert.output,
        "color": SLACK_COLOURS.get(alert.priority.lower(), SLACK_COLOURS["debug"]),
    }
    if output_format in ("all", "text"):
        attachment["text"] = alert.output
    if output_format in ("all", "fields"):
        fields = [
            _field("rule", alert.rule, True),
            _field("priority", alert.priority, True),
            _field("source", alert.source, True),
            _field("hostname", alert.hostname, True),
        ]
        if alert.tags:
            fields.append(_field("tags", ", ".join(sorted(alert.tags)), True))
        for name in sorted(alert.output_fields):
            fields.append(_field(name, alert.output_fields[name]))
        fields.append(_field("time", time_json(alert.time_ns), False))
        attachment["fields"] = fields
    if dashboard_url:
        attachment["title"] = alert.rule
        attachment["title_link"] = f"{dashboard_url.rstrip('/')}/alerts/{alert.id}"
    attachment["footer"] = FOOTER
    payload: dict[str, Any] = {"attachments": [attachment]}
    if output_format == "fields":
        payload["text"] = f"{alert.priority}: {alert.rule}"
    for key, value in (("username", username), ("icon_url", icon_url), ("channel", channel)):
        if value:
            payload[key] = value
    return payload


class SlackSink(Sink):
    """Slack incoming webhook: one message per alert at or above ``minimum_priority``."""

    name = "slack"

    def __init__(
        self,
        webhook_url: str,
        *,
        minimum_priority: str = "debug",
        output_format: str = "all",
        dashboard_url: str = "",
        username: str = "",
        icon_url: str = "",
        channel: str = "",
        timeout: float = 10.0,
    ) -> None:
        if output_format not in ("all", "text", "fields"):
            raise SinkConfigError(
                f"slack_output.output_format: expected all, text or fields, got {output_format!r}"
            )
        if minimum_priority.lower() not in SLACK_COLOURS and minimum_priority.lower() != "info":
            raise SinkConfigError(
                f"slack_output.minimum_priority: unknown priority {minimum_priority!r}"
            )
        self.poster = _Poster(webhook_url, key="slack_output.webhook_url", timeout=timeout)
        self.threshold = severity(minimum_priority)
        self.output_format = output_format
        self.dashboard_url = dashboard_url
        self.extra = {"username": username, "icon_url": icon_url, "channel": channel}
        self.rejected = [0]

    def accepts(self, alert: Alert) -> bool:
        return severity(alert.priority) <= self.threshold

    def send(self, alerts: Sequence[Alert]) -> None:
        def body(alert: Alert) -> bytes:
            payload = slack_payload(
                alert,
                output_format=self.output_format,
                dashboard_url=self.dashboard_url,
                **self.extra,
            )
            return json.dumps(payload, ensure_ascii=False).encode()

        _post_each(self.poster, "slack_output", alerts, body, self.rejected)

    def close(self) -> None:
        self.poster.close()
