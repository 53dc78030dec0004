"""A real Redis Cluster that a test starts, breaks and tears down itself: 3 primaries, 3 replicas.

Six ``redis-server --cluster-enabled yes`` processes on free loopback ports
(each with its cluster bus on a free port of its own, ``cluster-port``),
joined by ``redis-cli --cluster create ... --cluster-replicas 1``. A short
``cluster-node-timeout`` (1 s) lets a replica take over within seconds when
a test kills its primary.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.redis_server import free_ports, log_tail, says_ready


class RedisClusterServers:
    """Six redis-server processes forming one cluster on 127.0.0.1."""

    def __init__(self, nodes: int = 6, node_timeout_ms: int = 1000) -> None:
        exe = shutil.which("redis-server")
        if exe is None or shutil.which("redis-cli") is None:
            raise RuntimeError("redis-server and redis-cli are not installed (apt-get install -y redis-server)")
        self.exe, self.node_timeout_ms = exe, node_timeout_ms
        self.dir = Path(tempfile.mkdtemp(prefix="redis-cluster-test-"))
        self.nodes = nodes
        self.ports: list[int] = []
        self.taken: set[int] = set()  # the data and bus ports of the nodes started
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """A URL of one node: enough for a cluster client to find the rest."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    ATTEMPTS = 5

    def start(self) -> RedisClusterServers:
        for _ in range(self.nodes):
            self.ports.append(self._start_node())
        subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        self.wait_ok()
        self._wait(self._replicas_linked, "every replica to be in sync with its primary")
        return self

    def _start_node(self) -> int:
        """Start one node on free ports and wait until it answers; its port.

        Ports are chosen free but may be taken before the node binds them (a
        client's ephemeral port, another test's server): a node that exits
        is started again on new ports, and the last failure quotes its log.
        """
        for attempt in range(self.ATTEMPTS):
            port, bus = [p for p in free_ports(2 + len(self.taken)) if p not in self.taken][:2]
            folder = self.dir / f"{port}-{attempt}"
            folder.mkdir()
            log = folder / "redis.log"
            proc = subprocess.Popen(
                [self.exe, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-port", str(bus), "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", str(self.node_timeout_ms), "--cluster-replica-validity-factor", "0",
                 "--save", "", "--appendonly", "no", "--dir", str(folder), "--logfile", str(log)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs[port] = proc
            self._wait(lambda q=proc, f=log: q.poll() is not None or says_ready(f), f"node {port} to be ready or exit")
            if proc.poll() is None:
                self.taken |= {port, bus}
                return port
            del self.procs[port]
        raise RuntimeError(f"no cluster node started in {self.ATTEMPTS} attempts; "
                           f"the last exited with {proc.returncode} (log: {log_tail(log)})")

    def wait_ok(self, timeout: float = 60.0) -> None:
        """Until every live node says ``cluster_state:ok`` and the slots are served by live primaries."""
        self._wait(self._all_ok, "cluster_state:ok on every live node", timeout)

    def _all_ok(self) -> bool:
        for port in self.live():
            info = redis.Redis(port=port).execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" not in text:
                return False
        return set(self.primaries()) <= set(self.live())

    def _replicas_linked(self) -> bool:
        for port in self.live():
            info = redis.Redis(port=port).info("replication")
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
        return True

    def live(self) -> list[int]:
        return [p for p, proc in self.procs.items() if proc.poll() is None]

    def primaries(self) -> list[int]:
        """The ports of the primaries serving slots, as a live node sees them."""
        slots = redis.Redis(port=self.live()[0]).execute_command("CLUSTER", "SLOTS")
        return sorted({int(s[2][1]) for s in slots})

    def primary_of(self, key: str) -> int:
        """The port of the primary holding ``key``'s slot."""
        slot = int(redis.Redis(port=self.live()[0]).execute_command("CLUSTER", "KEYSLOT", key))
        for start, end, primary, *_ in redis.Redis(port=self.live()[0]).execute_command("CLUSTER", "SLOTS"):
            if int(start) <= slot <= int(end):
                return int(primary[1])
        raise AssertionError(f"slot {slot} of {key} is not served")

    def kill(self, port: int) -> None:
        """SIGKILL one node (a crash)."""
        proc = self.procs[port]
        proc.kill()
        proc.wait(timeout=10)

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.live()[0])

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _wait(check: object, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except (redis.RedisError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.05)
