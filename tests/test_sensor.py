"""The sensor layer (issue 12, part 2): counting errors, delays, duplicates, outages.

The statistics are tested on synthetic door events (a Poisson stream of
crossings, each with its own customer id) fed straight to the layer; fixed
seeds, each test at level about ALPHA.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim import DEFAULT_PROFILE, Simulation, Store
from sim.batch import DoorColumns
from sim.profile import ProfileError
from sim.sensor import Sensor
from sim.sensor_stream import DAY, SensorColumns, SensorLayer, outages
from tests.helpers import json_lines
from tests.profiles import make_profile

ALPHA = 0.001
Z = stats.norm.isf(ALPHA / 2)  # two-sided bound, in standard errors
START = 1_762_128_000  # 2025-11-03T00:00:00Z


def _store(name: str = "s", **sensor: object) -> Store:
    return Store(store_id=name, profile=dataclasses.replace(DEFAULT_PROFILE, sensor=Sensor(**sensor)))  # type: ignore[arg-type]


def _crossings(rng: np.random.Generator, stores: list[str], seconds: int, rate: float,
               exits: float = 0.5) -> DoorColumns:
    """A Poisson stream of crossings (``rate`` a second per store), in time order, unique ids."""
    parts = []
    for name in stores:
        per_second = rng.poisson(rate, size=seconds)
        time = START + np.repeat(np.arange(seconds), per_second)
        parts.append((time, np.full(len(time), name, dtype=object)))
    time = np.concatenate([p[0] for p in parts])
    store = np.concatenate([p[1] for p in parts])
    order = np.argsort(time, kind="stable")
    time, store = time[order], store[order]
    n = len(time)
    kind = np.where(rng.random(n) < exits, "exit", "entry").astype(object)
    ids = np.array([f"c{i}" for i in range(n)], dtype=object)
    label = np.full(n, "x", dtype=object)
    return DoorColumns(event_type=kind, time=time, weekday=label, time_slot=label, customer_id=ids, store_id=store)


def _run(layer: SensorLayer, doors: DoorColumns, cuts: int = 7) -> tuple[SensorColumns, list[dict]]:
    """Feed ``doors`` in ``cuts`` batches; every record and count row."""
    records, counts = [], []
    for part in np.array_split(np.arange(len(doors)), cuts):
        batch = DoorColumns(**{f: getattr(doors, f)[part] for f in doors.__dataclass_fields__})
        r, c = layer.process(batch)
        records.append(r)
        counts.append(c)
    r, c = layer.close()
    records.append(r)
    counts.append(c)
    rows = [dict(zip(("store_id", "start", "end", "in", "out"), row, strict=True))
            for c in counts for row in zip(c.store_id.tolist(), c.interval_start.tolist(),
                                          c.interval_end.tolist(), c.entries.tolist(), c.exits.tolist(), strict=True)]
    return SensorColumns.concat(records), rows


def _readings(records: SensorColumns) -> tuple[np.ndarray, np.ndarray]:
    """Each record's key (crossing, reading) and whether it is a first delivery."""
    key = np.array([f"{c}/{r}" for c, r in zip(records.customer_id.tolist(), records.reading.tolist(), strict=True)])
    _, first = np.unique(key, return_index=True)
    is_first = np.zeros(len(key), bool)
    is_first[first] = True
    return key, is_first


def _within(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= Z * np.sqrt(n * p * (1 - p))


def test_misses_and_double_counts_per_direction_are_binomial() -> None:
    store = _store(miss_in=0.05, double_in=0.02, miss_out=0.10, double_out=0.03, delay_median=1)
    doors = _crossings(np.random.default_rng(1), ["s"], 40_000, 0.5)
    records, _ = _run(SensorLayer(11, [store], START, START + 40_000), doors)
    assert (np.diff(records.sent_at) >= 0).all()
    per = dict(zip(*np.unique(records.customer_id, return_counts=True), strict=True))
    for kind, miss, double in (("entry", 0.05, 0.02), ("exit", 0.10, 0.03)):
        ids = doors.customer_id[doors.event_type == kind].tolist()
        got = np.array([per.get(c, 0) for c in ids])
        assert _within(int((got == 0).sum()), len(ids), miss), (kind, "miss")
        assert _within(int((got == 2).sum()), len(ids), double), (kind, "double")
        assert set(got.tolist()) == {0, 1, 2}


def test_delays_are_lognormal() -> None:
    store = _store(delay_median=3.0, delay_sigma=0.8)
    doors = _crossings(np.random.default_rng(2), ["s"], 20_000, 0.5)
    records, _ = _run(SensorLayer(12, [store], START, START + 20_000), doors)
    delay = (records.sent_at - records.time * 1000) / 1000
    result = stats.kstest(delay, stats.lognorm(s=0.8, scale=3.0).cdf)
    assert result.pvalue > ALPHA, result
    # And a wrong law is rejected by the same test: it can fail.
    assert stats.kstest(delay, stats.lognorm(s=0.8, scale=3.3).cdf).pvalue < ALPHA


def _late_share(time: np.ndarray, sent: np.ndarray, keep: np.ndarray) -> float:
    """The share of kept records delivered after some record of a later crossing."""
    order = np.argsort(time, kind="stable")
    time, sent, keep = time[order], sent[order], keep[order]
    distinct, first = np.unique(time, return_index=True)
    group_min = np.minimum.reduceat(sent, first)
    later_min = np.r_[np.minimum.accumulate(group_min[::-1])[::-1][1:], np.iinfo(np.int64).max]
    late = sent > later_min[np.searchsorted(distinct, time)]
    return float(late[keep].mean())


def _late_share_from_the_law(rate: float, median: float, sigma: float, points: int = 20_000) -> float:
    """1 - E_d[exp(-rate * sum_k>=1 F(d - k))]: crossings each whole second, Poisson(rate) of them.

    A record with delay d is overtaken by a crossing k seconds later whose delay is below
    d - k; those are Poisson with mean rate x F(d - k) for each k.
    """
    law = stats.lognorm(s=sigma, scale=median)
    d = law.ppf((np.arange(points) + 0.5) / points)
    k = np.arange(1, int(np.ceil(d.max())) + 1)
    overtakers = rate * law.cdf(np.clip(d[:, None] - k[None, :], 0, None)).sum(axis=1)
    return float(1 - np.exp(-overtakers).mean())


def test_the_share_delivered_out_of_order_is_what_the_delay_law_gives() -> None:
    # 40 stores: independent replicates; their mean share against the law, within Z standard errors.
    rate, median, sigma, seconds = 0.2, 2.0, 1.0, 20_000
    names = [f"s{i}" for i in range(40)]
    doors = _crossings(np.random.default_rng(3), names, seconds, rate)
    records, _ = _run(SensorLayer(13, [_store(n, delay_median=median, delay_sigma=sigma) for n in names],
                                  START, START + seconds), doors)
    shares = []
    for name in names:
        mine = records.store_id == name
        keep = records.time[mine] < START + seconds - 3_600  # the last hour has fewer later crossings
        shares.append(_late_share(records.time[mine], records.sent_at[mine], keep))
    expected = _late_share_from_the_law(rate, median, sigma)
    mean, se = float(np.mean(shares)), float(np.std(shares, ddof=1) / np.sqrt(len(shares)))
    print(f"out of order: {mean:.4f} +- {se:.4f}, from the law {expected:.4f}")
    assert abs(mean - expected) < 4 * se, (mean, expected, se)
    assert expected > 10 * se  # a sizeable share: the test could fail


def test_duplicate_deliveries_come_at_their_rate() -> None:
    store = _store(duplicate=0.03, double_in=0.1, delay_median=2)
    doors = _crossings(np.random.default_rng(4), ["s"], 30_000, 0.5)
    records, _ = _run(SensorLayer(14, [store], START, START + 30_000), doors)
    key, first = _readings(records)
    readings = int(first.sum())
    assert _within(len(key) - readings, readings, 0.03)
    assert readings > len(doors)  # the double counts are readings of their own, not duplicates


def test_outages_come_at_their_rate_and_last_as_long_as_they_should() -> None:
    store = _store(outages_per_day=3, outage_minutes=40)
    sensor = store.profile.sensor
    assert sensor is not None
    days = range(20_000, 22_000)
    drawn = [outages(5, store, sensor, d) for d in days]
    n = sum(len(a) for a, _ in drawn)
    assert abs(n - 3 * len(days)) < Z * np.sqrt(3 * len(days))
    lengths = np.concatenate([b - a for a, b in drawn])
    assert ((np.concatenate([a for a, _ in drawn]) // DAY) == np.repeat(list(days), [len(a) for a, _ in drawn])).all()
    # Whole seconds (ceil) of an exponential of mean 40 minutes: compare the continuous law at x - 1 .. x.
    result = stats.kstest(lengths - np.random.default_rng(0).random(len(lengths)), stats.expon(scale=2400).cdf)
    assert result.pvalue > ALPHA, result


@pytest.mark.parametrize("mode", ["hold", "lose"])
def test_crossings_in_an_outage_are_held_or_lost(mode: str) -> None:
    store = _store(outages_per_day=4, outage_minutes=60, outage_mode=mode, delay_median=1)
    seconds = 3 * DAY
    doors = _crossings(np.random.default_rng(6), ["s"], seconds, 0.05)
    records, _ = _run(SensorLayer(15, [store], START, START + seconds), doors)
    sensor = store.profile.sensor
    assert sensor is not None
    spans = [outages(15, store, sensor, d) for d in range(START // DAY - 1, (START + seconds) // DAY + 1)]
    a = np.concatenate([s[0] for s in spans])
    b = np.concatenate([s[1] for s in spans])
    inside = ((doors.time[:, None] >= a) & (doors.time[:, None] < b)).any(axis=1)
    assert inside.sum() > 50
    delivered = set(records.customer_id.tolist())
    if mode == "lose":
        assert delivered == set(doors.customer_id[~inside].tolist())
    else:
        assert delivered == set(doors.customer_id.tolist())
        held = np.isin(records.customer_id, doors.customer_id[inside])
        ends = np.array([b[(t >= a) & (t < b)].max() for t in records.time[held].tolist()])
        assert (records.sent_at[held] >= ends * 1000).all()


def test_records_and_counts_do_not_depend_on_the_batches() -> None:
    store = _store(miss_in=0.1, double_out=0.1, duplicate=0.1, outages_per_day=5, delay_median=30, delay_sigma=1.5)
    doors = _crossings(np.random.default_rng(7), ["s", "t"], 2 * DAY, 0.05)
    first = _run(SensorLayer(16, [store, _store("t")], START, START + 2 * DAY), doors, cuts=1)
    again = _run(SensorLayer(16, [store, _store("t")], START, START + 2 * DAY), doors, cuts=97)
    assert first[0].json_lines() == again[0].json_lines()
    assert first[1] == again[1]


def test_interval_counts_equal_the_counted_crossings_in_each_interval() -> None:
    store = _store(miss_in=0.1, double_in=0.05, miss_out=0.2, duplicate=0.1, outages_per_day=6,
                   outage_mode="lose", delay_median=60)
    end = START + DAY + 1234
    doors = _crossings(np.random.default_rng(8), ["s", "t"], end - START, 0.05)
    layer = SensorLayer(17, [store, _store("t")], START, end, interval=900)
    records, rows = _run(layer, doors)
    _, first = _readings(records)
    counted = records.take(first)
    assert len(rows) == 2 * (-(-(end - START) // 900))
    for row in rows:
        mine = (counted.store_id == row["store_id"]) & (counted.time >= row["start"]) & (counted.time < row["end"])
        assert row["in"] == int((counted.event_type[mine] == "entry").sum())
        assert row["out"] == int((counted.event_type[mine] == "exit").sum())
    assert sum(r["in"] + r["out"] for r in rows) == len(counted)


def test_a_sensor_changes_no_session_and_no_true_door_event() -> None:
    with_sensor = Store(profile=dataclasses.replace(DEFAULT_PROFILE, sensor=Sensor(miss_in=0.5, duplicate=0.5)))
    a = Simulation.of("2025-11-03", days=2, seed=9, stores=Store())
    b = Simulation.of("2025-11-03", days=2, seed=9, stores=with_sensor)
    assert json_lines(a) == json_lines(b)


def test_sensor_table_round_trips(tmp_path: Path) -> None:
    profile = make_profile(tmp_path, tables='[sensor]\nmiss_in = 0.02\ndelay_median = 3\noutage_mode = "lose"\n')
    assert profile.sensor == Sensor(miss_in=0.02, delay_median=3, outage_mode="lose")
    again = tmp_path / "again.toml"
    again.write_text(profile.to_toml())
    from sim.profile import load_profile

    assert load_profile(again) == profile


@pytest.mark.parametrize("table,key", [
    ("miss_in = 1.5", "sensor.miss_in"),
    ("miss_out = 0.6\ndouble_out = 0.6", "sensor.miss_out + sensor.double_out"),
    ("delay_median = -1", "sensor.delay_median"),
    ("delay_sigma = 4", "sensor.delay_sigma"),
    ("outage_minutes = 0", "sensor.outage_minutes"),
    ('outage_mode = "drop"', "sensor.outage_mode"),
    ("outage_mode = 3", "sensor.outage_mode"),
    ("misses = 0.1", "unknown key 'misses'"),
])
def test_bad_sensor_tables_are_one_line_errors(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ProfileError) as info:
        make_profile(tmp_path, tables=f"[sensor]\n{table}\n")
    assert key in str(info.value) and "\n" not in str(info.value)


def test_customers_who_never_got_in_are_not_seen_by_the_sensor() -> None:
    # turned_away / gave_up never cross the door: written or not (WRITE_REJECTED), the records are the same.
    store = _store(miss_in=0.1, double_in=0.1, duplicate=0.1, delay_median=5)
    doors = _crossings(np.random.default_rng(9), ["s"], 20_000, 0.2)
    rejected = doors.event_type.copy()
    rejected[::7] = "turned_away"
    rejected[3::11] = "gave_up"
    with_rejected = DoorColumns(rejected, doors.time, doors.weekday, doors.time_slot, doors.customer_id, doors.store_id)
    crossing = np.isin(rejected, ["entry", "exit"])
    without = DoorColumns(*(getattr(with_rejected, f)[crossing] for f in doors.__dataclass_fields__))
    a, rows_a = _run(SensorLayer(18, [store], START, START + 20_000), with_rejected)
    b, rows_b = _run(SensorLayer(18, [store], START, START + 20_000), without, cuts=3)
    assert a.json_lines() == b.json_lines() and rows_a == rows_b
    assert not set(a.event_type.tolist()) - {"entry", "exit"}


def test_a_sensor_works_before_1970() -> None:
    # Epoch days are negative there; the streams and the outages must still be drawn.
    store = _store(outages_per_day=20, outage_minutes=60, outage_mode="lose", miss_in=0.1, delay_median=2)
    run = Simulation.of("1950-06-01", days=2, seed=3, stores=store)
    layer = SensorLayer(run.seed, run.stores, run.start, run.end)
    out = [layer.process(b.doors) for b in run.batches()] + [layer.close()]
    records = SensorColumns.concat([r for r, _ in out])
    truth = sum(len(b.doors) for b in run.batches())
    assert 0 < len(records) < 0.8 * truth  # twenty hour-long outages a day lose more than a fifth
    assert (np.diff(records.sent_at) >= 0).all() and (records.sent_at >= records.time * 1000).all()
