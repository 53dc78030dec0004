"""A slow link on loopback: a TCP proxy that delays every byte by a fixed time in each direction.

Real sockets and a real redis-server behind it; only the wire is slow. Each
direction reads as fast as data comes and delivers each chunk ``delay``
seconds after it arrived, so the link has latency, not a bandwidth cap.

A link made ``gated`` accepts connections but forwards nothing until
:meth:`open_gate`: clients started one after the other then meet Redis at
the same moment (``connections`` counts the connections accepted so far).
"""

from __future__ import annotations

import asyncio
import threading
import time


class SlowLink:
    """``127.0.0.1:port`` -> ``127.0.0.1:target``, every chunk delayed by ``delay`` seconds."""

    def __init__(self, target: int, delay: float, gated: bool = False) -> None:
        self.target, self.delay, self.port = target, delay, 0  # the listener's own port, once it binds
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._gate: asyncio.Event | None = None
        self._gated = gated
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the slow link did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._gate = asyncio.Event()
        if not self._gated:
            self._gate.set()
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    def open_gate(self) -> None:
        """Forward from now on (a gated link)."""
        assert self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        assert self._gate is not None
        await self._gate.wait()
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    writer.close()
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + self.delay, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
            writer.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
