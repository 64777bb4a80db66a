"""Container ids from cgroup paths: every runtime's naming, v1 and v2, and host paths."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lanner.enrich.containers import (
    CgroupResolver,
    container_from_cgroup_path,
    container_id_of_pid,
    parse_proc_cgroup,
)

ID = "4ee50544e7780c62f0b1c3a6d5e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6"
POD = "pod849a1c5e-2b7f-4c3d-9e8f-0a1b2c3d4e5f"

CONTAINER_PATHS = [
    # (cgroup path, expected container.type)
    (f"/docker/{ID}", "docker"),
    (f"/system.slice/docker-{ID}.scope", "docker"),
    (f"/kubepods/besteffort/{POD}/{ID}", "cri"),
    (f"/kubepods/{POD}/{ID}", "cri"),
    (f"/kubepods/burstable/{POD}/crio-{ID}", "cri-o"),
    (
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
        f"{POD.replace('-', '_')}.slice/cri-containerd-{ID}.scope",
        "containerd",
    ),
    (
        f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/crio-{ID}.scope",
        "cri-o",
    ),
    (f"/libpod_parent/libpod-{ID}", "podman"),
    (f"/machine.slice/libpod-{ID}.scope", "podman"),
    # podman with cgroup v2 and its own cgroup namespace nests the payload one level down.
    (f"/machine.slice/libpod-{ID}.scope/container", "podman"),
    (f"/libpod_parent/{ID}", "podman"),
    (f"/k8s.io/{ID}", "containerd"),
    (f"/docker/{ID}/nested/leaf", "docker"),
]


@pytest.mark.parametrize(("path", "kind"), CONTAINER_PATHS)
def test_runtime_cgroup_paths_give_the_container(path: str, kind: str) -> None:
    found = container_from_cgroup_path(path)
    assert found is not None
    assert (found.id, found.type) == (ID, kind)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/user.slice",
        "/user.slice/user-1000.slice/session-2.scope",
        "/system.slice/docker.service",
        "/system.slice/containerd.service",
        "/process_api/38655c6ae19c61cc9801c91a52cd475f",
        # conmon (CRI-O's and podman's monitor) runs on the host, beside the container.
        f"/machine.slice/crio-conmon-{ID}.scope",
        f"/machine.slice/libpod-conmon-{ID}.scope",
        f"/kubepods/besteffort/{POD}",
        # 63 and 65 hex digits are not container ids.
        f"/docker/{ID[:-1]}",
        f"/docker/{ID}0",
        f"/docker/{ID.upper()}",
        "/docker",
    ],
)
def test_host_paths_have_no_container(path: str) -> None:
    assert container_from_cgroup_path(path) is None


def test_lxc_names_its_cgroups_after_the_container() -> None:
    for path in ("/lxc/web01", "/lxc.payload.web01", "/lxc.payload.web01/init.scope"):
        found = container_from_cgroup_path(path)
        assert found is not None and (found.id, found.type) == ("web01", "lxc")


@given(st.text(alphabet="abcdef0123456789/-._", max_size=120))
def test_parser_never_raises_and_ids_come_from_the_path(path: str) -> None:
    found = container_from_cgroup_path(path)
    if found is not None:
        assert found.id in path


def test_resolver_uses_any_hierarchy_and_skips_root_paths() -> None:
    resolver = CgroupResolver()
    v1 = [("cpuset", "/"), ("memory", f"/docker/{ID}"), ("cpu", "/")]
    v2 = [("", f"/kubepods/{POD}/{ID}")]
    found_v1, found_v2 = resolver.resolve(v1), resolver.resolve(v2)
    assert found_v1 is not None and found_v1.type == "docker"
    assert found_v2 is not None and found_v2.type == "cri"
    assert resolver.resolve([("cpuset", "/"), ("memory", "/user.slice")]) is None
    assert resolver.resolve([]) is None
    # Memoised per path: the same path answers the same object.
    assert resolver.resolve(v1) is found_v1


def test_proc_cgroup_text_v1_hybrid_and_v2() -> None:
    text = (
        f"9:name=systemd:/kubepods/besteffort/{POD}/{ID}\n"
        "4:memory:/process_api/abc\n"
        "3:cpuset,cpu:/\n"
        f"0::/kubepods/besteffort/{POD}/{ID}\n"
        "garbage line\n"
    )
    pairs = parse_proc_cgroup(text)
    assert pairs == [
        ("name=systemd", f"/kubepods/besteffort/{POD}/{ID}"),
        ("memory", "/process_api/abc"),
        ("cpuset,cpu", "/"),
        ("", f"/kubepods/besteffort/{POD}/{ID}"),
    ]
    found = CgroupResolver().resolve(pairs)
    assert found is not None and found.id == ID


def test_live_pid_of_this_test_is_on_the_host(tmp_path: os.PathLike[str]) -> None:
    assert container_id_of_pid(os.getpid()) == ""
    assert container_id_of_pid(2**22 + 7) == ""  # no such process
    fake = f"{tmp_path}/77"
    os.makedirs(fake)
    with open(f"{fake}/cgroup", "w") as handle:
        handle.write(f"0::/system.slice/docker-{ID}.scope\n")
    assert container_id_of_pid(77, proc=str(tmp_path)) == ID
