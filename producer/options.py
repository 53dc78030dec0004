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
    seed_taken_as_text,
)
from sim.limits import TrafficError
from sim.profile import ProfileError

F = TypeVar("F", bound=Callable[..., Any])


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
            help_text = f"{spec.help} [env {spec.env}; default {spec.default}]"
            if is_flag(spec):
                option = click.option(
                    f"{spec.option}/--no-{spec.option[2:]}", name, default=None, help=help_text,
                )
            else:
                words = choices(spec)
                option = click.option(
                    spec.option, name, default=None, metavar=f"[{'|'.join(words)}]" if words else "VALUE",
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
