"""Benchmark of the offline engine, against references measured in the same run.

    python bench/bench_engine.py                  # one store, 365 days, 1,000 customers a day
    python bench/bench_engine.py --stores 50 --days 30
    python bench/bench_engine.py --capacity 25    # capacity limit: the exact event engine
    python bench/bench_engine.py --skip-capacity  # without the capacity store-year
    git show main:sim/exact.py > /tmp/exact_main.py
    python bench/bench_engine.py --exact-against /tmp/exact_main.py  # only: this exact engine / that one

Prints events/s of ``simulate`` to Parquet, JSONL and CSV (and Avro, with the
``avro`` extra), of JSONL through the numpy wire encoder alone, of the SimPy
model, and of two references: a bare numpy generation of the same counts
written to Parquet with pyarrow, and a bare SimPy loop with one process per
customer. Then the capacity store-year (2,500 customers a day, capacity 45;
queue mode with a 10-minute patience, and loss mode) on the exact event
engine beside the SimPy model, the engine alone (its batches consumed) and
``simulate`` to Parquet. The text formats are compared with Parquet in the same run (JSONL
and CSV lines are built a column at a time; target: at least 0.8 of the
Parquet rate). Ratios are what to compare across machines (these are shared and noisy);
each figure is the best of ``--repeat`` runs. Peak memory is measured on the
real command line in a child process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from producer.formats.jsonl import text_writer  # noqa: E402
from producer.sinks.files import FileSink  # noqa: E402
from producer.tuning import tune_for_batches  # noqa: E402
from sim import Simulation, Store, exact  # noqa: E402
from sim.dwell import DEFAULT_DWELL  # noqa: E402
from sim.profile import DEFAULT_PROFILE  # noqa: E402
from sim.run import fewer_collections  # noqa: E402

START = "2025-01-01"
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


Job = tuple[str, Callable[[], int], Callable[[], object]]  # name, timed call, untimed setup
#: Each job's (wall, CPU) seconds of every round, by name: the ratios' medians are paired by round.
ROUNDS: dict[str, list[tuple[float, float]]] = {}


def best_of_each(jobs: list[Job], repeat: int) -> list[tuple[str, float, int]]:
    """Best wall time and event count of each job, the jobs taking turns.

    Each round runs every job once: on a shared machine whose load comes and
    goes, a ratio of jobs run in turns is fairer than one of jobs run one
    after the other. Every round's wall and CPU time (this process's, all its
    threads) is kept in ``ROUNDS`` for :func:`paired`.
    """
    times: dict[str, list[float]] = {name: [] for name, _, _ in jobs}
    events: dict[str, int] = {}
    for name, _, _ in jobs:
        ROUNDS[name] = []
    for _ in range(repeat):
        for name, fn, setup in jobs:
            setup()
            t, cpu = time.perf_counter(), time.process_time()
            events[name] = fn()
            times[name].append(time.perf_counter() - t)
            ROUNDS[name].append((times[name][-1], time.process_time() - cpu))
    return [(name, min(times[name]), events[name]) for name, _, _ in jobs]


def paired(faster: str, slower: str, events: float = 1.0) -> str:
    """The medians over rounds of ``slower``'s time over ``faster``'s (times ``events``, the second's
    events over the first's, for a ratio of rates), wall and CPU: less at the mercy of one lucky run
    than the best of each."""
    pairs = list(zip(ROUNDS[faster], ROUNDS[slower]))
    wall = statistics.median(b[0] / a[0] for a, b in pairs) / events
    cpu = statistics.median(b[1] / a[1] for a, b in pairs) / events
    return f"median of {len(pairs)} rounds: wall {wall:.2f}, CPU {cpu:.2f}"


def best(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Best wall time and event count of one job."""
    (_, seconds, n), = best_of_each([("job", fn, _nothing)], repeat)
    return seconds, n


def _nothing() -> None:
    return None


def stores_for(n: int, capacity: int | None) -> tuple[Store, ...]:
    if n == 1:
        return (Store(capacity=capacity),) if capacity else (Store(),)
    return tuple(Store(store_id=f"store-{i + 1}", capacity=capacity) if capacity else
                 Store(store_id=f"store-{i + 1}") for i in range(n))


def simulate_to(run: Simulation, fmt: str, folder: Path, engine: str = "auto") -> int:
    sink = FileSink(folder, fmt)
    for batch in run.batches(engine):  # type: ignore[arg-type]
        sink.write(batch)
    sink.close()
    return sink.rows[0] + sink.rows[1]


def simulate_to_wire_jsonl(run: Simulation, folder: Path) -> int:
    """JSONL through the one numpy wire encoder (sim.wire), the path of an install without pyarrow:
    the Arrow path of ``--format jsonl`` stays only while it is the faster one in this comparison."""
    folder.mkdir(parents=True, exist_ok=True)
    sessions = text_writer(folder / "s.jsonl", "sessions", arrow=False)
    doors = text_writer(folder / "d.jsonl", "doors", arrow=False)
    n = 0
    for batch in run.batches():
        sessions.write(batch.sessions)
        doors.write(batch.doors)
        n += len(batch.sessions) + len(batch.doors)
    sessions.close()
    doors.close()
    return n


def _encode(sessions: list, doors: list, arrow: bool) -> int:  # type: ignore[type-arg]
    from producer.formats.jsonl import encoder

    to_s, to_d = encoder("sessions", arrow), encoder("doors", arrow)
    for cols in sessions:
        to_s(cols)
    for cols in doors:
        to_d(cols)
    return len(sessions) + len(doors)


def jsonl_encoders(run: Simulation, repeat: int) -> tuple[float, float]:
    """Lines/s of the two JSONL encoders alone, on the run's batches as their writers get them: the
    wire encoder (sim.wire) batch by batch, the Arrow one gathered to 64K rows. Nothing else timed,
    so the comparison that decides whether the Arrow path stays is not lost in the simulation's noise."""
    from producer.sinks.gather import Gathering
    from sim.batch import concat_columns

    batches = list(run.batches())
    n = sum(len(b) for b in batches)

    def gathered(parts: list) -> list:  # type: ignore[type-arg]
        out, pending, rows = [], [], 0
        for cols in parts:
            pending.append(cols)
            rows += len(cols)
            if rows >= Gathering.ROWS:
                out.append(concat_columns(pending))
                pending, rows = [], 0
        return out + ([concat_columns(pending)] if pending else [])

    rates = []
    for arrow in (False, True):
        sessions, doors = [b.sessions for b in batches], [b.doors for b in batches]
        if arrow:
            sessions, doors = gathered(sessions), gathered(doors)
        seconds, _ = best(partial(_encode, sessions, doors, arrow), repeat)
        rates.append(n / seconds)
    return rates[0], rates[1]


class _Count:
    def __init__(self) -> None:
        self.n = 0

    def on_session(self, s: object) -> None:
        self.n += 1

    def on_entry(self, e: object) -> None:
        self.n += 1

    def on_exit(self, e: object) -> None:
        self.n += 1


def engine_only(run: Simulation, engine: str) -> int:
    """The engine's batches, consumed and counted (no output)."""
    events = 0
    for batch in run.batches(engine):  # type: ignore[arg-type]
        events += len(batch)
    return events


CAPACITY_STORE = {"queue": Store(daily_customers=2_500, capacity=45, patience=600),
                  "loss": Store(daily_customers=2_500, capacity=45, capacity_mode="loss")}


def capacity_year(days: int, repeat: int, folder: Path) -> list[tuple[str, float, int, str]]:
    """The capacity store-year on the exact engine and on the SimPy model, in turns: (name, s, events, pair)."""
    rows = []
    clear = partial(shutil.rmtree, folder / "cap", ignore_errors=True)
    for mode, store in CAPACITY_STORE.items():
        run = Simulation.of(START, days=days, seed=1, stores=store)
        for what, fn in (("engine", engine_only),
                         ("simulate -> parquet", lambda r, e: simulate_to(r, "parquet", folder / "cap", e))):
            jobs: list[Job] = [(f"{mode}: {what} ({e})", partial(fn, run, e), clear) for e in ("exact", "simpy")]
            rows += [(*row, f"{mode}: {what}") for row in best_of_each(jobs, repeat)]
    return rows


def loop_only(module: types.ModuleType, run: Simulation) -> int:
    """The exact engine's batches (``module``'s EventLoop, as ``Simulation.batches`` runs it), counted."""
    loop = module.EventLoop(run.seed, run.stores, run.start, run.end)
    return sum(len(batch) for batch in loop.batches(run.default_window()))


def exact_against(path: Path, days: int, repeat: int) -> None:
    """This exact engine against another version of ``sim/exact.py`` (a file), on the capacity
    store-year, in turns: the same events (checked), and the paired ratio of their times."""
    spec = importlib.util.spec_from_file_location("exact_other", path)
    assert spec is not None and spec.loader is not None
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    print(f"capacity store-year: {days} days, 2,500 customers a day, capacity 45 (queue: patience 10 min); "
          f"best of {repeat}; python {sys.version.split()[0]}")
    for mode, store in CAPACITY_STORE.items():
        run = Simulation.of(START, days=days, seed=1, stores=store)
        this, that = f"{mode}: engine (this sim/exact.py)", f"{mode}: engine ({path})"
        rows = best_of_each([(this, partial(loop_only, exact, run), _nothing),
                             (that, partial(loop_only, other, run), _nothing)], repeat)
        if rows[0][2] != rows[1][2]:
            raise SystemExit(f"{mode}: {rows[0][2]:,} events here, {rows[1][2]:,} from {path}")
        for name, seconds, n in rows:
            print(f"  {name:<45} {n:>11,} events {seconds:8.2f} s {n / seconds:>12,.0f} events/s")
        print(f"  {mode + ': this / that, rate':<46}= {rows[1][1] / rows[0][1]:.2f}  ({paired(this, that)})")


def simpy_model(run: Simulation) -> int:
    """The SimPy model with an observer that only counts (no I/O)."""
    counter = _Count()
    run.run(counter, engine="simpy")
    return counter.n


def _reference_arrivals(days: int, stores: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bare numpy: Poisson counts per slot, uniform placement, mixture dwell; sorted entries."""
    start = int(dt.datetime.fromisoformat(START).replace(tzinfo=dt.UTC).timestamp())
    starts = np.asarray(DEFAULT_PROFILE.starts) * 60
    lengths = (np.asarray(DEFAULT_PROFILE.ends) - np.asarray(DEFAULT_PROFILE.starts)) * 60
    weights = np.asarray(DEFAULT_PROFILE.weights)
    factors = weights.sum(axis=1) / weights.sum(axis=1).mean()
    day = np.arange(days)
    weekday = (dt.date.fromisoformat(START).weekday() + day) % 7
    means = 1000.0 * stores * factors[weekday][:, None] * weights[weekday] / weights[weekday].sum(axis=1)[:, None]
    counts = rng.poisson(means).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    d, s = np.divmod(cell, len(starts))
    entry = start + d * 86400 + starts[s] + rng.integers(0, lengths[s])
    entry.sort()
    minutes = DEFAULT_DWELL.sample(rng, entry.size)
    return entry, minutes


def bare_numpy_parquet(days: int, stores: int, folder: Path) -> int:
    """Reference: the same counts generated with bare numpy and written with pyarrow."""
    rng = np.random.default_rng(1)
    entry, minutes = _reference_arrivals(days, stores, rng)
    n = entry.size
    exit_ = entry + 60 * minutes
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2], hexed[:, 1::2] = HEX[raw >> 4], HEX[raw & 15]
    ids = pa.array(hexed.view("S32").ravel(), pa.binary(32)).cast(pa.string())
    ts = pa.timestamp("ms", tz="UTC")
    labels = pa.array(DEFAULT_PROFILE.labels)
    slot = pa.array(np.zeros(n, dtype=np.int32))
    sessions = pa.table({
        "event_type": pa.array(["foot_traffic"] * n), "customer_id": ids,
        "entry_time": pa.array(entry * 1000).cast(ts), "exit_time": pa.array(exit_ * 1000).cast(ts),
        "trip_duration_minutes": pa.array(minutes.astype(np.int32)),
        "weekday": labels.take(slot), "time_slot": labels.take(slot), "store_id": pa.array(["s"] * n),
    })
    time_ = np.concatenate([entry, exit_])
    order = np.argsort(time_, kind="stable")
    kind = pa.array(np.where(order < n, "entry", "exit").astype(object))
    doors = pa.table({
        "event_type": kind, "time": pa.array(time_[order] * 1000).cast(ts),
        "weekday": labels.take(pa.array(np.zeros(2 * n, np.int32))),
        "time_slot": labels.take(pa.array(np.zeros(2 * n, np.int32))),
        "customer_id": pa.concat_arrays([ids, ids]).take(pa.array(order)), "store_id": pa.array(["s"] * (2 * n)),
    })
    pq.write_table(sessions, folder / "s.parquet", compression="zstd")
    pq.write_table(doors, folder / "d.parquet", compression="zstd")
    return 3 * n


def bare_simpy_loop(days: int, stores: int) -> int:
    """Reference: one SimPy process per customer, arrivals and dwells drawn up front."""
    entry, minutes = _reference_arrivals(days, stores, np.random.default_rng(2))
    env = simpy.Environment(initial_time=int(entry[0]) if entry.size else 0)
    count = [0]

    def customer(dwell: int):  # type: ignore[no-untyped-def]
        count[0] += 2
        yield env.timeout(dwell)
        count[0] += 1

    def arrivals():  # type: ignore[no-untyped-def]
        for t, m in zip(entry.tolist(), (60 * minutes).tolist()):
            yield env.timeout(t - env.now)
            env.process(customer(m))

    env.process(arrivals())
    env.run()
    return count[0]


def peak_memory_mb(days: int, fmt: str, folder: Path, extra: list[str]) -> float:
    """Peak RSS of the real command line simulating ``days`` days, in MB.

    Measured through a small intermediate process: a child forked from this
    (large) process would report this process's pages as its own peak.
    """
    cmd = [sys.executable, "-m", "producer.cli", "simulate", "--start", START, "--days", str(days),
           "--seed", "1", "--format", fmt, "--out", str(folder), "--quiet", *extra]
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024


def print_capacity_year(capped: list[tuple[str, float, int, str]], days: int) -> None:
    print(f"capacity store-year: {days} days, 2,500 customers a day, capacity 45 (queue: patience 10 min)")
    for name, seconds, n, _ in capped:
        print(f"  {name:<45} {n:>11,} events {seconds:8.2f} s {n / seconds:>12,.0f} events/s")
    for pair in dict.fromkeys(p for *_, p in capped):
        (exact, seconds, _, _), (simpy, simpy_seconds, _, _) = (row for row in capped if row[3] == pair)
        print(f"  {pair + ': exact / SimPy model':<46}= {simpy_seconds / seconds:.2f}x  (target >= 5; "
              f"{paired(exact, simpy)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--stores", type=int, default=1)
    parser.add_argument("--capacity", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-simpy", action="store_true", help="skip the SimPy model and loop (slow runs)")
    parser.add_argument("--skip-capacity", action="store_true", help="skip the capacity store-year")
    parser.add_argument("--capacity-days", type=int, default=365, help="days of the capacity store-year")
    parser.add_argument("--exact-against", type=Path, metavar="FILE",
                        help="only the capacity store-year's exact engine, this one against FILE (another "
                             "version of sim/exact.py), in turns")
    args = parser.parse_args()
    if args.exact_against:
        with fewer_collections():  # as Simulation.batches runs the engine
            exact_against(args.exact_against, args.capacity_days, args.repeat)
        return
    tune_for_batches(arrow=True)  # as `foot-traffic simulate --format parquet` does
    stores = stores_for(args.stores, args.capacity)
    run = Simulation.of(START, days=args.days, seed=1, stores=stores)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Each repeat writes to an empty folder: removing the last repeat's files is not timed.
        jobs: list[Job] = [(f"simulate -> {fmt} ({run.pick_engine()} engine)",
                            partial(simulate_to, run, fmt, folder / fmt),
                            partial(shutil.rmtree, folder / fmt, ignore_errors=True))
                           for fmt in ("parquet", "jsonl", "csv")]
        jobs.append(("simulate -> jsonl, numpy wire encoder", partial(simulate_to_wire_jsonl, run, folder / "wire"),
                     partial(shutil.rmtree, folder / "wire", ignore_errors=True)))
        if importlib.util.find_spec("fastavro") is not None:  # the avro extra
            jobs.append((f"simulate -> avro ({run.pick_engine()} engine)", partial(simulate_to, run, "avro", folder / "avro"),
                         partial(shutil.rmtree, folder / "avro", ignore_errors=True)))
        if args.capacity is None:
            jobs.append(("reference: bare numpy -> Parquet",
                         partial(bare_numpy_parquet, args.days, args.stores, folder), _nothing))
        rows = best_of_each(jobs, args.repeat)
        # After the formats and their reference, not before: the encoders' step holds a whole year of
        # batches at once, and the heap it leaves behind slowed the Parquet run after it (median CPU
        # ratio to the reference 0.74-0.75 with the step first, 0.92-0.93 without, at load 8-10).
        wire_lines, arrow_lines = jsonl_encoders(run, args.repeat)
        if not args.skip_simpy:
            jobs = [("SimPy model (counting observer)", partial(simpy_model, run), _nothing)]
            if args.capacity is None:
                jobs.append(("reference: bare SimPy loop", partial(bare_simpy_loop, args.days, args.stores), _nothing))
            rows += best_of_each(jobs, max(2, args.repeat - 1))  # two rounds at least: a ratio of single runs is noise
        capped = [] if args.skip_capacity else capacity_year(args.capacity_days, args.repeat, folder)
        extra = ["--store-capacity", str(args.capacity)] if args.capacity else []
        memory = peak_memory_mb(args.days, "parquet", folder / "mem", extra) if args.stores == 1 else None
    rate = {name: n / s for name, s, n in rows}
    print(f"{args.stores} store(s), {args.days} days, capacity {args.capacity or 'unlimited'}; "
          f"best of {args.repeat}; python {sys.version.split()[0]}")
    for name, seconds, n in rows:
        print(f"  {name:<45} {n:>11,} events {seconds:8.2f} s {n / seconds:>12,.0f} events/s")
    parquet = rate[rows[0][0]]
    for fmt, (name, _, _) in zip(("jsonl", "csv"), rows[1:3]):
        print(f"  {fmt + ' / parquet':<32}= {rate[name] / parquet:.2f}  (target >= 0.8)")
    wire = rate["simulate -> jsonl, numpy wire encoder"]
    print(f"  {'jsonl numpy wire / jsonl Arrow':<32}= {wire / rate[rows[1][0]]:.2f}  (whole runs)")
    print(f"  JSONL encoders alone: wire {wire_lines:,.0f} lines/s, Arrow {arrow_lines:,.0f} lines/s; "
          f"wire / Arrow = {wire_lines / arrow_lines:.2f}  (below 1: the Arrow path of --format jsonl still wins)")
    avro = next((r for n, r in rate.items() if n.startswith("simulate -> avro")), None)
    if avro is not None:
        print(f"  {'avro / parquet':<32}= {avro / parquet:.2f}")
    ref = rate.get("reference: bare numpy -> Parquet")
    if ref:
        ours, theirs = next(r for r in rows if r[0] == rows[0][0]), next(r for r in rows if r[0].startswith("reference: bare numpy"))
        print(f"  parquet / bare numpy reference  = {rate[rows[0][0]] / ref:.2f}  (target >= 0.9; "
              f"{paired(ours[0], theirs[0], theirs[2] / ours[2])})")
    loop = rate.get("reference: bare SimPy loop")
    if loop:
        model, bare = (next(r for r in rows if r[0] == n) for n in ("SimPy model (counting observer)", "reference: bare SimPy loop"))
        print(f"  SimPy model / bare SimPy loop   = {rate[model[0]] / loop:.2f}  (target >= 1.0; "
              f"{paired(model[0], bare[0], bare[2] / model[2])})")
    if capped:
        print_capacity_year(capped, args.capacity_days)
    if memory is not None:
        print(f"  peak memory of `foot-traffic simulate --days {args.days} --format parquet`: {memory:.0f} MB "
              "(target < 300 MB)")


if __name__ == "__main__":
    main()
