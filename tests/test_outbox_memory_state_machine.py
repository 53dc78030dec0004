"""The outbox's logic as a state machine on the in-memory sink: any interleaving of puts and faults writes each entry once.

Hypothesis drives one :class:`~producer.live.outbox.Outbox` through a
:class:`~producer.live.memory_sink.MemorySink` (the unit-test sink of the sink
protocol, beside the real-server state machine of test_outbox_state_machine.py):
entries of the real model put in batches, flushes that wait or leave the batch
in flight, the connection lost before, during or after a batch is applied,
``MOVED`` replies, an earlier copy of a batch arriving first, the server down
and back, reconnects, and a server that forgot acknowledged entries (a restart
from an older snapshot), which the outbox's heal writes again.

After every step each stream holds a prefix of what was put on it, in order,
ids and payloads as the emitter made them (no duplicate, no gap), and the
outbox's counts add up; at the end, after a drain, each stream holds exactly
what was put. Thousands of steps run in seconds: no server, no sockets.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from producer.live.faults import Backoff
from producer.live.memory_sink import Fault, MemorySink
from producer.live.outbox import Outbox
from producer.live.sink import Entry, Sink, StreamId
from tests.outbox_faults import STREAMS, as_stored, per_stream, run_entries

EXAMPLES, STEPS = 100, 50
#: Small, so that puts often block on a full buffer (back-pressure) while the sink is up.
BUFFER_MAX = 60
MOST_FAULTS = 3
PATIENCE = 30.0
FAULTS = st.none() | st.tuples(st.sampled_from(Fault), st.integers(0, 50))


def _sink(streams: tuple[str, ...]) -> Sink:
    return MemorySink(streams)  # the in-memory sink is a Sink (checked by mypy where tests are typed)


class MemoryOutboxMachine(RuleBasedStateMachine):
    """One outbox and one in-memory sink; the model is the entries put (and those healed)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries = run_entries()
        self.put_count = 0
        self.healed = 0
        self.sink = MemorySink(STREAMS)
        self.waker = Waker()
        self.outbox = Outbox(self.sink, self.waker, BUFFER_MAX, replayer=self,
                             backoff=Backoff(first=1e-4, most=1e-3))  # the schedule is not under test here
        self.outbox.connect(timeout=PATIENCE)

    def replay(self, since: Sequence[StreamId], lost: list[tuple[int, StreamId, StreamId]]) -> list[Entry]:
        """What the producer regenerates: the entries put on each stream after its top now, up to what was acknowledged."""
        ranges = {stream: (now, acked) for stream, now, acked in lost}
        again = [e for e in self.entries[:self.put_count]
                 if e.stream in ranges and ranges[e.stream][0] < e.id <= ranges[e.stream][1]]
        self.healed += len(again)
        return again

    # -- what the producer does ---------------------------------------------------------------

    @precondition(lambda self: self.put_count < len(self.entries))
    @rule(n=st.integers(1, 40), fault=FAULTS, wait=st.sampled_from([None, True, False]))
    def produce(self, n: int, fault: tuple[Fault, int] | None, wait: bool | None) -> None:
        """Put the next ``n`` entries (while down, only what the buffer takes without blocking), maybe flush."""
        if self.sink.down:
            n = min(n, BUFFER_MAX - 1 - self.outbox.pending())
        for entry in self.entries[self.put_count:self.put_count + n]:
            self.outbox.put(entry)
            self.put_count += 1
        self.inject(fault)
        if wait is not None:
            self.flush(wait)

    @rule(wait=st.booleans(), fault=FAULTS)
    def flush_now(self, wait: bool, fault: tuple[Fault, int] | None) -> None:
        self.inject(fault)
        self.flush(wait)

    def inject(self, fault: tuple[Fault, int] | None) -> None:
        if fault is not None and len(self.sink.faults) < MOST_FAULTS:
            self.sink.inject(*fault)

    def flush(self, wait: bool) -> None:
        """Flush; one that waited and succeeded has written everything put so far."""
        if self.outbox.flush(wait=wait) and wait:
            assert self.outbox.pending() == 0
            assert not self.sink.in_flight
            self.check_streams(exact=True)

    @precondition(lambda self: not self.sink.down)
    @rule()
    def drain(self) -> None:
        assert self.outbox.drain(PATIENCE), "the sink is up: the drain must finish"
        self.check_streams(exact=True)

    @precondition(lambda self: not self.sink.down)
    @rule()
    def reconnect(self) -> None:
        """Connect again (read the tops, drop what is held), also with a batch in flight."""
        self.outbox.connect(timeout=PATIENCE)

    # -- what happens to it -------------------------------------------------------------------

    @precondition(lambda self: not self.sink.down)
    @rule()
    def go_down(self) -> None:
        self.sink.go_down()

    @precondition(lambda self: self.sink.down)
    @rule()
    def come_back(self) -> None:
        self.sink.come_back()

    @precondition(lambda self: not self.sink.down and not self.sink.in_flight)
    @rule(stream=st.sampled_from(range(len(STREAMS))), count=st.integers(1, 30))
    def forget_newest(self, stream: int, count: int) -> None:
        """A restart from an older snapshot: the stream's newest entries (acknowledged or not) are gone."""
        self.sink.lose_newest(stream, count)
        self.outbox.connect(timeout=PATIENCE)  # the producer notices at its next sync (after any failure)

    # -- what must hold -----------------------------------------------------------------------

    @invariant()
    def counts_add_up(self) -> None:
        """Every entry put (or healed) is written, skipped (already there) or pending, once."""
        outbox = self.outbox
        assert sum(outbox.written) + sum(outbox.skipped) + outbox.pending() == self.put_count + self.healed

    @invariant()
    def streams_hold_a_prefix(self) -> None:
        self.check_streams(exact=False)

    def check_streams(self, exact: bool) -> None:
        """Each stream holds a prefix of what was put on it (all of it if ``exact``), in order, ids as emitted."""
        put = per_stream(self.entries[:self.put_count])
        for s, name in enumerate(STREAMS):
            got = [(b"%d-%d" % eid, data, key) for eid, data, key in self.sink.stored[s]]
            want = as_stored(put[s])
            if exact:
                assert got == want, f"{name}: {len(got)} entries, {len(want)} put"
            else:
                assert got == want[:len(got)], f"{name} is not a prefix of the entries put"

    def teardown(self) -> None:
        """The end of a run: the sink up, one last drain, then each stream equals exactly what was put."""
        try:
            self.sink.come_back()
            self.sink.faults.clear()
            assert self.outbox.drain(PATIENCE), "the sink is up: the final drain must finish"
            self.check_streams(exact=True)
            self.counts_add_up()
        finally:
            self.sink.close()
            self.waker.close()


def test_outbox_on_the_memory_sink_writes_each_entry_once() -> None:
    run_state_machine_as_test(
        MemoryOutboxMachine,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow]),
    )


def test_the_memory_sink_is_a_sink() -> None:
    """It has what the protocol asks (what mypy checks of the Redis sinks)."""
    members = [m for m in dir(Sink) if not m.startswith("_")]
    sink = _sink(STREAMS)
    missing = [m for m in members if not hasattr(type(sink), m) and m not in vars(sink)]
    assert not missing, f"MemorySink lacks {missing}"


def test_an_entry_refused_as_already_there_is_healed_when_redis_loses_it() -> None:
    """The case the machine found: an entry refused as repeated counts as acknowledged, so its loss is healed.

    (The outbox counted only the entries Redis answered OK: a restart from an
    older snapshot that lost a repeated entry went unnoticed, and the entry was lost.)
    """
    first = next(e for e in run_entries() if e.stream == 0)
    sink, waker = MemorySink(STREAMS), Waker()
    asked: list[list[tuple[int, StreamId, StreamId]]] = []

    class Again:
        """The producer's replay: the first entry, each time."""

        def replay(self, since: Sequence[StreamId], lost: list[tuple[int, StreamId, StreamId]]) -> list[Entry]:
            asked.append(lost)
            return [first]

    outbox = Outbox(sink, waker, BUFFER_MAX, replayer=Again())
    outbox.connect(timeout=PATIENCE)
    outbox.put(first)
    sink.inject(Fault.DUPLICATE, 1)
    assert outbox.flush()
    assert outbox.skipped[0] == 1 and outbox.written[0] == 0
    sink.lose_newest(0, 1)
    outbox.connect(timeout=PATIENCE)
    assert asked == [[(0, (0, 0), first.id)]]
    assert outbox.flush()
    assert sink.stored[0] == [(first.id, first.data, first.key)]
    waker.close()
