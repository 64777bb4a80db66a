"""System state rebuilt from the event stream: the thread table (processes, lineage, users)
and the fd table (files, sockets and their tuples), seeded from a trace or from /proc.
"""
