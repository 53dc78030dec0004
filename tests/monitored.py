"""Every XADD as Redis executed it (``MONITOR``): for the tests of when an entry is written, not just what.

``MONITOR`` is started before the producer, so the first entries are seen
too; each XADD gives the server's time it ran at and its entry's second (its
event's second: the entry id is ``<event time ms>-<seq>``).
"""

from __future__ import annotations

import re
import threading

import redis

#: An XADD's entry id as MONITOR shows it: ``<ms>-<seq>`` after the stream name (and MAXLEN).
ENTRY_ID = re.compile(r"\b(\d{13})-\d+\b")


def monitor_xadds(client: redis.Redis) -> tuple[list[tuple[float, float]], list[str]]:
    """Start watching; the lists it fills as XADDs run: ``(server time, the entry's second)``, and the
    XADDs whose id could not be read. Returns once ``MONITOR`` is on (the thread ends with the server)."""
    adds: list[tuple[float, float]] = []
    unread: list[str] = []
    ready = threading.Event()

    def monitor() -> None:
        try:
            with client.monitor() as m:
                ready.set()
                for cmd in m.listen():
                    if cmd["command"].startswith("XADD"):
                        found = ENTRY_ID.search(cmd["command"])
                        if found is None:
                            unread.append(cmd["command"][:200])
                        else:
                            adds.append((float(cmd["time"]), int(found.group(1)) / 1000))
        except redis.ConnectionError:
            return  # the server is gone: the test is over

    threading.Thread(target=monitor, daemon=True).start()
    assert ready.wait(30)
    return adds, unread
