"""``user.*`` and ``group.*``: who the event's thread runs as."""

from __future__ import annotations

from lanner.fields._spec import I, S, spec
from lanner.fields.registry import FieldInfo


def fields() -> list[FieldInfo]:
    """The catalog of the ``user`` and ``group`` classes."""
    return [
        spec("user.uid", I, "User id the thread runs as."),
        spec("user.name", S, "Name of that user, from the user table."),
        spec("user.homedir", S, "Home directory of that user."),
        spec("user.shell", S, "Login shell of that user."),
        spec("user.loginuid", I, "Audit login user id (auid); -1 when unset."),
        spec("user.loginname", S, "Name of the audit login user."),
        spec("group.gid", I, "Group id the thread runs as."),
        spec("group.name", S, "Name of that group, from the group table."),
    ]
