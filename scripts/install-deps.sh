#!/usr/bin/env bash
# Installs the Debian packages lanner's build, tests and benchmarks need; does nothing when they are present.
set -euo pipefail
pkgs=(sysdig clang llvm libbpf-dev libbpf1 bpftool nginx-light mariadb-server mariadb-client curl wrk)
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
