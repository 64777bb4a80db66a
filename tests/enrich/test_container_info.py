"""ContainerInfo, the table the fields read, and the CONTAINER_JSON format of old captures."""

from __future__ import annotations

import json

import pytest

from lanner.enrich.containers import (
    ContainerInfo,
    ContainerJsonError,
    ContainerTable,
    Mount,
    container_from_json,
    container_to_json,
    split_image,
)

FULL = "697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a488994f3"


def test_table_is_keyed_by_short_id_and_answers_full_ids() -> None:
    table = ContainerTable()
    info = table.add(ContainerInfo(id=FULL, name="web"))
    assert list(table) == [FULL[:12]]
    assert table.get(FULL) is info
    assert table.get(FULL[:12]) is info
    assert table.get("0" * 64) is None
    assert table.get("nope", "dflt") == "dflt"


def test_docker_capture_json() -> None:
    text = json.dumps(
        {
            "container": {
                "id": FULL[:12],
                "type": 0,
                "name": "hopeful_taussig",
                "image": "nginx",
                "imagerepo": "nginx",
                "imagetag": "latest",
                "imageid": "f68d6e55e065",
                "imagedigest": "sha256:96fb",
                "privileged": False,
                "ip": "172.17.0.2",
                "labels": {"maintainer": "someone"},
                "Mounts": [
                    {
                        "Source": "/var/run/docker.sock",
                        "Destination": "/var/run/docker.sock",
                        "Mode": "",
                        "RW": True,
                        "Propagation": "rprivate",
                    }
                ],
                "created_time": 1_600_000_000,
            }
        }
    )
    info = container_from_json(text)
    assert (info.id, info.type, info.name, info.image) == (
        FULL[:12],
        "docker",
        "hopeful_taussig",
        "nginx",
    )
    assert (info.image_repository, info.image_tag, info.image_id, info.image_digest) == (
        "nginx",
        "latest",
        "f68d6e55e065",
        "sha256:96fb",
    )
    assert info.privileged is False and info.ip == "172.17.0.2" and info.complete
    assert info.labels == {"maintainer": "someone"}
    assert info.mounts == [
        Mount("/var/run/docker.sock", "/var/run/docker.sock", "", True, "rprivate")
    ]
    assert info.start_ts == 1_600_000_000 * 10**9


def test_minimal_and_legacy_json() -> None:
    info = container_from_json(
        '{"container":{"id":"ad8301db070e","image":"nginx:latest","type":6}}'
    )
    # An omitted "privileged" means unprivileged, as in libsinsp (and sysdig shows false).
    assert (info.type, info.image, info.name, info.privileged) == (
        "cri",
        "nginx:latest",
        None,
        False,
    )
    assert info.labels == {} and info.mounts == []
    # Very old captures carried the address as an integer.
    assert container_from_json('{"container":{"id":"x","ip":2886795266}}').ip == "172.17.0.2"
    assert container_from_json('{"container":{"id":"x","labels":null}}').labels == {}


@pytest.mark.parametrize(
    "text",
    ["", "{", "[]", '{"container": 3}', '{"container": {"name": "x"}}', '{"container":{"id":""}}'],
)
def test_bad_json_is_a_clear_error(text: str) -> None:
    with pytest.raises(ContainerJsonError, match="container event"):
        container_from_json(text)


def test_json_round_trip_keeps_what_fields_read() -> None:
    info = ContainerInfo(
        id=FULL,
        type="containerd",
        name="app",
        image="docker.io/library/busybox:lanner",
        image_repository="docker.io/library/busybox",
        image_tag="lanner",
        image_id="4241a2d8",
        privileged=True,
        mounts=[Mount("/tmp", "/hosttmp", "ro", False, "private")],
        labels={"io.kubernetes.pod.name": "web-0"},
        pod_labels={"app": "web"},
        start_ts=1_795_365_851 * 10**9,
        ip="10.77.0.3",
        host_network=False,
        host_pid=True,
        host_ipc=False,
        complete=True,
    )
    back = container_from_json(container_to_json(info))
    assert back.id == FULL[:12]
    for attr in (
        "type", "name", "image", "image_repository", "image_tag", "image_id", "privileged",
        "mounts", "labels", "pod_labels", "start_ts", "ip", "host_network", "host_pid", "host_ipc",
    ):  # fmt: skip
        assert getattr(back, attr) == getattr(info, attr), attr


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nginx", ("nginx", None, None)),
        ("nginx:1.25", ("nginx", "1.25", None)),
        ("registry:5000/team/app", ("registry:5000/team/app", None, None)),
        ("registry:5000/team/app:v2", ("registry:5000/team/app", "v2", None)),
        ("app@sha256:abcd", ("app", None, "sha256:abcd")),
        ("docker.io/library/app:1@sha256:ab", ("docker.io/library/app", "1", "sha256:ab")),
    ],
)
def test_split_image(image: str, parts: tuple[str, str | None, str | None]) -> None:
    assert split_image(image) == parts
