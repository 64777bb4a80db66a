"""The HTTP side: API, /metrics for Prometheus, /healthz and the web dashboard."""
