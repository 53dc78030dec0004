"""A headless Chromium driven over the DevTools protocol, for the report's browser test.

Debian's ``chromium`` (scripts/test.sh installs it) is started with a new,
empty profile folder and ``--remote-debugging-port=0``; the port it picked
is read from the ``DevTools listening on ws://...`` line it prints. The page's
target is driven with the ``websocket-client`` package: navigate, evaluate
JavaScript, and take a screenshot. Every console error, uncaught exception
and log entry of level error is recorded (``errors``).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1300,1800")
_LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")


class Browser:
    """One headless Chromium and a DevTools connection to its page."""

    def __init__(self, profile: Path, timeout: float = 60.0) -> None:
        command = shutil.which("chromium")
        if command is None:
            raise RuntimeError("chromium is not installed (scripts/test.sh installs Debian's chromium)")
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([command, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.timeout = timeout
        self.errors: list[str] = []
        self._id = 0
        browser_url = self._listening()
        port = browser_url.split(":")[2].split("/")[0]
        page = self._page_target(port)
        self.ws = websocket.create_connection(page, timeout=timeout, suppress_origin=True)
        for method in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(method)

    def _listening(self) -> str:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode} before listening")
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        raise RuntimeError("chromium did not print its DevTools address in time")

    def _page_target(self, port: str) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.2)
        raise RuntimeError("chromium has no page target")

    def _note(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append("exception: " + str(details.get("exception", {}).get("description", details.get("text"))))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.errors.append("log: " + str(params["entry"].get("text")))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (noting the events that arrive meanwhile)."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self._note(message)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            self._note(message)
            if message.get("method") == "Page.loadEventFired":
                return
        raise RuntimeError(f"{url} did not load in time")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str) -> Any:
        """Evaluate until the value is truthy (a generous bound: the machine may be busy)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"never true: {expression}")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
