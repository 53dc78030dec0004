"""The run records of a producer: one hash per pair of streams, all holding the same run.

A producer of the one pair of streams keeps its run in ``<REDIS_STREAM>:run``.
With ``STREAM_PER_STORE=1`` each store keeps its own, ``<REDIS_STREAM>:{<store_id>}:run``,
on the slot of its streams, so a store's state moves with it (a failover,
another ``SHARD`` split). A producer runs one model for all its stores, so
their records must hold one run: stores whose records disagree (stores of
two different runs put in one shard) are an error, never silently mixed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from producer.live.runstate import RunState, run_key
from producer.live.sink import Sink
from producer.settings import SettingsError

log = logging.getLogger("producer")


class RunRecords:
    """The run record of each stream pair (given by its base name), read and written together."""

    def __init__(self, sink: Sink, bases: Sequence[str]) -> None:
        self.sink = sink
        self.keys = [run_key(base) for base in bases]

    @property
    def name(self) -> str:
        """The records as a message names them."""
        if len(self.keys) == 1:
            return self.keys[0]
        return f"{self.keys[0]} (and the run records of {len(self.keys) - 1} more stores)"

    def read(self, fresh: bool) -> tuple[RunState | None, dict[str, str]]:
        """The stored run (``None``: none stored, or ``fresh``) and one record's raw values."""
        raws = self.sink.read_hashes(self.keys)
        if fresh:
            return None, {}
        found = [(key, raw, RunState.from_hash(raw, key)) for key, raw in zip(self.keys, raws, strict=True) if raw]
        if not found:
            return None, {}
        key, raw, state = found[0]
        for other_key, _, other in found[1:]:
            if other.to_hash() != state.to_hash():
                raise SettingsError(
                    f"the run records {key} (seed {state.seed}, start {state.sim_start}) and {other_key} "
                    f"(seed {other.seed}, start {other.sim_start}) hold different runs: these stores were produced "
                    "apart; run them with the SHARD they had, or pass --fresh")
        if len(found) < len(self.keys):
            stored = {f[0] for f in found}
            missing = [k for k in self.keys if k not in stored]
            log.info("%d of %d run records are missing (%s ...): this run is stored there too",
                     len(missing), len(self.keys), missing[0])
            self.write(state)
        return state, raw

    def create(self, state: RunState) -> bool:
        """Store a new run in every record that does not exist yet; ``False`` if one appeared meanwhile."""
        return all(self.sink.create_hashes(self.keys, state.to_hash()))

    def write(self, state: RunState) -> None:
        self.sink.write_hashes(self.keys, state.to_hash())

    def delete(self) -> None:
        self.sink.delete_hashes(self.keys)
