#!/usr/bin/env python3
"""Pack a root filesystem directory into a one-layer image archive that `ctr images import`
accepts (the `docker save` layout: manifest.json, an image config, one uncompressed layer tar).

Nothing can be pulled on the test machines, so the test images are built from local files.
Usage: containers-image.py ROOTFS REF OUT.tar [--entrypoint JSON] [--cmd JSON]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tarfile


def layer_bytes(rootfs: str) -> bytes:
    """A reproducible tar of rootfs: sorted entries, owned by root, mtime 0."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in [*dirs, *sorted(files)]:
                path = os.path.join(top, name)
                info = tar.gettarinfo(path, arcname=os.path.relpath(path, rootfs))
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if info.isreg():
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
    return out.getvalue()


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rootfs")
    parser.add_argument("ref", help="image name with tag, e.g. docker.io/library/busybox:local")
    parser.add_argument("out")
    parser.add_argument("--entrypoint", default="null", help="JSON list or null")
    parser.add_argument("--cmd", default='["/bin/sh"]', help="JSON list or null")
    args = parser.parse_args()

    layer = layer_bytes(args.rootfs)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": json.loads(args.entrypoint),
            "Cmd": json.loads(args.cmd),
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "lanner scripts/containers-image.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [args.ref], "Layers": [layer_name]}]
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, "w") as tar:
        add_member(tar, config_name, config_bytes)
        add_member(tar, layer_name, layer)
        add_member(tar, "manifest.json", json.dumps(manifest).encode())
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
