"""The heal's replayer: the entries Redis lost, made again by the run's model (the outbox writes them first).

The events are a pure function of the run (seed, start, stores, settings),
so what Redis lost after acknowledging it (a restart empty, an older
snapshot, a failover to a replica behind) is replayed exactly, with its ids.
The run record may be gone or old too: it is stored again first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from producer.live.labels import LabelSource
from producer.live.layout import StreamLayout
from producer.live.records import RunRecords
from producer.live.resume import replay_entries
from producer.live.runstate import RunState
from producer.live.sensor_pump import replay_sensor_entries
from producer.live.sink import ZERO_ID, Entry, StreamId
from sim.store import Store


class RunReplayer:
    """Replays a run's lost entries (:class:`producer.live.outbox.Replayer`), with or without a sensor."""

    def __init__(self, state: Callable[[], RunState], stores: Sequence[Store], end: int | None,
                 layout: StreamLayout, records: RunRecords, rejected: bool, interval: int,
                 counter_reset: int = 0) -> None:
        #: The run as stored now (a new run's clock is anchored after its first day's draw).
        self.state, self.stores, self.end, self.layout = state, stores, end, layout
        self.records, self.rejected, self.interval = records, rejected, interval
        self.counter_reset = counter_reset  #: the registers' daily reset, minutes past local midnight

    def replay(self, since: Sequence[StreamId], lost: list[tuple[int, StreamId, StreamId]]) -> list[Entry]:
        state = self.state()
        self.records.write(state)  # the run record may be gone or old too
        upto = [ZERO_ID for _ in since]
        for i, _, acked in lost:
            upto[i] = acked
        layout = self.layout
        labels = set(layout.labels_streams())
        made = (LabelSource(state.seed, self.stores, layout, state.sim_start, self.end).lost(since, upto)
                if labels else [])
        if all(i in labels for i, _, _ in lost):
            return made
        model = layout.model_ids(since)  # where the model starts: the labels streams are made apart
        if layout.sensor:
            return replay_sensor_entries(state.seed, self.stores, state.sim_start, self.end, self.interval, model,
                                         upto, self.rejected, layout, self.counter_reset) + made
        return replay_entries(state.seed, self.stores, state.sim_start, model, upto, self.rejected, layout) + made
