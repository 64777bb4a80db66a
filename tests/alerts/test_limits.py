"""Duplicate folding and per-rule rate limiting."""

from __future__ import annotations

import io
import json

from lanner.alerts.alert import Alert
from lanner.alerts.delivery import AlertDispatcher
from lanner.alerts.limits import (
    FOLD_COUNT_FIELD,
    AlertFolder,
    AlertLimiter,
    RateSpec,
    RuleRateLimiter,
)
from lanner.alerts.local_sinks import StdoutSink
from lanner.alerts.sink import LineFormat

S = 1_000_000_000


def _alert(
    t_s: float, *, rule: str = "Shell in container", exe: str = "/bin/sh", **more: str
) -> Alert:
    fields = {"proc.exepath": exe, "proc.pname": "nginx", "container.id": "c1", **more}
    return Alert(
        time_ns=int(t_s * S),
        rule=rule,
        priority="Warning",
        source="syscall",
        hostname="h",
        output=f"shell {exe}",
        output_fields=fields,
    )


def test_first_alert_immediately_repeats_folded_into_one_summary() -> None:
    folder = AlertFolder(10)
    first = _alert(0)
    assert folder.admit(first) == [first]
    for t in (1, 2, 3):
        assert folder.admit(_alert(t)) == []
    other = _alert(4, exe="/bin/bash")  # another process tree: its own incident
    assert folder.admit(other) == [other]
    out = folder.admit(_alert(10.5, exe="/bin/zsh"))  # closes the first window
    summary = out[0]
    assert summary.output_fields[FOLD_COUNT_FIELD] == 3
    assert "3 more like this within 10s" in summary.output
    assert summary.time_ns == 3 * S and summary.id != first.id
    assert len(out) == 2 and out[1].output_fields["proc.exepath"] == "/bin/zsh"
    assert folder.folded["Shell in container"] == 3


def test_window_without_repeats_emits_no_summary_and_flush_closes_all() -> None:
    folder = AlertFolder(5)
    folder.admit(_alert(0))
    assert folder.expire(6 * S) == []
    folder.admit(_alert(10))
    folder.admit(_alert(11))
    flushed = folder.flush()
    assert [a.output_fields[FOLD_COUNT_FIELD] for a in flushed] == [1]
    assert folder.flush() == []


def test_fold_key_separates_rules_and_containers_and_falls_back_to_text() -> None:
    folder = AlertFolder(10)
    assert folder.admit(_alert(0)) != []
    assert folder.admit(_alert(0, rule="Other rule")) != []
    assert folder.admit(_alert(0, **{"container.id": "c2"})) != []
    bare = Alert(time_ns=0, rule="r", priority="Notice", source="s", hostname="h", output="x")
    assert folder.admit(bare) == [bare]
    assert folder.admit(bare) == []
    different_text = Alert(
        time_ns=0, rule="r", priority="Notice", source="s", hostname="h", output="y"
    )
    assert folder.admit(different_text) == [different_text]


def test_rate_limit_per_rule_with_override() -> None:
    limiter = RuleRateLimiter(RateSpec(1.0, 2), {"Noisy": RateSpec(0.1, 1)})
    # 10 alerts in the same second: the burst passes, the rest is suppressed.
    passed = [limiter.admit(_alert(0)) for _ in range(10)]
    assert passed.count(True) == 2
    assert limiter.admit(_alert(1.1))  # a token came back after a second
    noisy = [limiter.admit(_alert(t, rule="Noisy")) for t in range(0, 20)]
    assert noisy.count(True) == 2  # at 0 s and 10 s
    assert limiter.suppressed == {"Shell in container": 8, "Noisy": 18}


def test_limiter_in_dispatcher_summaries_escape_the_rate_limit() -> None:
    out = io.StringIO()
    limiter = AlertLimiter(AlertFolder(10), RuleRateLimiter(RateSpec(0.001, 1)))
    dispatcher = AlertDispatcher([StdoutSink(LineFormat(json=True), out)], limiter=limiter)
    for t in range(5):
        dispatcher(_alert(t))
    dispatcher(_alert(1, exe="/bin/bash"))  # rate limited: the rule's one token is gone
    dispatcher.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["output_fields"].get(FOLD_COUNT_FIELD) for line in lines] == [None, 4]
    assert limiter.rate is not None and limiter.rate.suppressed["Shell in container"] == 1
    # Every alert raised is still counted as a match.
    assert sum(dispatcher.stats.matches.values()) == 6
