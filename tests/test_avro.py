"""``--format avro`` (issue 20, item 2): Avro container files holding the JSONL run's rows, in every layout.

Every file is read back twice, with ``fastavro`` and with the Apache ``avro``
package, and each record (times turned back into the payload's ISO strings)
is compared with the line of the JSONL run of the same seed, in order: the
plain files, the partitions of one process and of two Dask workers, with a
door sensor (the sensor's records and counts too). ``report`` and
``profile fit`` read the Avro files as they read the JSONL ones.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import avro.datafile
import avro.io
import avro.schema
import fastavro
import numpy as np
import orjson
from click.testing import CliRunner

from producer.cli import main
from producer.dataset import read_dataset
from producer.formats.avro import SCHEMA_FILES, schema_text
from producer.observed import read_durations, read_observed
from producer.report_chain import build_chain_report
from producer.sinks.files import SESSIONS_NAME
from producer.sinks.sensor_files import COUNTS_NAME, REGISTERS_NAME, SENSOR_NAME, TRUE_DOORS_NAME
from tests.partitioned import files, simulate
from tests.test_partitioned_sensor import STORES, WINDOW

#: A sensor run's data sets: the field each is partitioned by, and the schema (data set kind) of its files.
DATASETS = {SESSIONS_NAME: ("entry_time", "sessions"), TRUE_DOORS_NAME: ("time", "doors"),
            SENSOR_NAME: ("time", "sensor"), COUNTS_NAME: ("interval_start", "counts"),
            REGISTERS_NAME: ("interval_start", "registers")}
#: A run without a sensor: sessions and door events.
NO_SENSOR = ("--start", "2025-10-25T21:00:00", "--days", "2", "--seed", "9")


def _run(*args: str) -> None:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _sensor_run(folder: Path, fmt: str, *more: str) -> Path:
    stores = folder / "stores.toml"
    stores.write_text(STORES, encoding="utf-8")
    out = folder / f"{fmt}{''.join(more)}".replace("-", "")
    _run("simulate", *WINDOW, "--seed", "5", "--stores", str(stores), "--format", fmt, "--out", str(out),
         "--quiet", *more)
    return out


def _payload(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the JSON payload has it: times as ISO strings (``sent_at`` with milliseconds)."""
    return {k: v.isoformat(timespec="milliseconds" if k == "sent_at" else "seconds")
            if isinstance(v, dt.datetime) else v for k, v in record.items()}


def _fastavro_rows(path: Path) -> list[dict[str, Any]]:
    with open(path, "rb") as f:
        return [_payload(r) for r in fastavro.reader(f)]


def _apache_rows(path: Path) -> list[dict[str, Any]]:
    with avro.datafile.DataFileReader(open(path, "rb"), avro.io.DatumReader()) as reader:
        return [_payload(r) for r in reader]


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _writer_schema(path: Path) -> Any:
    """The schema a file declares (its header), as fastavro parses it."""
    with open(path, "rb") as f:
        return fastavro.parse_schema(json.loads(fastavro.reader(f).metadata["avro.schema"]))


def _assert_same_rows(avro_file: Path, want: list[dict[str, Any]], kind: str) -> None:
    got = _fastavro_rows(avro_file)
    assert got == want, avro_file
    assert _apache_rows(avro_file) == want, avro_file
    assert _writer_schema(avro_file) == fastavro.parse_schema(json.loads(schema_text(kind))), avro_file


def _by_partition(rows: list[dict[str, Any]], key: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[(row["store_id"], row[key][:10])].append(row)
    return out


def _assert_partitions_hold_the_jsonl_rows(plain_jsonl: Path, out: Path) -> None:
    """Each data set's partitions: the plain JSONL run's rows of that store and UTC date, in its order."""
    for dataset, (key, kind) in DATASETS.items():
        want = _by_partition(_jsonl_rows(plain_jsonl / f"{dataset}.jsonl"), key)
        found = {}
        for path in files(out, dataset, "avro"):
            store = unquote(path.parent.parent.name.removeprefix("store_id="))
            found[(store, path.parent.name.removeprefix("date="))] = path
        assert sorted(found) == sorted(want) and len(want) > 5, dataset
        for where, path in found.items():
            _assert_same_rows(path, want[where], kind)


def test_plain_files_hold_the_jsonl_runs_rows_with_both_readers(tmp_path: Path) -> None:
    jsonl, avro_out = _sensor_run(tmp_path, "jsonl"), _sensor_run(tmp_path, "avro")
    for dataset, (_, kind) in DATASETS.items():
        want = _jsonl_rows(jsonl / f"{dataset}.jsonl")
        assert len(want) > 100, dataset
        _assert_same_rows(avro_out / f"{dataset}.avro", want, kind)
    sensed = _jsonl_rows(jsonl / f"{SENSOR_NAME}.jsonl")
    assert any(r["reading"] == 1 for r in sensed) and any(r["sent_at"][19:23] != ".000" for r in sensed)
    assert {r["store_id"] for r in sensed} == {"roma hold/1", "lose", "perfect"}


def test_without_a_sensor_the_door_file_is_the_door_events(tmp_path: Path) -> None:
    for fmt in ("jsonl", "avro"):
        _run("simulate", *NO_SENSOR, "--format", fmt, "--out", str(tmp_path / fmt), "--quiet")
    for dataset, kind in ((SESSIONS_NAME, "sessions"), ("foot_traffic_realistic", "doors")):
        want = _jsonl_rows(tmp_path / "jsonl" / f"{dataset}.jsonl")
        assert len(want) > 1000
        _assert_same_rows(tmp_path / "avro" / f"{dataset}.avro", want, kind)
    assert not (tmp_path / "avro" / f"{COUNTS_NAME}.avro").exists()


def test_one_process_partitions_hold_the_jsonl_runs_rows(tmp_path: Path) -> None:
    _assert_partitions_hold_the_jsonl_rows(_sensor_run(tmp_path, "jsonl"), _sensor_run(tmp_path, "avro", "--partition"))


def test_two_dask_workers_write_the_same_partitions(tmp_path: Path) -> None:
    jsonl = _sensor_run(tmp_path, "jsonl")
    stores = tmp_path / "stores.toml"
    out = tmp_path / "dask"
    result = simulate(*WINDOW, "--seed", "5", "--stores", str(stores), "--format", "avro", "--out", str(out),
                      "--workers", "2", timeout=600)
    assert result.returncode == 0, result.stderr
    assert "tasks on" in result.stdout and "sensor:" in result.stdout
    _assert_partitions_hold_the_jsonl_rows(jsonl, out)


def _assert_same_dataset(a: Path, b: Path) -> None:
    one, other = read_dataset(a), read_dataset(b)
    assert (one.fmt, other.fmt) == ("jsonl", "avro")
    for name in ("entry", "minutes", "door_kind", "door_time"):
        assert np.array_equal(getattr(one, name), getattr(other, name)), name
    assert sorted(one.store_id.tolist()) == sorted(other.store_id.tolist())
    assert sorted(one.door_store.tolist()) == sorted(other.door_store.tolist())
    assert one.counts is not None and other.counts is not None and len(one.counts[0]) > 100
    for x, y in zip(one.counts, other.counts, strict=True):
        assert np.array_equal(np.sort(x), np.sort(y))


def test_the_report_reads_avro_as_it_reads_jsonl(tmp_path: Path) -> None:
    _assert_same_dataset(_sensor_run(tmp_path, "jsonl"), _sensor_run(tmp_path, "avro"))
    partitioned_jsonl = _sensor_run(tmp_path, "jsonl", "--partition")
    partitioned_avro = _sensor_run(tmp_path, "avro", "--partition")
    one, other = read_dataset(partitioned_jsonl), read_dataset(partitioned_avro)
    # Partitions are read store by store: the same rows, compared in one order.
    for times, stores in (("entry", "store_id"), ("door_time", "door_store")):
        pairs = [sorted(zip(getattr(d, times).tolist(), getattr(d, stores).tolist())) for d in (one, other)]
        assert pairs[0] == pairs[1] and len(pairs[0]) > 1000
    _run("report", str(partitioned_avro), "--out", str(tmp_path / "report.html"))
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_the_chain_report_of_an_avro_sensor_run_is_the_jsonl_runs(tmp_path: Path) -> None:
    """Counts, dwell, occupancy and the sensor's counted occupancy, plain and partitioned (store ids needing quoting)."""
    ref = build_chain_report(_sensor_run(tmp_path, "jsonl")).views
    assert len(ref) > 1 and all(v.figures["sensor"]["true"].size > 10 for v in ref)
    for more in ((), ("--partition",)):
        views = build_chain_report(_sensor_run(tmp_path, "avro", *more)).views
        assert [v.row for v in views] == [v.row for v in ref], more
        for a, b in zip(views, ref, strict=True):
            for name in ("occupancy", "dwell", "daily"):
                assert np.array_equal(a.figures[name]["simulated"], b.figures[name]["simulated"]), (more, name)
            for series in ("true", "counted"):
                assert np.array_equal(a.figures["sensor"][series], b.figures["sensor"][series]), (more, series)


def test_profile_fit_reads_avro_files(tmp_path: Path) -> None:
    for fmt in ("jsonl", "avro"):
        _run("simulate", *NO_SENSOR, "--format", fmt, "--out", str(tmp_path / fmt), "--quiet")
    for dataset in (SESSIONS_NAME, "foot_traffic_realistic"):
        a = read_observed(tmp_path / "jsonl" / f"{dataset}.jsonl", "Europe/Rome")
        b = read_observed(tmp_path / "avro" / f"{dataset}.avro", "Europe/Rome")
        assert a.column == b.column and a.day.size > 1000
        assert np.array_equal(a.day, b.day) and np.array_equal(a.minute, b.minute) and np.array_equal(a.utc, b.utc)
    durations = [read_durations(tmp_path / fmt / f"{SESSIONS_NAME}.{fmt}") for fmt in ("jsonl", "avro")]
    assert durations[0] is not None and durations[1] is not None
    assert np.array_equal(durations[0], durations[1])
    fitted = []
    for fmt in ("jsonl", "avro"):  # a whole week of every weekday
        _run("simulate", "--start", "2025-10-06", "--days", "8", "--seed", "9", "--format", fmt,
             "--out", str(tmp_path / f"week-{fmt}"), "--quiet")
        _run("profile", "fit", str(tmp_path / f"week-{fmt}" / f"{SESSIONS_NAME}.{fmt}"),
             "--out", str(tmp_path / f"fit-{fmt}.toml"), "--timezone", "UTC")
        fitted.append((tmp_path / f"fit-{fmt}.toml").read_text(encoding="utf-8"))
    assert "[weights]" in fitted[1]
    assert fitted[0].replace("jsonl", "avro") == fitted[1]


def test_a_cut_or_foreign_avro_file_is_a_one_line_error(tmp_path: Path) -> None:
    """Cut in a block (fastavro's EOFError, else click's bare "Aborted!") or not Avro at all: exit 2, one line."""
    run = tmp_path / "run"
    _run("simulate", *NO_SENSOR, "--format", "avro", "--out", str(run), "--quiet")
    sessions = run / f"{SESSIONS_NAME}.avro"
    whole = sessions.read_bytes()
    for damaged in (whole[: len(whole) // 2], b"not an avro file"):
        sessions.write_bytes(damaged)
        for args in (["report", str(run), "--out", str(tmp_path / "r.html")],
                     ["report", str(run), "--static", "--out", str(tmp_path / "s.html")],
                     ["profile", "fit", str(sessions), "--out", str(tmp_path / "fit.toml")]):
            result = CliRunner().invoke(main, args)
            lines = result.output.strip().splitlines()
            assert result.exit_code == 2 and len(lines) == 1, (args, result.output)
            assert lines[0].startswith("foot-traffic: error:") and f"{sessions}: not a whole Avro file" in lines[0]


def test_the_schema_command_prints_the_shipped_schemas() -> None:
    for kind, name in SCHEMA_FILES.items():
        result = CliRunner().invoke(main, ["schema", "avro", kind])
        assert result.exit_code == 0, result.output
        assert result.output == schema_text(kind)
        parsed = json.loads(result.output)
        assert fastavro.parse_schema(parsed)["name"] == "foot_traffic." + parsed["name"]
        assert avro.schema.parse(result.output).fullname == f"foot_traffic.{parsed['name']}"
        assert name.endswith(".avsc")
        times = [f["name"] for f in parsed["fields"] if isinstance(f["type"], dict)]
        assert times and all(f["type"] == {"type": "long", "logicalType": "timestamp-millis"}
                             for f in parsed["fields"] if f["name"] in times)
    union = CliRunner().invoke(main, ["schema", "avro"])
    assert union.exit_code == 0 and len(json.loads(union.output)) == len(SCHEMA_FILES) == 6  # with the registers and labels
    fastavro.parse_schema(json.loads(union.output))
    refused = CliRunner().invoke(main, ["schema", "jsonl"])
    assert refused.exit_code == 2 and "format 'jsonl' has no schema files; formats with one: avro" in refused.output


def test_the_base_install_writes_the_same_files_and_prints_the_schemas(tmp_path: Path) -> None:
    """Avro files are written with numpy and zlib (fastavro, the avro extra, reads them): the base install
    writes them, byte for byte the full install's; reading them back names the extra."""
    from tests.base_install import ROOT, base_env, base_python

    python = base_python()
    for where, exe, env in (("base", str(python), base_env()), ("full", sys.executable, None)):
        args = [exe, "-m", "producer.cli", "simulate", *NO_SENSOR, "--format", "avro", "--out", str(tmp_path / where)]
        result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        assert result.returncode == 0, result.stderr
    for name in (f"{SESSIONS_NAME}.avro", "foot_traffic_realistic.avro"):
        assert (tmp_path / "base" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
        assert len(_fastavro_rows(tmp_path / "base" / name)) > 1000
    shown = subprocess.run([str(python), "-m", "producer.cli", "schema", "avro", "doors"], capture_output=True,
                           text=True, env=base_env(), cwd=ROOT, timeout=300)
    assert shown.returncode == 0 and shown.stdout == schema_text("doors"), shown.stderr
    code = f"from producer.observed import read_table; read_table({str(tmp_path / 'base' / 'foot_traffic.avro')!r})"
    missing = subprocess.run([str(python), "-c", "from producer.cli import missing_extras_explained\n"
                              f"with missing_extras_explained('profile fit'):\n    {code}"],
                             capture_output=True, text=True, env=base_env(), cwd=ROOT, timeout=300)
    assert missing.returncode == 2 and "pyarrow" in missing.stderr, missing.stderr


def test_the_column_encoders_write_what_fastavro_writes(tmp_path: Path) -> None:
    import io

    from producer.formats.avro import AvroWriter, longs, strings
    from sim.batch import Coded

    edge = np.array([0, 1, -1, 63, 64, -64, -65, 8191, 8192, 2**31 - 1, -(2**31), 1_762_156_799_123,
                     2**62, 2**63 - 1, -(2**63)], dtype=np.int64)

    def one(value: Any, kind: str) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, fastavro.parse_schema(kind), value)
        return buf.getvalue()

    assert longs(edge) == [one(int(v), "long") for v in edge.tolist()]
    assert longs(np.zeros(3, dtype=np.int64)) == [b"\x00"] * 3 and longs(np.zeros(0, dtype=np.int64)) == []
    text = ["", "x", 'q"', "en–dash", "é" * 40, "long " * 30, "tab\there"]
    assert strings(np.array(text, dtype=object)) == [one(t, "string") for t in text]
    coded = Coded.of(np.array(text, dtype=object), np.array([6, 0, 3, 3, 5], dtype=np.int64))
    assert strings(coded) == [one(text[i], "string") for i in (6, 0, 3, 3, 5)]
    fixed = np.array([b"0123456789abcdef0123456789abcdef0123", b"ffffffffffffffffffffffffffffffffffff"], dtype="S36")
    assert strings(fixed) == [one(v.decode(), "string") for v in fixed.tolist()]
    short = np.array([b"ab", b"abc"], dtype="S3")  # padded: not one width
    assert strings(short) == [one("ab", "string"), one("abc", "string")]
    empty = tmp_path / "empty.avro"
    AvroWriter(empty, "doors").close()
    assert _fastavro_rows(empty) == [] and _apache_rows(empty) == []
