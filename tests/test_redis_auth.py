"""REDIS_URL with a password (``requirepass``) and with an ACL user; bad credentials fail in one line."""

from __future__ import annotations

import redis

from tests.producer_run import SESSIONS, one_line, run_producer
from tests.redis_server import RedisServer

SPAN = ("--sim-start", "2025-11-03", "--days", "0.25", "--seed", "2", "--daily-customers", "400")


def test_requirepass_through_the_url() -> None:
    server = RedisServer(password="s3cret").start()
    try:
        done = run_producer(server.url, *SPAN, speed="1e6")
        assert done.returncode == 0, done.stderr
        client = redis.Redis.from_url(server.url)
        assert client.xlen(SESSIONS) > 0
        wrong = run_producer(server.url.replace("s3cret", "wrong"), *SPAN, speed="1e6")
        assert wrong.returncode == 1
        assert "refused the credentials" in one_line(wrong.stderr)
    finally:
        server.close()


#: What docs/security.md says a producer's ACL user needs (besides its keys).
ACL_COMMANDS = ("-@all +@connection +xadd +xinfo|stream +xinfo|groups +xrange +xgroup|create +hgetall +hset "
                "+set +get +exists +del +pexpire +eval +evalsha +script|load +multi +exec")


def test_the_readme_lists_the_acl_a_producer_needs() -> None:
    from tests.test_readme import page

    assert f"`{ACL_COMMANDS}`" in page("security.md")


def test_an_acl_user_limited_to_its_keys(redis_server: RedisServer) -> None:
    admin = redis.Redis.from_url(redis_server.url)
    # Only what the producer needs: its streams, its run hash and the clock keys.
    admin.execute_command(
        "ACL", "SETUSER", "producer", "on", ">pw-123", "resetkeys", "~foot_traffic*", "~sim:*",
        *ACL_COMMANDS.split(),
    )
    url = f"redis://producer:pw-123@127.0.0.1:{redis_server.port}/0"
    done = run_producer(url, *SPAN, speed="1e6", publish_clock="1")
    assert done.returncode == 0, done.stderr
    assert admin.xlen(SESSIONS) > 0 and admin.get("sim:today") == b"2025-11-03"

    elsewhere = run_producer(url, *SPAN, speed="1e6", redis_stream="other")
    assert elsewhere.returncode == 1
    assert "denied" in one_line(elsewhere.stderr)
