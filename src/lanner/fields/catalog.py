"""The default registry: every field class of the ``syscall`` source, built once.

The class modules (evt.py, proc.py...) declare the fields; the ``*_extract`` modules provide
their extractor factories, attached here by name once, at build time.
"""

from __future__ import annotations

import dataclasses
from functools import cache

from lanner.fields import (
    container,
    evt,
    evt_args,
    evt_extract,
    fd,
    fd_extract,
    k8s,
    meta_extract,
    proc,
    proc_extract,
    user,
)
from lanner.fields.registry import ExtractorFactory, FieldRegistry

CLASS_MODULES = (evt, proc, fd, user, container, k8s)


def extractor_factories() -> dict[str, ExtractorFactory]:
    """Field name → factory, for every field that has an extractor."""
    return {
        **evt_extract.FACTORIES,
        **proc_extract.FACTORIES,
        **fd_extract.FACTORIES,
        **meta_extract.FACTORIES,
    }


@cache
def default_registry() -> FieldRegistry:
    """The registry every rules file is compiled against (built on first use, then shared)."""
    factories = extractor_factories()
    arg_types = evt_args.ARG_TYPES
    registry = FieldRegistry()
    for module in CLASS_MODULES:
        for declared in module.fields():
            info = declared
            factory = factories.get(info.name)
            if factory is not None and info.factory is None:
                info = dataclasses.replace(info, factory=factory)
            if info.name in arg_types and info.arg_type is None:
                info = dataclasses.replace(info, arg_type=arg_types[info.name])
            registry.add(info)
    return registry


def field_class(name: str) -> str:
    """The class a field is listed under: ``proc.aname`` → proc, ``fs.path.name`` → fs.path."""
    if name.startswith("fs.path."):
        return "fs.path"
    return name.split(".", 1)[0]
