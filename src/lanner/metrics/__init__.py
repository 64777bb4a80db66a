"""Performance aggregates from the same syscalls: latency, errors, file I/O, TCP per peer,
and HTTP/MySQL decoded from socket payloads.
"""
