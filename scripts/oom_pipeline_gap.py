"""Show that Redis can accept an XADD after refusing earlier ones of the same pipeline with OOM (a gap).

    python scripts/oom_pipeline_gap.py [TRIALS]            # plain XADDs; needs redis-server; exit 1 on a gap
    python scripts/oom_pipeline_gap.py --appends [TRIALS]  # the producer's appends: exit 1 on a gap

A redis-server of its own (``maxmemory`` = used + 2 MB, ``noeviction``) gets
8 pipelines of 5,000 ``XADD``s with explicit, increasing ids, sent back to back
while a thread reads the replies, as the outbox's writer thread and the
backfill's reader do. Each trial prints how many were accepted and how often
an entry was accepted *after* a refused one: such an entry lands above
entries that are missing and can never be written below it (an id must be
above the stream's top), which the producer's next check of what it wrote
reports as a ``ForeignEntry`` ("... it is above X-Y, which is missing").

Why: the OOM check is made per command against the memory used at that
moment, and the memory goes down now and then while a pipeline is being
refused (reply buffers written out and freed, query buffers resized by the
server's cron), so the refusals are not a clean cut. Measured on Redis 7.0.15:
a run of 36 entries accepted after about 23,000 refused, in every trial.

With ``--appends`` the same entries go as the producer's appends
(:mod:`producer.live.append`) of 100 entries, each naming the top it writes
onto, as the backfill sends them: the stream must hold a prefix of what was
sent (measured: 5,200 to 5,700 of 40,000 held, nothing missing, in 5 of 5 trials;
the plain XADDs left a gap in 2 of 5).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from typing import Any

import redis

ENTRIES, PIPELINES = 5000, 8
APPEND = 100  # entries per append with --appends (the outbox's batches are of that order)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _near_maxmemory(port: int) -> tuple[redis.Redis, Any, bytes]:
    """The server 2 MB below ``maxmemory``; a connection of its own, and an entry's payload."""
    admin = redis.Redis(port=port)
    admin.config_set("maxmemory", 0)
    admin.config_set("maxmemory", admin.info("memory")["used_memory"] + 2_000_000)
    return admin, redis.Redis(port=port).connection_pool.get_connection(), b'{"x":"' + b"y" * 300 + b'"}'


def trial(port: int, stream: str) -> tuple[int, int]:
    """One trial on a fresh stream: (entries accepted, accepted-after-refused transitions)."""
    admin, conn, data = _near_maxmemory(port)
    total = ENTRIES * PIPELINES
    outcome: list[str] = []

    def read() -> None:
        for _ in range(total):
            try:
                conn.read_response()
                outcome.append("+")
            except redis.ResponseError:
                outcome.append("-")

    reader = threading.Thread(target=read)
    reader.start()
    for p in range(PIPELINES):
        packed = b"".join(
            part for i in range(ENTRIES)
            for part in conn.pack_command("XADD", stream, f"{1000 + p * ENTRIES + i}-0", "data", data))
        conn.send_packed_command([packed], check_health=False)
    reader.join()
    conn.disconnect()
    text = "".join(outcome)
    admin.config_set("maxmemory", 0)
    admin.delete(stream)
    return text.count("+"), text.count("-+")


def appends_trial(port: int, stream: str) -> tuple[int, int]:
    """The same pipelines as the producer's appends: (entries held, entries missing below the stream's top)."""
    from producer.live.append import LOAD, Packer
    from producer.live.sink import Entry

    admin, conn, data = _near_maxmemory(port)
    packer = Packer((stream,), 1_000_000)
    sent: list[bytes] = []
    after = (0, 0)

    def read() -> None:
        for _ in range(PIPELINES * ENTRIES // APPEND + 1):
            try:
                conn.read_response()
            except redis.ResponseError:
                pass

    reader = threading.Thread(target=read)
    reader.start()
    for p in range(PIPELINES):
        packed = [LOAD] if p == 0 else []
        for a in range(0, ENTRIES, APPEND):
            entries = [Entry(0, 0.0, 1000 + p * ENTRIES + a + i, 0, data, b"c") for i in range(APPEND)]
            sent += [b"%d-0" % e.ms for e in entries]
            packed.append(packer.append(0, entries, after))
            after = entries[-1].id
        conn.send_packed_command(packed, check_health=False)
    reader.join()
    conn.disconnect()
    admin.config_set("maxmemory", 0)
    held = [eid for eid, _ in admin.xrange(stream)]
    admin.delete(stream)
    top = sent.index(held[-1]) + 1 if held else 0
    return len(held), top - len(held)


def main() -> int:
    appends = "--appends" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--appends"]
    trials = int(args[0]) if args else 3
    port = _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--maxmemory-policy", "noeviction"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        gaps = 0
        for t in range(trials):
            if appends:
                held, missing = appends_trial(port, f"gap:{t}")
                gaps += missing > 0
                print(f"trial {t}: {held} of {ENTRIES * PIPELINES} held; missing below the top: {missing}")
                continue
            accepted, after_refused = trial(port, f"gap:{t}")
            gaps += after_refused > 0
            print(f"trial {t}: {accepted} of {ENTRIES * PIPELINES} accepted; "
                  f"accepted after a refused one: {after_refused} time(s)")
        return 1 if gaps else 0
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
