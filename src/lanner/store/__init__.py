"""Embedded storage (SQLite by default) for alerts, metric rollups, profiles and canary runs."""
