"""Appending to a stream in one step: a Lua script per stream and batch, so that Redis never holds a gap.

Entries carry explicit, increasing ids, and Redis refuses an id that is not
above its stream's top: an entry missing below the top can never be written
again. Plain pipelined ``XADD`` commands can leave such a gap, because Redis
judges each command on its own: out of memory it refuses some and, memory
freed meanwhile (reply buffers written out, the cron's resizing), accepts
later ones of the same pipeline (``scripts/oom_pipeline_gap.py`` shows it); a
replica promoted while a pipeline is read refuses its beginning
(``READONLY``) and accepts its end. The producer's next look at its streams
then finds entries above missing ones and has to stop the run.

So each stream's share of a batch is one ``EVALSHA`` of :data:`APPEND_LUA`,
which Redis runs atomically: the out-of-memory state is the one at the
script's start, and whether the server takes writes cannot change while it
runs, so the script writes all of its entries or none (its reply is then the
refusal, ``OOM ...`` or ``READONLY ...``, as for an ``XADD``). Entries not
above the top (a repeat after a lost reply) are skipped, not refused: they
are a prefix, and the reply is how many were skipped.

Where several batches are in flight (the backfill), a later one must not land
when an earlier one was refused: each append then names the stream's top it
expects (the last id of the stream's previous append, or the top read at the
start) and writes nothing (``GAP ...``) if the top is another.

Scripts live in the server's cache, which a restart or ``SCRIPT FLUSH`` empties:
every pipeline starts with :data:`LOAD` (a ``SCRIPT LOAD``, which neither
memory pressure nor a replica refuses), so its ``EVALSHA`` commands find it.
MONITOR shows each script's ``XADD`` commands as run by ``lua``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from producer.live.faults import ID_TOO_SMALL
from producer.live.sink import Entry, StreamId

__all__ = ["APPEND_LUA", "APPEND_SHA", "GAP", "LOAD", "Packer", "pack_command"]

#: The reply code of an append whose stream's top is not the one expected.
GAP = "GAP"
#: ``KEYS[1]`` the stream; ``ARGV[1]`` MAXLEN (approximate); ``ARGV[2]`` the top expected ("" = any);
#: then ``id, data, key`` per entry. The reply: how many entries were already there (id not above the top).
APPEND_LUA = b"""\
if ARGV[2] ~= '' then
  local top = '0-0'
  local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
  if info.err == nil then
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then top = info[i + 1] break end
    end
  end
  if top ~= ARGV[2] then
    return redis.error_reply('%(gap)s the top of ' .. KEYS[1] .. ' is ' .. top .. ', not ' .. ARGV[2])
  end
end
local repeated = 0
for i = 3, #ARGV, 3 do
  local r = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i], 'data', ARGV[i + 1], 'key', ARGV[i + 2])
  if type(r) == 'table' and r.err then
    if string.find(r.err, '%(too_small)s', 1, true) then
      repeated = repeated + 1
    else
      return r
    end
  end
end
return repeated
""" % {b"gap": GAP.encode(), b"too_small": ID_TOO_SMALL.encode()}
APPEND_SHA = hashlib.sha1(APPEND_LUA).hexdigest().encode()  # noqa: S324 - Redis names scripts by SHA-1


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def pack_command(*args: bytes | str | int) -> bytes:
    """One command in RESP (the protocol's array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        parts.append(_bulk(a if isinstance(a, bytes) else str(a).encode()))
    return b"".join(parts)


#: Put the script in the server's cache (each pipeline's first command; its reply is the SHA).
LOAD = pack_command("SCRIPT", "LOAD", APPEND_LUA)

_POWERS_OF_TEN = np.array([10**i for i in range(19)], dtype=np.int64)
_TRIPLE = b"$%d\r\n%d-%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"


def _digits(values: np.ndarray) -> np.ndarray:
    """How many decimal digits each non-negative integer has."""
    return np.maximum(1, np.searchsorted(_POWERS_OF_TEN, np.asarray(values, dtype=np.int64), side="right"))


class Packer:
    """Appends in RESP: ``EVALSHA <append> 1 <stream> <maxlen> <top> (<id> <json> <customer>)...``.

    For both Redis sinks and the backfill. The header depends on the number of
    entries, so each append is packed whole: its stream's entries of a batch.
    """

    def __init__(self, streams: Sequence[str], maxlen: int) -> None:
        head = _bulk(b"EVALSHA") + _bulk(APPEND_SHA) + _bulk(b"1")
        #: Per stream, what follows the array's length, up to the expected top.
        self._head = [head + _bulk(s.encode()) + _bulk(str(maxlen).encode()) for s in streams]

    def _start(self, stream: int, count: int, after: StreamId | None) -> bytes:
        top = b"" if after is None else b"%d-%d" % after
        return b"*%d\r\n" % (6 + 3 * count) + self._head[stream] + _bulk(top)

    def append(self, stream: int, entries: Sequence[Entry], after: StreamId | None = None) -> bytes:
        """One append of ``entries`` (all of ``stream``, in id order); ``after``: the top expected first."""
        return self._start(stream, len(entries), after) + b"".join([
            _TRIPLE % (len(b"%d-%d" % (e.ms, e.seq)), e.ms, e.seq, len(e.data), e.data, len(e.key), e.key)
            for e in entries])

    def batch(self, entries: Sequence[Entry]) -> tuple[list[bytes], list[list[int]]]:
        """A batch's appends, one per stream in it (in the order each first appears), and each one's entries
        (their indices in ``entries``): how its reply, the number already there, maps back."""
        parts: dict[int, list[bytes]] = {}
        groups: dict[int, list[int]] = {}
        triple = _TRIPLE
        for i, e in enumerate(entries):
            stream = e.stream
            if stream not in parts:
                parts[stream], groups[stream] = [], []
            parts[stream].append(triple % (len(b"%d-%d" % (e.ms, e.seq)), e.ms, e.seq, len(e.data), e.data,
                                           len(e.key), e.key))
            groups[stream].append(i)
        packed = [self._start(stream, len(part), None) + b"".join(part) for stream, part in parts.items()]
        return packed, list(groups.values())

    def columns(self, stream: int, ms: np.ndarray, seq: np.ndarray, data: list[bytes], key: list[bytes],
                after: StreamId | None = None) -> bytes:
        """One append from columns (a backfill's pipeline): no :class:`Entry` per event."""
        id_len = _digits(ms) + 1 + _digits(seq)
        return self._start(stream, len(ms), after) + b"".join([
            _TRIPLE % (n, m, q, len(d), d, len(k), k)
            for n, m, q, d, k in zip(id_len.tolist(), ms.tolist(), seq.tolist(), data, key)
        ])
