#!/usr/bin/env bash
# Installs the Debian packages lanner needs; does nothing when they are present.
#   install-deps.sh          what `make run` needs: the probe's build toolchain and libbpf
#   install-deps.sh --test   also what the tests and benchmarks use: sysdig (the reference
#                            reader), nginx, MariaDB, curl, wrk, podman (Docker API tests),
#                            iproute2 (the host's addresses)
set -euo pipefail
pkgs=(clang llvm libbpf-dev libbpf1 bpftool)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(sysdig nginx-light mariadb-server mariadb-client curl wrk podman iproute2)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "lanner: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
