"""lanner: runtime security and performance monitor for Linux and Kubernetes nodes.

One capture stream (eBPF live, or .scap replay) feeds four engines: detect (Falco-compatible
rules), measure, learn and judge. See docs/architecture.md for the map.
"""

__version__ = "0.1.0"
