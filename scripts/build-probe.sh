#!/usr/bin/env bash
# Builds lanner's CO-RE eBPF probe (src/lanner/capture/ebpf/probe.bpf.o) from a clean clone.
# vmlinux.h is generated from the running kernel's BTF (gitignored); the object is relocated by libbpf
# at load time, so it runs on other BTF-enabled kernels of the same architecture.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$here/src/lanner/capture/ebpf"
out="$dir/probe.bpf.o"
btf="${LANNER_BTF:-/sys/kernel/btf/vmlinux}"

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "lanner: cannot build the eBPF probe: '$1' not found (apt-get install -y --no-install-recommends clang llvm libbpf-dev bpftool)" >&2
    exit 1
  }
}
need clang
need bpftool
[ -r "$btf" ] || { echo "lanner: cannot build the eBPF probe: kernel BTF $btf is not readable" >&2; exit 1; }
[ -r /usr/include/bpf/bpf_helpers.h ] || {
  echo "lanner: cannot build the eBPF probe: libbpf headers missing (apt-get install -y libbpf-dev)" >&2
  exit 1
}

case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) echo "lanner: unsupported architecture $(uname -m) for the eBPF probe" >&2; exit 1 ;;
esac

# Rebuild only when a source or the kernel BTF is newer than the object.
if [ -f "$out" ] && [ -z "${LANNER_FORCE_PROBE_BUILD:-}" ]; then
  stale=0
  for f in "$dir"/*.bpf.c "$dir"/*.h; do
    [ "$f" -nt "$out" ] && stale=1
  done
  [ "$stale" -eq 0 ] && exit 0
fi

if [ ! -s "$dir/vmlinux.h" ] || [ "$btf" -nt "$dir/vmlinux.h" ]; then
  bpftool btf dump file "$btf" format c >"$dir/vmlinux.h.tmp"
  mv "$dir/vmlinux.h.tmp" "$dir/vmlinux.h"
fi
clang -g -O2 -Wall -Wno-unused-function -target bpf -D__TARGET_ARCH_$arch -I"$dir" \
  -c "$dir/probe.bpf.c" -o "$out.tmp"
# Drop DWARF, keep .BTF/.BTF.ext (CO-RE relocations need them).
if command -v llvm-strip >/dev/null 2>&1; then llvm-strip -g "$out.tmp"; fi
mv "$out.tmp" "$out"
echo "lanner: built $out ($(stat -c %s "$out") bytes)"
