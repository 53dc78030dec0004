"""Spark reads a partitioned data set as one table: every row, under the right store and date partition.

A real local Spark (pyspark, from the test extra; it needs a Java runtime)
reads the layout ``simulate --partition`` writes, in every format, the way a
Spark job downstream would: ``spark.read.parquet(folder)`` discovers the
``store_id=`` and ``date=`` folders (unescaping ``long%20stay%2F1``).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from producer.cli import main
from tests.partitioned import DATASETS, WINDOW, flat_lines, stores_file

if shutil.which("java") is None:  # pragma: no cover - CI installs a JDK
    pytest.fail("Spark needs a Java runtime: install a JDK (scripts/test.sh does)", pytrace=False)

from pyspark.sql import SparkSession  # noqa: E402  (after the Java check, which explains a failure)

#: The time a row is partitioned by.
TIME = {DATASETS[0]: "entry_time", DATASETS[1]: "time"}


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = (SparkSession.builder.master("local[1]").appName("foot-traffic-test")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four stores' run, partitioned, in every format; and the plain run in JSONL."""
    folder = tmp_path_factory.mktemp("spark")
    stores = str(stores_file(folder))
    for fmt, extra in (("flat", ["--format", "jsonl"]), *((fmt, ["--format", fmt, "--partition"])
                                                         for fmt in ("parquet", "jsonl", "csv"))):
        result = CliRunner().invoke(main, ["simulate", *WINDOW, "--seed", "7", "--stores", stores, *extra,
                                           "--out", str(folder / fmt)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return folder


def _expected(flat: Path, dataset: str) -> Counter[tuple[str, str, str]]:
    """(store, UTC date, customer id) of every row of the plain run."""
    rows = (orjson.loads(line) for line in flat_lines(flat, dataset))
    return Counter((row["store_id"], row[TIME[dataset]][:10], row["customer_id"]) for row in rows)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_spark_reads_every_row_under_its_partition(spark: SparkSession, out: Path, fmt: str) -> None:
    for dataset in DATASETS:
        path = str(out / fmt / dataset)
        reader = spark.read
        frame = (reader.parquet(path) if fmt == "parquet" else
                 reader.json(path) if fmt == "jsonl" else reader.option("header", True).csv(path))
        assert {"store_id", "date"} <= set(frame.columns)
        got = Counter((row.store_id, str(row.date), row.customer_id)
                      for row in frame.select("store_id", "date", "customer_id").collect())
        want = _expected(out / "flat", dataset)
        assert len(want) > 1000
        assert got == want
        assert {store for store, _, _ in got} == {"roma", "nyc", "long stay/1", "lognormal"}
