"""Where offline events go: files (JSONL, CSV, Parquet). The live Redis sink is in :mod:`producer.live`."""
