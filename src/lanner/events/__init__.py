"""The event table (syscall and scheduler events, their parameters, types and directions)
and the Event record, whose parameters decode lazily on first use.
"""
