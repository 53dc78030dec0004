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

from producer.settings import SPECS, Settings, SettingsError
from sim.profile import ProfileError

F = TypeVar("F", bound=Callable[..., Any])


def settings_options(names: Iterable[str]) -> Callable[[F], F]:
    """Add one option per named setting; the command receives them as kwargs."""
    names = list(names)

    def decorate(func: F) -> F:
        for name in reversed(names):
            spec = SPECS[name]
            func = click.option(
                spec.option, name, default=None, metavar="VALUE",
                help=f"{spec.help} [env {spec.env}; default {spec.default}]",
            )(func)
        return func
    return decorate


def load_settings(options: dict[str, Any]) -> Settings:
    """Settings from the environment, overridden by the given options."""
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
        except (SettingsError, ProfileError) as exc:
            fail(str(exc))
    return wrapper  # type: ignore[return-value]
