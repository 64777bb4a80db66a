"""The default registry: every field class of the ``syscall`` source, built once."""

from __future__ import annotations

from functools import cache

from lanner.fields import container, evt, fd, k8s, proc, user
from lanner.fields.registry import FieldRegistry

CLASS_MODULES = (evt, proc, fd, user, container, k8s)


@cache
def default_registry() -> FieldRegistry:
    """The registry every rules file is compiled against (built on first use, then shared)."""
    registry = FieldRegistry()
    for module in CLASS_MODULES:
        registry.extend(module.fields())
    return registry


def field_class(name: str) -> str:
    """The class a field is listed under: ``proc.aname`` → proc, ``fs.path.name`` → fs.path."""
    if name.startswith("fs.path."):
        return "fs.path"
    return name.split(".", 1)[0]
