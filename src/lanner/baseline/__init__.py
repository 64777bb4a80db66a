"""What is normal per workload (execs, files, peers, ports) and the deviations from it."""
