"""Micro benchmark: nanoseconds per evaluation of compiled conditions.

Extractors here are plain dict lookups, so the figures measure what the compiler adds
(the generated function, operators, caching), not the cost of computing real fields.

    .venv/bin/python bench/rules_eval.py
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from lanner.fields.registry import ArgMode, FieldInfo, FieldRegistry, FieldType
from lanner.rules.compiler import compile_condition
from lanner.rules.parser import parse_condition

CONDITIONS = {
    "evt.type only": "evt.type = execve",
    "type + name (miss)": "evt.type = execve and proc.name = cat",
    "spawned shell": (
        "evt.type in (execve, execveat) and evt.dir = < and proc.name in "
        "(ash, bash, csh, ksh, sh, tcsh, zsh, dash) and not proc.pname in (sshd, cron)"
    ),
    "write below etc": (
        "evt.type in (open, openat) and evt.is_open_write = true and fd.name startswith /etc "
        "and not proc.name in (dpkg, rpm, yum) and not fd.name pmatch (/etc/ssl, /etc/pki)"
    ),
    "any ancestor": "proc.aname in (sshd, cron) and proc.name != bash",
    "glob + regex": "fd.name glob '/tmp/*.sh' or proc.cmdline regex '.*curl .*[|].*sh'",
    "not found field": "k8s.ns.name exists and k8s.ns.name != kube-system",
}

EVENT = {
    "evt.type": "execve",
    "evt.dir": "<",
    "proc.name": "bash",
    "proc.pname": "containerd-shim",
    "proc.aname": ["containerd-shim", "containerd", "systemd"],
    "fd.name": "/etc/passwd",
    "evt.is_open_write": True,
    "proc.cmdline": "bash -c curl http://x | sh",
}


def _field(name: str, ftype: FieldType, **extra: Any) -> FieldInfo:
    def factory(_arg: str | None) -> Callable[[Any], Any]:
        return lambda event: event.get(name)

    return FieldInfo(name, ftype, name, factory=factory, **extra)


def registry() -> FieldRegistry:
    reg = FieldRegistry()
    for name in ("evt.type", "evt.dir", "proc.name", "proc.pname", "fd.name", "proc.cmdline"):
        reg.add(_field(name, FieldType.STRING))
    reg.add(_field("k8s.ns.name", FieldType.STRING))
    reg.add(_field("evt.is_open_write", FieldType.BOOL))
    reg.add(_field("proc.aname", FieldType.STRING, arg_mode=ArgMode.OPTIONAL, any_without_arg=True))
    return reg


def main() -> None:
    reg = registry()
    types = frozenset({"execve", "execveat", "open", "openat"})
    print(f"{'condition':<22} {'ns/eval':>8}  result")

    def by_hand(event: dict[str, Any]) -> bool:
        return bool(event.get("evt.type") == "execve")

    baseline = min(timeit.repeat(lambda: by_hand(EVENT), number=200_000, repeat=5))
    print(f"{'hand-written baseline':<22} {baseline / 200_000 * 1e9:8.0f}  (one lookup, one ==)")
    for label, text in CONDITIONS.items():
        compiled = compile_condition(parse_condition(text), reg, event_types=types)
        fn = compiled.fn
        number = 200_000
        seconds = min(timeit.repeat(lambda fn=fn: fn(EVENT), number=number, repeat=5))
        print(f"{label:<22} {seconds / number * 1e9:8.0f}  {fn(EVENT)}")
    text = " or ".join(f"({t})" for t in CONDITIONS.values())
    number = 300
    node = parse_condition(text)
    parse = min(timeit.repeat(lambda: parse_condition(text), number=number, repeat=3))
    build = min(
        timeit.repeat(
            lambda: compile_condition(node, reg, event_types=types), number=number, repeat=3
        )
    )
    print(
        f"parse {len(text)} chars: {parse / number * 1e6:.0f} µs;",
        f"compile: {build / number * 1e6:.0f} µs",
    )


if __name__ == "__main__":
    main()
