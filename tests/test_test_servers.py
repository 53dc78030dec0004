"""The suite's own servers: a port taken between choosing it and binding it is not a failed run.

Ports are chosen free and bound later by ``redis-server``; on a busy machine
a client's ephemeral port or another test's server may take one in between
(CI once waited 60 s for a cluster node that had exited on such a port).
These tests take the port on purpose, where the harness chooses it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis

import tests.redis_cluster as redis_cluster
from tests.redis_cluster import RedisClusterServers
from tests.redis_server import RedisServer, free_ports


@pytest.fixture
def held() -> Iterator[socket.socket]:
    """A loopback port that another process (this one) listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def test_free_ports_are_distinct() -> None:
    ports = free_ports(64)
    assert len(set(ports)) == 64


def test_a_server_whose_port_was_taken_moves_to_another(held: socket.socket) -> None:
    taken = held.getsockname()[1]
    server = RedisServer()
    server._port = taken  # as if another process took the chosen port before the server bound it
    try:
        server.start()
        assert server.port != taken
        assert redis.Redis(port=server.port).info("server")["process_id"] == server.proc.pid  # type: ignore[union-attr]
    finally:
        server.close()


def test_a_promised_port_that_is_taken_is_an_error_quoting_the_log(held: socket.socket) -> None:
    server = RedisServer()
    server.port = held.getsockname()[1]  # a test that handed the port out already
    try:
        with pytest.raises(RuntimeError, match="exited with 1.*Address already in use"):
            server.start()
    finally:
        server.close()


def test_a_cluster_node_whose_port_was_taken_starts_on_another(held: socket.socket,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    taken = held.getsockname()[1]
    real, calls = free_ports, []

    def first_taken(count: int) -> list[int]:
        calls.append(count)
        ports = real(count)
        return [taken, *ports[1:]] if len(calls) == 1 else ports

    monkeypatch.setattr(redis_cluster, "free_ports", first_taken)
    servers = RedisClusterServers(nodes=1)
    try:
        port = servers._start_node()
        assert port != taken and len(calls) == 2
        assert redis.Redis(port=port).info("server")["process_id"] == servers.procs[port].pid
    finally:
        servers.close()
