"""Helpers for the producer's tests: run it, run the offline simulation, read the streams.

The producer runs as the container runs it (``python -m producer`` in a
subprocess), so signals, exit codes and messages are the real ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
from click.testing import CliRunner

from producer.cli import main

SESSIONS, DOORS = "foot_traffic", "foot_traffic:realistic"
ROOT = Path(__file__).resolve().parent.parent


def produce_env(url: str, **settings: object) -> dict[str, str]:
    """The environment for a producer subprocess: REDIS_URL plus ``settings`` as variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SIM_", "SEED", "SPEED"))}
    env.update({"REDIS_URL": url, "STREAM_MAXLEN": "10000000", "LOG_LEVEL": "INFO"})
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


def start_producer(url: str, *args: str, **settings: object) -> subprocess.Popen[str]:
    """``python -m producer ARGS`` with the given settings in its environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "producer", *args], env=produce_env(url, **settings), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


class Watched:
    """A producer subprocess whose stderr is read as it is written, so a test can wait for a log line.

    A test that must act after the producer did something (tried Redis, lost
    it, ...) waits for the line that says so, never for a guessed time.
    """

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self._lines, self._lock = proc, [], threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self._lines.append(line)

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait_for_log(self, text: str, timeout: float = 60.0) -> None:
        """Wait until ``text`` appears in stderr (fails if the process ends first)."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            if self.proc.poll() is not None and not self._reader.is_alive() and text not in self.stderr:
                raise AssertionError(f"the producer exited ({self.proc.returncode}) before logging {text!r}:\n{self.stderr}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged within {timeout} s:\n{self.stderr}")
            time.sleep(0.01)

    def finish(self, timeout: float = 60.0) -> tuple[str, str]:
        """Wait for the process to end: (stdout, stderr)."""
        out = self.proc.stdout.read() if self.proc.stdout is not None else ""
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return out, self.stderr


def watch_producer(url: str, *args: str, **settings: object) -> Watched:
    """``start_producer`` with its stderr read line by line as it comes."""
    return Watched(start_producer(url, *args, **settings))


def run_producer(url: str, *args: str, timeout: float = 60, **settings: object) -> subprocess.CompletedProcess[str]:
    proc = start_producer(url, *args, **settings)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def offline(tmp: Path, *args: str) -> tuple[list[bytes], list[bytes]]:
    """The JSONL lines ``foot-traffic simulate ARGS`` writes: (sessions, door events)."""
    out = tmp / "offline"
    result = CliRunner().invoke(main, ["simulate", "--out", str(out), "--quiet", *args])
    assert result.exit_code == 0, result.output
    return (
        (out / "foot_traffic.jsonl").read_bytes().splitlines(),
        (out / "foot_traffic_realistic.jsonl").read_bytes().splitlines(),
    )


def read_stream(client: redis.Redis, name: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every entry of a stream, oldest first."""
    return [(eid, fields) for eid, fields in client.xrange(name, "-", "+")]


def payloads(client: redis.Redis, name: str) -> list[bytes]:
    return [fields[b"data"] for _, fields in read_stream(client, name)]


def wait_for(predicate, timeout: float = 30.0, every: float = 0.01) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until true (a test's own synchronisation, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(every)


def stream_len(client: redis.Redis, name: str) -> int:
    try:
        return int(client.xlen(name))
    except redis.ConnectionError:
        return -1


def one_line(stderr: str) -> str:
    """The single error line a failing command prints (asserting there is exactly one)."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith("foot-traffic: error:")]
    assert len(lines) == 1, stderr
    return lines[0]
