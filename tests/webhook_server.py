"""A real HTTP endpoint on loopback for the webhook's tests: it records what it takes, and misbehaves.

``http.server``'s threading server in a thread of the test. Each POST draws
its fate from a seeded ``random.Random``: answered 503 (not taken), the
connection reset without an answer (not taken), taken after a delay (so
batches overtake one another), taken but answered 500 (the sender must
send it again: a duplicate), or taken with 200. :meth:`down` makes it answer
503 to everything until :meth:`up`.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from producer.live.webhook import KEY_HEADER, KIND_HEADER, RECORDS_HEADER, SIGNATURE_HEADER


@dataclass(frozen=True)
class Taken:
    """One POST the endpoint took: its headers and body, and when (monotonic)."""

    key: str
    signature: str
    records: str
    body: bytes
    at: float
    kind: str = ""  #: the X-Foot-Traffic-Kind header


class FaultyEndpoint:
    """The endpoint (see the module's doc); ``faults``: probabilities of each misbehaviour."""

    def __init__(self, seed: int = 0, refuse: float = 0.15, reset: float = 0.1, slow: float = 0.15,
                 answer_lost: float = 0.1, delay: float = 0.15) -> None:
        self._rng, self._lock = random.Random(seed), threading.Lock()
        self.p = (refuse, reset, slow, answer_lost)
        self.delay = delay
        self.taken: list[Taken] = []
        self.fates: dict[str, int] = {"refused": 0, "reset": 0, "slow": 0, "answer lost": 0, "ok": 0, "down": 0}
        self._down = False
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fate = endpoint._fate()
                if fate in ("refused", "down"):
                    self._answer(503)
                elif fate == "reset":  # RST instead of an answer
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                else:
                    if fate == "slow":
                        time.sleep(endpoint.delay)
                    endpoint._take(Taken(self.headers[KEY_HEADER], self.headers[SIGNATURE_HEADER],
                                         self.headers[RECORDS_HEADER], body, time.monotonic(),
                                         self.headers.get(KIND_HEADER, "")))
                    self._answer(500 if fate == "answer lost" else 200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/counts"

    def start(self) -> FaultyEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def down(self) -> None:
        with self._lock:
            self._down = True

    def up(self) -> None:
        with self._lock:
            self._down = False

    def taken_now(self) -> list[Taken]:
        with self._lock:
            return list(self.taken)

    def _take(self, taken: Taken) -> None:
        with self._lock:
            self.taken.append(taken)

    def _fate(self) -> str:
        with self._lock:
            if self._down:
                fate = "down"
            else:
                u, fate, edge = self._rng.random(), "ok", 0.0
                for name, p in zip(("refused", "reset", "slow", "answer lost"), self.p, strict=True):
                    edge += p
                    if u < edge:
                        fate = name
                        break
            self.fates[fate] += 1
            return fate
