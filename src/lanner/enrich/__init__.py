"""Enrichment off the hot path: container ids from cgroups, CRI metadata and kubelet labels,
users and groups, optional Kubernetes API data; everything cached and resolved lazily.
"""
