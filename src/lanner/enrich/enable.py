"""One call to turn container enrichment on for a State: cgroup ids always, CRI metadata when a
runtime socket is there (live capture), Docker/Podman metadata over the Docker API when its
socket is there, Kubernetes API facts when asked and reachable.

Replay: ``enable_containers(state, cri_socket=None, docker_socket=None)`` (old captures bring
their own container events). Live: ``enable_containers(state)`` finds containerd's or CRI-O's
socket and Docker's or Podman's itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lanner.enrich.pipeline import ContainerEnricher

AUTO = "auto"


@dataclass
class ContainerEnrichment:
    enricher: ContainerEnricher
    cri: Any = None  # CriMetadataSource when a runtime answered
    docker: Any = None  # CriMetadataSource over a DockerClient (Docker or Podman)
    unanswered: list[str] = field(default_factory=list)  # runtime sockets that did not answer
    kube: Any = None  # KubeMetadata when the cluster is reachable

    def describe(self) -> str:
        """One line for the start-up log: where container metadata comes from."""
        parts = []
        for label, source in (("CRI", self.cri), ("Docker API", self.docker)):
            if source is not None:
                parts.append(f"{label} at {getattr(source.client, 'socket', '?')}")
        if self.kube is not None:
            parts.append("Kubernetes API")
        parts += [f"{path} does not answer" for path in self.unanswered]
        return "; ".join(parts) if parts else "none (container ids from cgroups only)"

    def alert_hook(self, timeout: float) -> Callable[[Any], None] | None:
        """For `DetectionEngine.before_alert`: an alert on an event of a container still being
        described waits for the description (at most `timeout` s, once per container)."""
        if (self.cri is None and self.docker is None) or timeout <= 0:
            return None
        enricher = self.enricher

        def before_alert(event: Any) -> None:
            enricher.await_metadata(getattr(event, "thread", None), timeout)

        return before_alert

    def lookup_counts(self) -> dict[str, dict[str, int]]:
        """Per metadata source: lookups described, missed (given up), retried, failed."""
        out = {}
        for name, source in (("cri", self.cri), ("docker", self.docker)):
            if source is not None:
                out[name] = {
                    "described": source.described,
                    "missed": source.misses,
                    "retried": source.retried,
                    "error": source.errors,
                }
        return out

    def stop(self) -> None:
        if self.cri is not None:
            self.cri.stop()
        if self.docker is not None:
            self.docker.stop()
        if self.kube is not None:
            self.kube.stop()


def enable_containers(
    state: Any,
    *,
    cri_socket: str | None = AUTO,
    docker_socket: str | None = AUTO,
    kubernetes: bool = False,
    node_name: str | None = None,
) -> ContainerEnrichment:
    """Attach container enrichment to `state`; background lookups start here."""
    enricher = ContainerEnricher()
    result = ContainerEnrichment(enricher)
    if kubernetes:
        from lanner.enrich.k8s import KubeMetadata

        result.kube = KubeMetadata.from_environment(node_name=node_name)
        if result.kube is not None:
            result.kube.follow(enricher.table)
            result.kube.start()
    socket = cri_socket
    if socket == AUTO:
        from lanner.enrich.cri import find_socket

        socket = find_socket()
    if socket:
        from lanner.enrich.cri import CriClient, CriMetadataSource

        decorate = result.kube.decorate if result.kube is not None else None
        result.cri = CriMetadataSource(CriClient(socket), enricher.publish, decorate=decorate)
    sources = {}
    docker = docker_socket
    if docker == AUTO:
        from lanner.enrich.docker import find_docker_socket

        docker = find_docker_socket()
    if docker:
        from lanner.enrich.cri import CriMetadataSource
        from lanner.enrich.docker import DockerClient

        client = DockerClient(docker)
        if client.ping():
            result.docker = CriMetadataSource(client, enricher.publish)
            sources = {"docker": result.docker, "podman": result.docker}
        else:
            result.unanswered.append(docker)
    enricher.attach(state, result.cri, sources)
    for source in (result.cri, result.docker):
        if source is not None:
            source.start()
    return result
