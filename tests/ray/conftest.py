"""A Ray cluster of simulated nodes on this machine (ray.cluster_utils.Cluster), shared by
the module's tests: a head that runs no Blender, and three nodes that hold one Blender
worker each (`{"blender": 1}`, one CPU); the first also offers a GPU (Ray's bookkeeping of
one: no device is needed to check that a worker asks for it and gets it)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from blender_http.ray.worker import NODE_ENV
from tests.conftest import missing
from tests.processes import GONE_WITHIN_S, MARKER, marked, wait_gone

# The Blender workers' resource on each simulated node: one Blender per node.
NODE_RESOURCES = {"blender": 1.0}


@dataclasses.dataclass
class RayCluster:
    cluster: Any
    marker: str
    client_port: int
    nodes: dict[str, Any]  # node id -> the Node (removable), in the order they were added
    gpu_node: str

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    def add(self, **extra: Any) -> str:
        """A new Blender node; its id."""
        node = self.cluster.add_node(num_cpus=1, resources=NODE_RESOURCES, **extra)
        self.nodes[node.node_id] = node
        return str(node.node_id)

    def remove(self, node_id: str) -> None:
        """Remove a node, and wait until Ray counts it dead (the next test starts on what is left)."""
        import ray

        self.cluster.remove_node(self.nodes.pop(node_id))
        deadline = time.monotonic() + GONE_WITHIN_S
        while any(node["NodeID"] == node_id and node["Alive"] for node in ray.nodes()):
            assert time.monotonic() < deadline, f"Ray still counts node {node_id} alive"
            time.sleep(0.2)

    def blenders(self) -> list[int]:
        """The pids of the workers' Blenders that run now."""
        found = []
        for pid in marked(self.marker):
            with contextlib.suppress(psutil.Error):
                if NODE_ENV in psutil.Process(pid).environ():
                    found.append(pid)
        return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    if importlib.util.find_spec("ray") is None:
        missing("ray (pip install 'blender-http[ray]')")
    if importlib.util.find_spec("bpy") is None:
        missing("bpy (the workers run Blender in module mode)")
    import ray
    from ray.cluster_utils import Cluster

    marker = uuid.uuid4().hex
    # Every process of the cluster (raylets, actors, their Blenders) inherits the marker.
    saved = os.environ.get(MARKER)
    os.environ[MARKER] = marker
    client_port = free_port()
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "ray_client_server_port": client_port})
    try:
        running = RayCluster(cluster, marker, client_port, {}, "")
        running.gpu_node = running.add(num_gpus=1)
        running.add()
        running.add()
        ray.init(address=cluster.address, log_to_driver=False)
        yield running
    finally:
        ray.shutdown()
        cluster.shutdown()
        if saved is None:
            os.environ.pop(MARKER, None)
        else:
            os.environ[MARKER] = saved
    assert wait_gone(marked(marker)) == []
