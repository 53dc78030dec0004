"""The live producer: the container's whole job, one room.

``foot-traffic produce`` (and ``python -m producer``) run the engine's
:class:`~sim.model.StoreModel` in a paced SimPy environment and write each
session and door event to Redis Streams exactly once.

- :mod:`.pace`: what simulated time it is now and when to wake: the wall
  clock × ``SPEED``, or a clock followed in Redis (the pipeline's ``sim:now``);
- :mod:`.environment`: the paced SimPy environment that asks the pace;
- :mod:`.emitter`, :mod:`.outbox`, :mod:`.redis_sink`: events to stream
  entries, buffered and written exactly once;
- :mod:`.runstate`, :mod:`.resume`: the run stored beside the streams, and
  where a restarted run's model may start;
- :mod:`.shards`, :mod:`.records`, :mod:`.cluster_sink`: a pair of streams,
  a run record and a lease per store (``STREAM_PER_STORE``), the stores of
  one producer (``SHARD``), and the streams on a Redis Cluster;
- :mod:`.metrics`, :mod:`.health`, :mod:`.progress`: what the producer tells
  about itself;
- :mod:`.produce`: the command that wires them together.

Nothing here imports the offline command, the file sinks or the report (nor
pyarrow, matplotlib, scipy, pandas or rich): the container installs and
loads only what this room needs.
"""
