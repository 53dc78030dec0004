"""Command-line plumbing shared by the commands: settings options and errors.

Every setting in :data:`producer.settings.SPECS` becomes an option named
after its environment variable (``DAILY_CUSTOMERS`` -> ``--daily-customers``),
read as raw text so that :class:`~producer.settings.Settings` validates
options and environment alike, with the same one-line messages.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar

import click

from producer.settings import (
    SPECS,
    Settings,
    SettingsError,
    choices,
    given_value,
    is_flag,
    near_misses,
    section_names,
    seed_taken_as_text,
)
from sim.limits import TrafficError
from sim.profile import ProfileError

F = TypeVar("F", bound=Callable[..., Any])


#: What an option's value is, as ``--help`` names it (``--seed INTEGER|TEXT``); by setting field name.
METAVARS = {
    "seed": "INTEGER|TEXT", "sim_start": "DATE|TIME", "profile_file": "FILE", "stores_file": "FILE",
    "timezone": "ZONE", "redis_host": "HOST", "redis_port": "PORT", "redis_db": "DB", "redis_url": "URL",
    "redis_stream": "NAME", "redis_cluster": "yes|no|URL", "shard": "i/N", "speed": "NUMBER|max",
    "clock_key": "KEY", "clock_db": "DB", "metrics_host": "ADDRESS", "metrics_port": "PORT",
    "lease_seconds": "SECONDS", "redis_connect_timeout": "SECONDS", "patience_minutes": "MINUTES",
    "count_interval": "MINUTES", "counter_reset": "HH:MM", "counter_webhook_url": "URL",
    "counter_webhook_secret": "TEXT", "webhook_batch": "RECORDS", "webhook_buffer_max": "RECORDS",
    "webhook_timeout": "SECONDS", "webhook_retry_first": "SECONDS", "webhook_retry_max": "SECONDS",
}

#: The sections ``--help`` lists options in, by option name: the settings' sections
#: (:data:`producer.settings.SECTIONS`, with the command's own span options), and the output's options.
SECTIONS: dict[str, tuple[str, ...]] = {
    "Span": ("start", *section_names("span"), "days", "until"),
    "Traffic": section_names("traffic"),
    "Door sensor": section_names("sensor"),
    "Counter feeds": section_names("feeds"),
    "Webhook": section_names("webhook"),
    "Output": ("out", "fmt", "engine", "partition", "workers", "scheduler", "quiet", "fresh"),
    "Redis": section_names("redis"),
    "Redis Cluster": section_names("cluster"),
    "Clock": section_names("clock"),
    "Lease": section_names("lease"),
    "Metrics and logs": section_names("metrics"),
}


#: An example or two per command, shown at the end of its ``--help``.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "simulate": (
        "foot-traffic simulate --start 2025-11-03 --days 7 --seed 42 --out out",
        "foot-traffic simulate --stores examples/stores.toml --days 30 --format parquet --out chain",
    ),
    "produce": (
        "foot-traffic produce --redis-url redis://127.0.0.1:6390/0 --speed 60",
        "foot-traffic produce --redis-url redis://127.0.0.1:6390/0 --sim-start 2025-11-03 --days 1 --speed max",
    ),
    "fit": ("foot-traffic profile fit observed.csv --out shop.toml --calendar",),
    "show": ("foot-traffic profile show examples/profiles/city.toml",),
}


class GroupedCommand(click.Command):
    """A command whose ``--help`` lists its options in sections (:data:`SECTIONS`) and ends with examples."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {title: [] for title in (*SECTIONS, "Options")}
        for param in self.get_params(ctx):
            row = param.get_help_record(ctx)
            if row is not None:
                title = next((t for t, names in SECTIONS.items() if param.name in names), "Options")
                rows[title].append(row)
        for title, found in rows.items():
            if found:
                with formatter.section(title):
                    formatter.write_dl(found)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        examples = EXAMPLES.get(self.name or "")
        if examples:
            with formatter.section("Examples"):
                for line in examples:  # as typed: never wrapped
                    formatter.write(f"{'':>{formatter.current_indent}}{line}\n")


def _metavar(name: str, accepts: str) -> str:
    return METAVARS.get(name) or ("INTEGER" if "whole number" in accepts else "NUMBER")


def settings_options(names: Iterable[str]) -> Callable[[F], F]:
    """Add one option per named setting; the command receives them as kwargs.

    A yes/no setting is a flag (``--write-rejected`` / ``--no-write-rejected``)
    that takes no value; a choice lists its words in ``--help``; every other
    option takes its value as text.
    """
    names = list(names)

    def decorate(func: F) -> F:
        for name in reversed(names):
            spec = SPECS[name]
            default = "" if spec.default is None else f"; default {spec.default}"
            help_text = f"{spec.help} [env {spec.env}{default}]"
            if is_flag(spec):
                option = click.option(
                    f"{spec.option}/--no-{spec.option[2:]}", name, default=None, help=help_text,
                )
            else:
                words = choices(spec)
                option = click.option(
                    spec.option, name, default=None,
                    metavar=f"[{'|'.join(words)}]" if words else _metavar(name, spec.accepts),
                    help=help_text if words else f"{help_text} [{spec.accepts}]",
                )
            func = option(func)
        return func
    return decorate


def load_settings(options: dict[str, Any]) -> Settings:
    """Settings from the environment, overridden by the given options.

    An environment variable that looks like a mistyped setting
    (``STORE_CAPCITY``) is not silently ignored: a warning names the setting
    it resembles.
    """
    for var, name in near_misses(os.environ):
        click.echo(f"foot-traffic: warning: {var} is not a setting and is ignored; did you mean {name}?", err=True)
    seed, source = given_value(options.get("seed")), "--seed"
    if seed is None:
        seed, source = given_value(os.environ.get("SEED")), "SEED"
    if seed is not None and seed_taken_as_text(seed):
        click.echo(f"foot-traffic: warning: {source} {seed.strip()!r} is not a whole number from 0 to 2^63 - 1: "
                   "it is taken as text and hashed to a seed (the same text repeats the run)", err=True)
    return Settings.load(os.environ, {k: v for k, v in options.items() if k in SPECS})


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error and exit non-zero."""
    first = " ".join(str(message).split())
    click.echo(f"foot-traffic: error: {first}", err=True)
    sys.exit(code)


def friendly_errors(func: F) -> F:
    """Turn bad input into a one-line message and exit code 2."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (SettingsError, ProfileError, TrafficError) as exc:
            fail(str(exc))
    return wrapper  # type: ignore[return-value]


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 visit``, ``2 visits``, ``1,000 visits``: a count with its noun (``words``: an irregular plural)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {words or word + 's'}"
