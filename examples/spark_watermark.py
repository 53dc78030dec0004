"""A Spark Structured Streaming job over the door sensor's records: watermark, de-duplication, 15-minute counts.

Run it on a folder written by ``simulate`` with a sensor (``foot_traffic_realistic.jsonl`` holds
what the sensor delivered, in ``sent_at`` order)::

    python examples/spark_watermark.py half --watermark 90

It replays the sensor as a stream: the records are cut into one file per ten minutes
of ``sent_at`` (as a collector would land them) and read one file per micro-batch, so
the watermark moves on as the sensor's time passes. A reading that arrives after
the watermark has passed its window's end is dropped, as a bounded watermark drops
late data. The counts of the windows Spark closed are compared with the counter's
own interval counts (``foot_traffic_counts.jsonl``, which nothing is late for). Needs pyspark and a Java runtime (the ``test`` extra and
``scripts/test.sh`` bring both).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

#: The sensor record's fields (the door event's payload, then sent_at and reading).
SCHEMA = StructType([
    StructField("event_type", StringType()), StructField("time", StringType()),
    StructField("weekday", StringType()), StructField("time_slot", StringType()),
    StructField("customer_id", StringType()), StructField("store_id", StringType()),
    StructField("sent_at", StringType()), StructField("reading", IntegerType()),
])
#: A duplicate delivery repeats a reading: this identifies one (not sent_at, which a duplicate has its own).
READING = ["store_id", "customer_id", "event_type", "time", "reading"]


def land(records: Path, folder: Path) -> int:
    """Cut the records into one file per ten minutes of ``sent_at``, in order; returns the number of files."""
    hours: dict[str, list[str]] = {}
    for line in records.read_text(encoding="utf-8").splitlines():
        hours.setdefault(json.loads(line)["sent_at"][:15], []).append(line)
    for i, hour in enumerate(sorted(hours)):
        path = folder / f"part-{i:05d}.json"
        path.write_text("\n".join(hours[hour]) + "\n", encoding="utf-8")
        os.utime(path, (1_000_000_000 + i, 1_000_000_000 + i))  # Spark takes files oldest first
    return len(hours)


def windowed_counts(spark: SparkSession, landed: Path, watermark: int, checkpoint: Path) -> list[dict]:
    """Run the streaming job over the landed files; the closed windows' counts per store and direction."""
    sensor = (spark.readStream.schema(SCHEMA).option("maxFilesPerTrigger", 1).json(str(landed))
              .withColumn("ts", F.to_timestamp("time")))
    counts = (sensor
              .withWatermark("ts", f"{watermark} seconds")
              .withColumn("window", F.window("ts", "15 minutes"))
              # One reading once: keyed on the reading and its window, so Spark forgets it when the window
              # closes (the state stays bounded) and drops exactly what the windows drop, nothing more.
              .dropDuplicates([*READING, "window"])
              .groupBy("window", "store_id", "event_type")
              .count())
    rows: list[dict] = []
    query = (counts.writeStream.outputMode("append").trigger(availableNow=True)
             .option("checkpointLocation", str(checkpoint))
             .foreachBatch(lambda batch, _: rows.extend(r.asDict(recursive=True) for r in batch.collect()))
             .start())
    query.awaitTermination()
    return rows


def _delay(record: dict) -> float:
    """Seconds from a reading's crossing to its delivery."""
    return (datetime.fromisoformat(record["sent_at"]) - datetime.fromisoformat(record["time"])).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder written by simulate with a sensor")
    parser.add_argument("--watermark", type=int, default=90, help="seconds the watermark trails (default 90)")
    args = parser.parse_args()
    spark = (SparkSession.builder.master("local[1]").appName("foot-traffic-watermark")
             .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as scratch:
        landed = Path(scratch) / "landed"
        landed.mkdir()
        files = land(args.folder / "foot_traffic_realistic.jsonl", landed)
        rows = windowed_counts(spark, landed, args.watermark, Path(scratch) / "checkpoint")
    spark.stop()
    direction = {"entry": "in", "exit": "out"}
    spark_counts = Counter({(r["store_id"], r["window"]["start"].strftime("%Y-%m-%dT%H:%M:%S"),
                             direction[r["event_type"]]): r["count"] for r in rows})
    counter: Counter[tuple[str, str, str]] = Counter()
    for line in (args.folder / "foot_traffic_counts.jsonl").read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        for key in ("in", "out"):
            counter[(c["store_id"], c["interval_start"][:19], key)] = c[key]
    closed = {(store, start) for store, start, _ in spark_counts}
    compared = {k: v for k, v in counter.items() if (k[0], k[1]) in closed}
    dropped = sum(compared.values()) - sum(spark_counts.values())
    late = sum(1 for line in (args.folder / "foot_traffic_realistic.jsonl").read_text(encoding="utf-8").splitlines()
               if _delay(json.loads(line)) > args.watermark)
    differ = sorted({(k[0], k[1]) for k in compared if compared[k] != spark_counts.get(k, 0)})
    print(f"{files} files replayed; {len(closed)} windows closed; {sum(compared.values())} readings counted by "
          f"the counter in them, {sum(spark_counts.values())} by Spark: {dropped} dropped as late "
          f"(watermark {args.watermark} s), in {len(differ)} windows; {late} readings were delivered more than "
          f"{args.watermark} s after their crossing")
    for store, start in differ[:10]:
        print(f"  {store} {start}: counter {compared[(store, start, 'in')]} in {compared[(store, start, 'out')]} out, "
              f"Spark {spark_counts.get((store, start, 'in'), 0)} in {spark_counts.get((store, start, 'out'), 0)} out")


if __name__ == "__main__":
    main()
