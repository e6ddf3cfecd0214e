"""The local broker's set-up works for every cluster id, and a restart keeps the port."""

from __future__ import annotations

import base64
import shutil
import socket
import uuid
from pathlib import Path

from vox.local.broker import LocalKafka, _reuse_or_free, free_port
from vox.settings import Settings


def test_the_data_directory_is_formatted_with_a_cluster_id_that_starts_with_a_dash(tmp_path: Path) -> None:
    cluster_id = next(i for i in (base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
                                  for _ in range(10_000)) if i.startswith("-"))  # fmt: skip
    broker = LocalKafka(Settings(home=tmp_path))
    broker.install()
    port = free_port()
    properties = broker._write_config(port, free_port(avoid={port}), broker.dir / "data")
    broker._format(shutil.which("java"), properties, cluster_id)
    assert f"cluster.id={cluster_id}" in (broker.dir / "data" / "meta.properties").read_text()


def test_a_port_left_in_time_wait_is_reused() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
    client.close()
    server.close()
    assert _reuse_or_free(port) == port
