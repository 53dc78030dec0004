"""``foot-traffic schema FORMAT [DATASET]``: print the schema files a format ships (Avro's ``.avsc``).

With a data set (``sessions``, ``doors``, ``sensor``, ``counts``, ``registers``, ``labels``) its one
schema, as registered with a Schema Registry; without, all of them as one
JSON array (itself a valid Avro schema: a union of the records).
"""

from __future__ import annotations

import json
from typing import get_args

import click

from producer import formats


@click.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice(formats.NAMES))
@click.argument("dataset", required=False, type=click.Choice(get_args(formats.Kind)))
def schema(fmt: str, dataset: str | None) -> None:
    """Print FORMAT's schema of DATASET (or of every data set)."""
    texts = formats.get(fmt).schemas()
    if not texts:
        having = [n for n in formats.NAMES if formats.get(n).schemas()]
        raise click.UsageError(f"format {fmt!r} has no schema files; formats with one: {', '.join(having)}")
    if dataset is not None:
        click.echo(texts[dataset], nl=False)
    else:
        click.echo(json.dumps([json.loads(t) for t in texts.values()], indent=2, ensure_ascii=False))
