"""System state rebuilt from the event stream: the thread table (processes, lineage, users)
and the fd table (files, sockets and their tuples), seeded from a trace or from /proc.
"""

from lanner.state.fds import FdInfo, FdRole, FdTable, FdType, L4Proto
from lanner.state.state import GroupInfo, Interface, State, UserInfo, should_deliver
from lanner.state.threads import ThreadInfo, ThreadTable

__all__ = [
    "FdInfo",
    "FdRole",
    "FdTable",
    "FdType",
    "GroupInfo",
    "Interface",
    "L4Proto",
    "State",
    "ThreadInfo",
    "ThreadTable",
    "UserInfo",
    "should_deliver",
]
