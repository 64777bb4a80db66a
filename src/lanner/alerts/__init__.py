"""Alerts in Falco's JSON shape and the sinks that deliver them, with a durable spool."""
