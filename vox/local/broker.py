"""A real single-node Apache Kafka broker (KRaft) for laptops, demos and tests.

`deploy/kafka/pom.xml` names the broker on Maven Central; `mvn` copies it and its libraries
into `deploy/kafka/dist/` once (the set-up step), and vox runs it with the JDK on the machine.
State (data, log, port, pid) lives under `VOX_HOME/kafka/`, so each home is its own cluster.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from vox.errors import VoxError
from vox.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = PROJECT_ROOT / "deploy" / "kafka"
DIST_DIR = DEPLOY_DIR / "dist"
STARTUP_TIMEOUT_S = 90.0
SHUTDOWN_TIMEOUT_S = 30.0

LOG4J2 = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
"""


@dataclass(frozen=True)
class BrokerState:
    bootstrap: str
    port: int
    controller_port: int
    pid: int | None

    @property
    def running(self) -> bool:
        return self.pid is not None and _is_broker_process(self.pid)


def _is_broker_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


class LocalKafka:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = settings.home.resolve() / "kafka"
        self.state_file = self.dir / "broker.json"
        self.log_file = self.dir / "broker.log"

    # -- installation -----------------------------------------------------------------------

    @staticmethod
    def installed() -> bool:
        return (DIST_DIR / ".complete").is_file()

    @staticmethod
    def install() -> None:
        """Fetch the broker from Maven Central into deploy/kafka/dist (once)."""
        if LocalKafka.installed():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise VoxError("Maven (mvn) is needed to install the local Kafka broker: apt-get install maven")
        shutil.rmtree(DIST_DIR, ignore_errors=True)
        command = [mvn, "-q", "-B", "-f", str(DEPLOY_DIR / "pom.xml"), "dependency:copy-dependencies",
                   f"-DoutputDirectory={DIST_DIR / 'lib'}", "-DincludeScope=runtime", "-Dstyle.color=never"]  # fmt: skip
        # always captured: Maven 3.8 writes colour resets (ESC[0m) on exit even in batch mode,
        # so its output is shown only when it failed, as the last lines of what it said
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            said = (done.stdout + done.stderr).replace("\x1b[0m", "").splitlines()
            last = [line.strip() for line in said if line.strip()][-3:]
            raise VoxError("could not install Kafka from Maven Central with mvn: " + " | ".join(last))
        (DIST_DIR / ".complete").write_text("ok\n")

    # -- state ------------------------------------------------------------------------------

    def state(self) -> BrokerState | None:
        if not self.state_file.is_file():
            return None
        data = json.loads(self.state_file.read_text())
        return BrokerState(data["bootstrap"], data["port"], data["controller_port"], data.get("pid"))

    def _save(self, state: BrokerState) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state.__dict__, indent=2) + "\n")

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> BrokerState:
        """Start the broker (or find it running) and wait until it serves requests."""
        if self.settings.kafka_bootstrap:
            raise VoxError("KAFKA_BOOTSTRAP is set: vox uses that cluster and starts no local broker")
        previous = self.state()
        if previous and previous.running:
            return previous
        java = shutil.which("java")
        if java is None:
            raise VoxError("Java 17+ is needed for the local Kafka broker: apt-get install openjdk-17-jre-headless")
        self.install()
        port = self.settings.kafka_port or _reuse_or_free(previous.port if previous else None)
        controller_port = _reuse_or_free(previous.controller_port if previous else None, avoid={port})
        data_dir = self.dir / "data"
        properties = self._write_config(port, controller_port, data_dir)
        if not (data_dir / "meta.properties").is_file():
            self._format(java, properties)
        log = open(self.log_file, "ab")
        process = subprocess.Popen(
            [java, f"-Xmx{self.settings.kafka_heap_mb}m", f"-Xms{min(256, self.settings.kafka_heap_mb)}m",
             f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}", "-cp", str(DIST_DIR / "lib" / "*"),
             "kafka.Kafka", str(properties)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        log.close()
        state = BrokerState(f"127.0.0.1:{port}", port, controller_port, process.pid)
        self._save(state)
        self._wait_until_serving(state, process)
        return state

    def _write_config(self, port: int, controller_port: int, data_dir: Path) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "log4j2.yaml").write_text(LOG4J2)
        properties = self.dir / "server.properties"
        properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={data_dir}",
                    f"num.partitions={self.settings.topic_partitions}",
                    # one node: internal topics cannot have more replicas than that
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    # consumers join at once instead of waiting 3 s for a group that never grows
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                ]
            )
            + "\n"
        )
        return properties

    def _format(self, java: str, properties: Path, cluster_id: str | None = None) -> None:
        cluster_id = cluster_id or base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        done = subprocess.run(
            # `--cluster-id=ID` in one word: an id may start with '-' (one in 32 of the random
            # ones), which the tool would read as an option after a separate `-t`
            [java, f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}", "-cp", str(DIST_DIR / "lib" / "*"),
             "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(properties)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise VoxError(f"could not format the Kafka data directory: {done.stderr.strip()[-300:]}")

    def _wait_until_serving(self, state: BrokerState, process: subprocess.Popen) -> None:
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise VoxError(f"the Kafka broker exited at start; its log says: {self._log_tail()}")
            if _port_open(state.port):
                try:
                    admin = KafkaAdminClient(bootstrap_servers=state.bootstrap, request_timeout_ms=5000)
                    admin.list_topics()
                    admin.close()
                    return
                except Exception:
                    pass
            time.sleep(0.3)
        self.stop()
        raise VoxError(f"the Kafka broker did not serve within {STARTUP_TIMEOUT_S:.0f} s; log: {self._log_tail()}")

    def stop(self) -> bool:
        """Stop the broker cleanly (SIGTERM, then SIGKILL after a grace period); True if it ran."""
        state = self.state()
        if state is None or not state.running:
            return False
        assert state.pid is not None
        os.killpg(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT_S
        while _is_broker_process(state.pid) and time.monotonic() < deadline:
            _reap(state.pid)
            time.sleep(0.2)
        if _is_broker_process(state.pid):
            os.killpg(state.pid, signal.SIGKILL)
        _reap(state.pid)
        self._save(BrokerState(state.bootstrap, state.port, state.controller_port, None))
        return True

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])[-600:]


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port(avoid: set[int] = frozenset()) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def _reuse_or_free(port: int | None, avoid: set[int] = frozenset()) -> int:
    """Keep last run's port when it is still free, so clients that remember it still connect."""
    if port and port not in avoid and not _port_open(port):
        with socket.socket() as sock:
            # as the broker binds: a port whose last connections linger in TIME_WAIT is free
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass
    return free_port(avoid)
