"""Our `evt.args` rendering against sysdig 0.29.3's, event by event, on every corpus trace.

Agreement must be total, except for decorations sysdig derives from its state tables (fd
names, thread comms, user names, resolved paths, fd type letters) -- see reference_compare.
"""

from __future__ import annotations

import pytest

from tests.conftest import compat_path
from tests.events.reference_compare import compare_trace

TRACES = [
    "falco-0.34.1/cat_write",
    "falco-0.34.1/connect_localhost",
    "falco-0.34.1/open-multiple-files",
    "falco-0.34.1/ping_sendto",
    "falco-0.34.1/syscall",
    "falco-psp-8dd4beac/privileged",
    "falco-psp-8dd4beac/run_as_user_0_container",
    "falco-psp-8dd4beac/run_as_user_65534_container",
    "falco-psp-8dd4beac/write_tmp_test",
    "gpl-sysdig-inspect/502Error",
    "libs/curl_google",
    "libs/sample",
    "libs/single_ipv6_conn",
    "libs/test_ipv6_client",
]


@pytest.mark.parametrize("trace", TRACES)
def test_rendering_matches_sysdig(trace: str) -> None:
    directory, name = trace.split("/")
    scap = compat_path("scap", directory, f"{name}.scap")
    reference = compat_path("sysdig-0.29.3-reference", f"{directory}__{name}.fields.jsonl.gz")
    result = compare_trace(scap, reference)
    assert result.events > 0
    assert result.missing == []
    assert result.type_mismatch == []
    assert result.differing == []
    assert result.args_equal == result.events
