"""The environment answers in one line, and secrets stay secret (issue: every input answered in one line).

Each case runs the producer as the container does, against a real
redis-server (or a real socket that is not Redis), and expects exactly one
error line and the documented exit code: 2 for a malformed setting, 1 for
the environment.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import redis

from tests.producer_run import SESSIONS, one_line, run_producer
from tests.redis_server import RedisServer, free_port

SPAN = ("--sim-start", "2025-11-03", "--days", "0.05", "--seed", "1")


def fails(url: str, code: int, *args: str, **settings: object) -> str:
    done = run_producer(url, *SPAN, *args, speed="1e6", redis_connect_timeout="5", **settings)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    return one_line(done.stderr)


def test_a_database_out_of_range_is_one_line(redis_server: RedisServer) -> None:
    line = fails(redis_server.url.rsplit("/", 1)[0] + "/99", 1)
    assert "DB index is out of range" in line


@pytest.mark.parametrize("url", ["redis://:s3cret-pw@127.0.0.1:99999/0", "redis://user:s3cret-pw@:bad:port/0",
                                 "redis://:s3cret-pw@127.0.0.1:6379/x"])
def test_a_malformed_url_is_one_line_and_hides_its_password(url: str) -> None:
    done = run_producer("redis://unused", *SPAN, redis_url=url)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "REDIS_URL=" in line and "***" in line
    assert "s3cret-pw" not in done.stderr + done.stdout


def test_no_password_where_one_is_required() -> None:
    server = RedisServer(password="pw").start()
    try:
        line = fails(f"redis://127.0.0.1:{server.port}/0", 1)
        assert "requires a password" in line and "REDIS_URL" in line
    finally:
        server.close()


def test_a_server_that_is_not_redis() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]

    def answer() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    threading.Thread(target=answer, daemon=True).start()
    try:
        line = fails(f"redis://127.0.0.1:{port}/0", 1)
        assert "does not speak the Redis protocol" in line
    finally:
        listener.close()


def test_a_key_of_the_wrong_type_at_the_run_record(redis_server: RedisServer) -> None:
    redis.Redis.from_url(redis_server.url).set("foot_traffic:run", "not a hash")
    line = fails(redis_server.url, 1)
    assert "foot_traffic:run" in line and "WRONGTYPE" in line


@pytest.mark.parametrize("field,value", [("speed", "0"), ("speed", "nan"), ("speed", "-3"),
                                         ("sim_start", "99999999999999"), ("wall_start", "inf")])
def test_a_corrupt_run_record_is_one_line(redis_server: RedisServer, field: str, value: str) -> None:
    client = redis.Redis.from_url(redis_server.url)
    assert run_producer(redis_server.url, *SPAN, speed="1e6").returncode == 0
    client.hset("foot_traffic:run", field, value)
    done = run_producer(redis_server.url, "--days", "0.1", speed="1e6", redis_connect_timeout="5")
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert "foot_traffic:run" in line and "--fresh" in line


def test_a_metrics_port_in_use_stops_before_anything_is_written(redis_server: RedisServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = fails(redis_server.url, 1, metrics_port=str(port))
    assert f"METRICS_PORT={port}" in line and "in use" in line
    client = redis.Redis.from_url(redis_server.url)
    assert not client.exists("foot_traffic:run") and not client.exists(SESSIONS)


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_metrics_listen_on_loopback_unless_told(redis_server: RedisServer) -> None:
    port = free_port()
    from tests.producer_run import watch_producer

    proc = watch_producer(redis_server.url, "--sim-start", "2025-11-03", "--seed", "1", speed="1",
                          metrics_port=str(port))
    try:
        proc.wait_for_log(f"serving Prometheus metrics on 127.0.0.1:{port}")
        assert listening_addresses(port) == {"0100007F"}, "127.0.0.1 only"
    finally:
        proc.proc.terminate()
        proc.finish(timeout=30)


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it, and a second, unrelated CA."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is needed to make the test's certificates (apt-get install -y openssl)")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=test-ca")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.crt", "-days", "2",
        "-subj", "/CN=other-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")
    return {name: tmp_path / f"{name}.crt" for name in ("ca", "other", "server")} | {"key": tmp_path / "server.key"}


def test_tls_with_its_ca_works_and_a_wrong_ca_is_one_line(tls_files: dict[str, Path]) -> None:
    port = free_port()
    server = RedisServer(extra=["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(tls_files["server"]),
                                "--tls-key-file", str(tls_files["key"]), "--tls-ca-cert-file", str(tls_files["ca"]),
                                "--tls-auth-clients", "no"])
    server.port = port
    try:
        server.start()
        good = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tls_files['ca']}"
        done = run_producer(good, *SPAN, speed="1e6", redis_connect_timeout="5")
        assert done.returncode == 0, done.stderr
        assert redis.Redis.from_url(good).xlen(SESSIONS) > 0
        wrong = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tls_files['other']}"
        line = fails(wrong, 1)
        assert "TLS" in line and "not trusted" in line and "ssl_ca_certs" in line
    finally:
        server.close()
