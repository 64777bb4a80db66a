#!/usr/bin/env bash
# Real containers for the enrich tests: containerd with its CRI plugin, runc, a CNI bridge, and
# two locally built images (busybox, and the pause image CRI sandboxes need), since no registry
# can be reached. Idempotent: a second run only checks that containerd answers.
#   LANNER_CONTAINERS_DIR  work dir (rootfs, image archives, containerd log and pid); default below
# Prints where the socket is. Not root: says so and exits 0 outside CI (the tests then skip).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${LANNER_CONTAINERS_DIR:-/var/tmp/lanner-containers}
SOCK=/run/containerd/containerd.sock
CONFIG=/etc/containerd/lanner-config.toml
CNI_DIR=/etc/cni/lanner.d
BUSYBOX_REF=docker.io/library/busybox:lanner
PAUSE_REF=registry.k8s.io/pause:3.6   # containerd 1.6's default sandbox_image: never pulled

if [ "$(id -u)" -ne 0 ]; then
  msg="containers-setup: needs root (containerd, cgroups); container tests will skip"
  case "${CI:-}" in 1|true|yes) echo "$msg" >&2; exit 1 ;; esac
  echo "$msg" >&2
  exit 0
fi

# Parallel test workers may all run this at once: one at a time.
mkdir -p "$WORK"
# Anything started below must not inherit fd 9 (see containerd's start): a daemon holding it
# would keep the lock for its whole life and every later run would wait here for ever.
exec 9>"$WORK/.setup.lock"
if ! flock -w 300 9; then
  echo "containers-setup: another setup still holds $WORK/.setup.lock after 300 s" >&2
  exit 1
fi

# ---- packages ---------------------------------------------------------------------------------
pkgs=(containerd runc containernetworking-plugins iptables busybox-static gcc libc6-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$WORK/images"

# ---- images, built from local files -------------------------------------------------------------
if [ ! -s "$WORK/images/busybox.tar" ]; then
  root="$WORK/rootfs-busybox"
  rm -rf "$root"
  mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,var,run}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  python3 "$HERE/containers-image.py" "$root" "$BUSYBOX_REF" "$WORK/images/busybox.tar"
fi
if [ ! -s "$WORK/images/pause.tar" ]; then
  # The sandbox process only has to sleep, end on TERM/INT and reap orphans.
  root="$WORK/rootfs-pause"
  rm -rf "$root"
  mkdir -p "$root"
  cat >"$WORK/pause.c" <<'EOF'
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void on_stop(int sig) { (void)sig; _exit(0); }
static void on_child(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);
  signal(SIGCHLD, on_child);
  for (;;) pause();
}
EOF
  gcc -O2 -static -o "$root/pause" "$WORK/pause.c"
  python3 "$HERE/containers-image.py" "$root" "$PAUSE_REF" "$WORK/images/pause.tar" \
    --entrypoint '["/pause"]' --cmd null
fi

# ---- containerd configuration -------------------------------------------------------------------
mkdir -p /etc/containerd "$CNI_DIR"
cat >"$CONFIG.new" <<EOF
version = 2
[grpc]
  address = "$SOCK"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_REF"
    # root here lacks CAP_SYS_RESOURCE: runc could not give the sandbox oom_score_adj -998.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$CNI_DIR"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          # No systemd as PID 1: kubelet's cgroupfs layout (/kubepods/<qos>/pod<uid>/<id>).
          SystemdCgroup = false
EOF
mv "$CONFIG.new" "$CONFIG"
# Pods on the pod network get an address from this bridge; no NAT, nothing leaves the machine.
cat >"$CNI_DIR/10-lanner.conflist" <<'EOF'
{"cniVersion": "0.4.0", "name": "lanner",
 "plugins": [{"type": "bridge", "bridge": "lanner0", "isGateway": true, "ipMasq": false,
              "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.77.0.0/24"}]]}}]}
EOF

# ---- containerd, started by hand (no systemd here) -------------------------------------------------
answers() { [ -S "$SOCK" ] && ctr --address "$SOCK" --connect-timeout 1s version >/dev/null 2>&1; }
if ! answers; then
  setsid nohup containerd --config "$CONFIG" >"$WORK/containerd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$WORK/containerd.pid"
  for _ in $(seq 1 100); do answers && break; sleep 0.1; done
  answers || { echo "containers-setup: containerd did not start, see $WORK/containerd.log" >&2; exit 1; }
fi

# ---- images into the namespace CRI uses -----------------------------------------------------------
present=$(ctr --address "$SOCK" -n k8s.io images ls -q)
for pair in "$BUSYBOX_REF:busybox" "$PAUSE_REF:pause"; do
  ref=${pair%:*}
  file=${pair##*:}
  grep -qxF "$ref" <<<"$present" || ctr --address "$SOCK" -n k8s.io images import "$WORK/images/$file.tar" >/dev/null
done
echo "containers-setup: containerd CRI ready at $SOCK (images $BUSYBOX_REF, $PAUSE_REF)"
