"""Real-container fixtures for the enrich tests (defined in tests/enrich/fixtures.py)."""

from tests.enrich.fixtures import containerd_cri, cri_pods, run_in_pod

__all__ = ["containerd_cri", "cri_pods", "run_in_pod"]
