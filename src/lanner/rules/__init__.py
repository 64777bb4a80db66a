"""The Falco-compatible rules engine: YAML loader, condition parser and compiler, the
ruleset indexed by event type, and output formatting.
"""
