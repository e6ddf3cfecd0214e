"""A throw-away ClickHouse server (Debian's `clickhouse-server`) on free loopback ports.

Used by the tests and benchmarks so that the native-protocol path (clickhouse-driver against a
real server) is exercised for real, beside embedded chDB.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from vox.errors import VoxError
from vox.local.broker import free_port

CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"""


class LocalClickHouseServer:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.tcp_port = free_port()
        self.http_port = free_port(avoid={self.tcp_port})
        self.process: subprocess.Popen | None = None

    def url(self, database: str = "vox") -> str:
        return f"clickhouse://default@127.0.0.1:{self.tcp_port}/{database}"

    def start(self, timeout_s: float = 60.0) -> "LocalClickHouseServer":
        binary = shutil.which("clickhouse-server") or shutil.which("clickhouse")
        if binary is None:
            raise VoxError("clickhouse-server is not installed: run deploy/setup.sh test (apt-get install clickhouse-server)")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "users.xml").write_text(USERS)
        config = self.root / "config.xml"
        config.write_text(CONFIG.format(root=self.root, tcp_port=self.tcp_port, http_port=self.http_port))
        command = [binary, f"--config-file={config}"]
        if binary.endswith("/clickhouse"):
            command.insert(1, "server")
        log = open(self.root / "server.log", "ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self._wait(timeout_s)
        return self

    def _wait(self, timeout_s: float) -> None:
        import logging

        from clickhouse_driver import Client

        logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)  # refusals are expected here
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = (self.root / "server.log").read_text(errors="replace")[-500:]
                raise VoxError(f"clickhouse-server exited at start: {tail}")
            try:
                Client("127.0.0.1", port=self.tcp_port, connect_timeout=1).execute("SELECT 1")
                return
            except Exception:
                time.sleep(0.3)
        self.stop()
        raise VoxError(f"clickhouse-server did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
