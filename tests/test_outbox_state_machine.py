"""The outbox as a state machine: any interleaving of puts, flushes, faults and Redis crashes writes each entry once.

Hypothesis drives one :class:`~producer.live.outbox.Outbox` against a real
``redis-server`` (append-only file fsynced on every write, so a killed server
forgets nothing it acknowledged) through a :class:`~tests.outbox_faults.FaultySink`,
with rules for what happens to a live producer: entries put in batches (real
ids from the real model, on both streams), flushes that wait for the replies
or leave the batch in flight, batches that fail before they leave, replies lost
after the write, writes that reach Redis twice, connections killed while idle,
a reconnect, the server SIGKILLed and started again, and draining.

After every step the streams must hold a prefix of what was put, in order,
without a duplicate or a gap, and the outbox's counts must add up; at the end,
after a drain, both streams must equal exactly the entries put.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from producer.live.environment import Waker
from producer.live.faults import BACKOFF_FIRST, BACKOFF_MAX, Backoff
from producer.live.outbox import Outbox
from tests.outbox_faults import (
    PERSISTENT,
    STREAMS,
    Fault,
    Injected,
    as_stored,
    faulty_sink,
    per_stream,
    read_stream,
    run_entries,
    wait_until_serving,
)
from tests.redis_server import RedisServer

#: Examples and most steps per example: about 10 s on one core.
EXAMPLES, STEPS = 60, 30
#: Small, so that puts often block on a full buffer (back-pressure) while Redis is up.
BUFFER_MAX = 60
#: Most faults queued at once: each costs a retry, and retries back off.
MOST_FAULTS = 3
#: Bounds for waits on Redis that is up; reached only if the outbox is stuck (a failure).
PATIENCE = 60.0
#: Connections may die while a batch with repeated entries is being checked (the outbox once lost
#: such a batch: test_outbox_subtle_branches.py holds the deterministic case, now fixed).
KILL_WHILE_REPEATS_IN_FLIGHT = True
#: No fault, or one for the next batch: fail before sending, lose the reply, or reach Redis twice.
FAULTS = st.none() | st.builds(Injected, st.sampled_from(Fault), st.integers(1, 50))


class OutboxMachine(RuleBasedStateMachine):
    """One outbox, one FaultySink and the real server; the model is just how many entries were put."""

    def __init__(self, server: RedisServer) -> None:
        super().__init__()
        self.server = server
        self.admin = redis.Redis.from_url(server.url, socket_timeout=10)
        wait_until_serving(self.admin)
        self.admin.flushall()  # each example starts with no streams
        self.entries = run_entries()
        self.put_count = 0
        self.up = True
        self.sink = faulty_sink(server.url)
        self.waker = Waker()
        self.outbox = Outbox(self.sink, self.waker, BUFFER_MAX)
        # The real backoff, 100 times shorter: its schedule is not under test here (drains wait
        # on retry_at, whatever it is), and it lets an example retry dozens of times in milliseconds.
        self.outbox._backoff = Backoff(first=BACKOFF_FIRST / 100, most=BACKOFF_MAX / 100)
        self.outbox.connect(timeout=PATIENCE)

    # -- what the producer does ---------------------------------------------------------------

    @precondition(lambda self: self.put_count < len(self.entries))
    @rule(n=st.integers(1, 40), fault=FAULTS, wait=st.sampled_from([None, True, False]))
    def produce(self, n: int, fault: Injected | None, wait: bool | None) -> None:
        """Put the next ``n`` entries, maybe queue a fault, then maybe flush (as the paced environment does).

        While Redis is down only as many are put as the buffer takes without
        blocking (a put into a full buffer waits for Redis: back-pressure).
        """
        if not self.up:
            n = min(n, BUFFER_MAX - 1 - self.outbox.pending())
        for entry in self.entries[self.put_count: self.put_count + n]:
            self.outbox.put(entry)
            self.put_count += 1
        if fault is not None:
            self.inject(fault)
        if wait is not None:
            self.flush(wait)

    @rule(wait=st.booleans(), fault=FAULTS)
    def flush_now(self, wait: bool, fault: Injected | None) -> None:
        """Flush what is buffered (a retry while Redis is down), maybe with a fault queued first."""
        if fault is not None:
            self.inject(fault)
        self.flush(wait)

    def inject(self, fault: Injected) -> None:
        """Queue a fault for the next batch sent, unless enough are queued (each costs a retry)."""
        if len(self.sink.faults) < MOST_FAULTS:
            self.sink.inject(fault.fault, fault.count)

    def flush(self, wait: bool) -> None:
        """Flush; one that waited and succeeded has written everything put so far."""
        done = self.outbox.flush(wait=wait)
        if done and wait:
            assert self.outbox.pending() == 0
            assert not self.sink.in_flight
            if self.up:
                self.check_streams(exact=True)

    @precondition(lambda self: self.up)
    @rule()
    def drain(self) -> None:
        """Flush until done, waiting out the retry times (as the producer does at a stop)."""
        assert self.outbox.drain(PATIENCE), "Redis is up: the drain must finish"
        assert self.outbox.pending() == 0
        self.check_streams(exact=True)

    @precondition(lambda self: self.up)
    @rule()
    def reconnect(self) -> None:
        """Connect again (read the tops, drop what Redis holds), also with a batch in flight
        (that once lost entries: test_outbox_subtle_branches.py)."""
        self.outbox.connect(timeout=PATIENCE)

    # -- what happens to it -------------------------------------------------------------------

    def may_kill(self) -> bool:
        """Whether a connection may die now: Redis is up (and see KILL_WHILE_REPEATS_IN_FLIGHT)."""
        return self.up and (KILL_WHILE_REPEATS_IN_FLIGHT or not self.sink.repeats_in_flight)

    @precondition(may_kill)
    @rule()
    def kill_connections(self) -> None:
        """Redis closes every connection of the outbox (CLIENT KILL): an idle or in-flight link dies."""
        self.admin.client_kill_filter(_type="normal", skipme=True)

    @precondition(may_kill)
    @rule()
    def kill_server(self) -> None:
        """SIGKILL redis-server (a crash); what it acknowledged is in its fsynced AOF."""
        self.server.stop()
        self.up = False

    @precondition(lambda self: not self.up)
    @rule()
    def start_server(self) -> None:
        """Start redis-server again on the same port and directory; it reloads its AOF."""
        self.server.start()
        wait_until_serving(self.admin)
        self.up = True

    # -- what must hold -----------------------------------------------------------------------

    @invariant()
    def counts_add_up(self) -> None:
        """Every entry put is written, skipped (Redis held it) or pending, once; written = confirmed by Redis."""
        assert sum(self.outbox.written) + sum(self.outbox.skipped) + self.outbox.pending() == self.put_count
        assert self.outbox.written == self.sink.ok, "an entry is counted written only on Redis's OK"

    @invariant()
    def streams_hold_a_prefix(self) -> None:
        if self.up:
            self.check_streams(exact=False)

    def check_streams(self, exact: bool) -> None:
        """Each stream holds a prefix of what was put on it (all of it if ``exact``), and what was counted."""
        put = per_stream(self.entries[: self.put_count])
        for s, name in enumerate(STREAMS):
            got = read_stream(self.admin, name)
            want = as_stored(put[s])
            if exact:
                assert got == want, f"{name}: {len(got)} entries, {len(want)} put"
            else:
                assert got == want[: len(got)], f"{name} is not a prefix of the entries put"
            confirmed = self.outbox.written[s] + self.outbox.skipped[s]
            assert confirmed <= len(got), f"{name}: {confirmed} confirmed but only {len(got)} there"

    def teardown(self) -> None:
        """The end of a run: Redis back, one last drain, then both streams equal exactly what was put."""
        try:
            if not self.up:
                self.start_server()
            assert self.outbox.drain(PATIENCE), "Redis is up: the final drain must finish"
            self.check_streams(exact=True)
            for s in range(len(STREAMS)):
                assert self.outbox.written[s] + self.outbox.skipped[s] == len(per_stream(
                    self.entries[: self.put_count])[s])
            self.counts_add_up()
        finally:
            self.sink.close()
            self.waker.close()
            self.admin.close()


@pytest.fixture
def persistent_redis() -> Iterator[RedisServer]:
    """A redis-server whose AOF is fsynced on every write, killed after the test."""
    server = RedisServer(extra=PERSISTENT).start()
    try:
        yield server
    finally:
        server.close()


def test_outbox_writes_each_entry_once_whatever_happens(persistent_redis: RedisServer) -> None:
    """EXAMPLES reproducible runs (derandomized) of up to STEPS steps on one server, each from an empty database."""
    run_state_machine_as_test(
        lambda: OutboxMachine(persistent_redis),  # type: ignore[arg-type]  # a factory is documented
        settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True, database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
