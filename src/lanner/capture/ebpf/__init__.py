"""The live eBPF capture: a CO-RE probe emitting scap-format exit events, loader and ring reader.

`ProbeSource(event_names)` loads and attaches the probe and yields batches of Event objects.
"""

from lanner.capture.ebpf.source import ProbeError, ProbeSource, ProbeStats, check_environment

__all__ = ["ProbeError", "ProbeSource", "ProbeStats", "check_environment"]
