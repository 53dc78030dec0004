"""Redis lost while the run is being opened: waited for and retried, exact, never a traceback (issue 25 item 1).

300 stores on per-store streams: opening the run is many commands (the
streams' tops, a lease, a run record read and created per store), and a
Redis that goes away between any two of them must be waited for as it is
mid-run. The test watches the server's ``MONITOR`` and SIGKILLs it at a
chosen command of the start-up (the 150th lease, the 150th record read ...),
starts it again half a second later on the same port, and then requires: exit
0, no traceback, a retry logged, and every store's streams equal to the
offline run line for line.

The server keeps an append-only file fsynced on every write, as a Redis
that must not forget does: what it acknowledged before the crash is there
after it, so a start-up step meets half of its own work done (some leases
taken, some run records created) and must continue from there.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.producer_run import offline, watch_producer
from tests.redis_server import RedisServer

PERSISTENT = ["--appendonly", "yes", "--appendfsync", "always"]
STORES = [f"s{i:03d}" for i in range(300)]
BASE = "chain"
SPAN = ("--days", "0.02", "--seed", "7")
START = "2025-11-03T10:00:00"

#: Where the server is killed: the n-th command it receives that matches.
MOMENTS: dict[str, tuple[Callable[[str], bool], int]] = {
    "tops": (lambda cmd: cmd.startswith("XINFO"), 300),
    "leases": (lambda cmd: ":lease" in cmd, 150),
    "records read": (lambda cmd: cmd.startswith("HGETALL"), 150),
    "records created": (lambda cmd: cmd.startswith("EVAL") and ":run" in cmd, 150),
    "record anchored": (lambda cmd: cmd.startswith("HSET") and ":run" in cmd, 150),
    "first writes": (lambda cmd: cmd.startswith("XADD"), 1),
}


def write_stores(path: Path) -> Path:
    path.write_text("".join(f'[[stores]]\nid = "{s}"\ndaily_customers = 400\n\n' for s in STORES),
                    encoding="utf-8")
    return path


class KillAt:
    """Watches the server's MONITOR; at the n-th matching command, SIGKILLs it and starts it again 0.5 s later."""

    def __init__(self, server: RedisServer, matches: Callable[[str], bool], nth: int) -> None:
        self.server, self.matches, self.nth = server, matches, nth
        self.killed = threading.Event()
        self.restarted = threading.Event()
        self._monitor = redis.Redis.from_url(server.url).monitor()
        self._monitor.__enter__()  # MONITOR is on before the producer starts
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        seen = 0
        try:
            for event in self._monitor.listen():
                if self.matches(str(event.get("command", ""))):
                    seen += 1
                    if seen >= self.nth:
                        break
        except (redis.ConnectionError, OSError):  # the server went away some other way: never restart it then
            return
        self.server.stop()  # SIGKILL
        self.killed.set()
        time.sleep(0.5)
        self.server.start()
        self.restarted.set()


def by_store(tmp: Path, stores: Path) -> dict[str, tuple[list[bytes], list[bytes]]]:
    sessions, doors = offline(tmp, "--start", START, "--stores", str(stores), *SPAN)
    out: dict[str, tuple[list[bytes], list[bytes]]] = {s: ([], []) for s in STORES}
    for kind, lines in ((0, sessions), (1, doors)):
        for line in lines:
            out[json.loads(line)["store_id"]][kind].append(line)
    return out


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_redis_killed_during_startup_is_waited_for_and_the_run_is_exact(tmp_path: Path, moment: str) -> None:
    stores = write_stores(tmp_path / "stores.toml")
    server = RedisServer(extra=PERSISTENT).start()
    try:
        matches, nth = MOMENTS[moment]
        killer = KillAt(server, matches, nth)
        proc = watch_producer(server.url, "--sim-start", START, *SPAN, stores=str(stores), stream_per_store="1",
                              speed="600", redis_stream=BASE, redis_connect_timeout="60")
        _, err = proc.finish(timeout=240)
        assert killer.killed.is_set(), f"the server was never killed at {moment}:\n{err[-3000:]}"
        assert killer.restarted.wait(30)
        assert proc.proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        assert "retrying in" in err or "lost Redis" in err, "the producer met the lost Redis"
        expected = by_store(tmp_path, stores)
        client = redis.Redis.from_url(server.url)
        total = 0
        for store, lines in expected.items():
            for kind, name in enumerate((f"{BASE}:{{{store}}}", f"{BASE}:{{{store}}}:realistic")):
                got = [fields[b"data"] for _, fields in client.xrange(name, "-", "+")]
                assert got == lines[kind], name
                total += len(got)
        assert total > 3000, "enough traffic that a store's streams could differ"
    finally:
        server.close()
