"""Event sources: the live eBPF probe, .scap files and JSON fixtures.

Each source yields batches of raw event records; it knows nothing of rules or state.
"""
