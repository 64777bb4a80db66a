"""Real-container fixtures for the enrich tests (defined in tests/enrich/fixtures.py and
tests/enrich/podman.py)."""

from tests.enrich.fixtures import containerd_cri, cri_pods, run_in_pod
from tests.enrich.podman import podman_api, podman_containers

__all__ = ["containerd_cri", "cri_pods", "podman_api", "podman_containers", "run_in_pod"]
