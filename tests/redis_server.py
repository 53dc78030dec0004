"""A real ``redis-server`` that a test starts, stops and restarts itself.

Never a mock: the suite talks to the same server the producer meets in
production, on a free port of its own, so a test may kill it mid-run.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    """A loopback port that no socket holds now (another process may take it before we bind it)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that no socket holds now.

    The sockets are held open together while the ports are chosen, so the
    kernel cannot hand out one port twice. A port may still be taken between
    this call and a server's bind (by a client's ephemeral port, say): a
    server that fails to bind is started again on new ports by its caller.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


READY = "Ready to accept connections"


def says_ready(log: Path) -> bool:
    """Whether a server's own log says it listens (a connection alone may reach another process on the port)."""
    try:
        return READY in log.read_text(errors="replace")
    except OSError:
        return False


def log_tail(path: Path, lines: int = 5) -> str:
    """The last lines of a server's log, for an error message (empty if there is none)."""
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class RedisServer:
    """One redis-server process on 127.0.0.1 and a free port.

    Until a test has read :attr:`port` or :attr:`url`, a server that cannot
    bind its port (another process took it after it was chosen) moves to a
    new one; after that the port is a promise and a failure to bind is an
    error that quotes the server's log.
    """

    ATTEMPTS = 5

    def __init__(self, password: str | None = None, extra: list[str] | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.exe, self.password, self.extra = exe, password, extra or []
        self._port, self._promised = free_port(), False
        self.dir = Path(tempfile.mkdtemp(prefix="redis-test-"))
        self.log = self.dir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        self._promised = True
        return self._port

    @port.setter
    def port(self, port: int) -> None:
        """Listen on ``port`` (a test that passes its own ``--port``/``--tls-port`` says which one it is)."""
        self._port, self._promised = port, True

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        for attempt in range(1, self.ATTEMPTS + 1):
            failure = self._try_start()
            if failure is None:
                return self
            if self._promised or attempt == self.ATTEMPTS:
                raise RuntimeError(f"{failure} (log: {log_tail(self.log)})")
            self._port = free_port()
        raise AssertionError("unreachable")

    def _try_start(self) -> str | None:
        """Start the process and wait until it accepts connections; the reason if it does not."""
        args = [self.exe, "--port", str(self._port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.dir), "--logfile", str(self.log), *self.extra]
        if self.password:
            args += ["--requirepass", self.password]
        self.log.write_text("")  # a restart's log starts empty: "ready" is this process's word
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"redis-server on port {self._port} exited with {self.proc.returncode}"
            if says_ready(self.log):
                with socket.create_connection(("127.0.0.1", self._port), timeout=5):
                    return None
            time.sleep(0.02)
        return f"redis-server on port {self._port} did not say it was ready within 60 s"

    def stop(self) -> None:
        """Kill the server (SIGKILL: a crash, not a clean shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
