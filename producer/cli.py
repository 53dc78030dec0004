"""The ``foot-traffic`` command line: one group, one module per command.

Commands are imported when they are run, not when the group is built, and
``foot-traffic --help`` lists them from the short texts below without
importing any: the report's plotting stack alone takes half a second to
import, which ``--help``, ``simulate`` or ``produce`` should not pay, and it
may not even be installed (the base install has none of the extras).

A command that needs a missing extra stops with one line naming the
``pip install`` that brings it, and exit code 2.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from sim.extras import EXTRAS, MissingExtra, missing_message

#: Command name -> ("module:attribute" of its click command, short help, the extra it needs).
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "simulate": ("producer.simulate:simulate", "Simulate a window offline to JSONL, CSV, Parquet or Avro files.", None),
    "produce": ("producer.live.produce:produce", "Simulate in real time and write events to Redis Streams.", None),
    "profile": ("producer.profile_cmd:profile", "Fit a traffic profile to observed data, or show one.", None),
    "report": ("producer.report:report", "Draw a data set written by 'simulate' as an HTML page.", "report"),
    "schema": ("producer.schema_cmd:schema", "Print a format's schema files (Avro's, for a Schema Registry).", None),
}


def _missing(message: str) -> NoReturn:
    click.echo(f"foot-traffic: error: {message}", err=True)
    raise SystemExit(2)


def _explained(exc: ModuleNotFoundError, command: str, extra: str | None) -> str | None:
    """The one line naming the ``pip install`` for a missing optional dependency; None for another module."""
    if isinstance(exc, MissingExtra):
        return str(exc)
    top = (exc.name or "").split(".")[0]
    return missing_message(command, top, extra) if top in EXTRAS else None


@contextmanager
def missing_extras_explained(command: str = "this command", extra: str | None = None) -> Iterator[None]:
    """A missing optional dependency becomes one line naming its ``pip install``, exit code 2."""
    try:
        yield
    except ModuleNotFoundError as exc:
        message = _explained(exc, command, extra)
        if message is None:
            raise  # not an optional dependency: a broken install, shown as it is
        _missing(message)


def _needs_extra(name: str, short_help: str, message: str) -> click.Command:
    """A stand-in for a command whose extra is missing: ``--help`` shows what it does and what to install,
    and running it is the one-line missing-extra error, exit code 2."""

    def refuse(args: tuple[str, ...]) -> None:
        _missing(message)

    return click.Command(
        name, callback=refuse, short_help=short_help,
        help=f"{short_help}\n\nNot available here: {message}.",
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target[0].split(":")
        with missing_extras_explained(f"foot-traffic {cmd_name}", target[2]):
            try:
                command = getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                message = _explained(exc, f"foot-traffic {cmd_name}", target[2])
                if message is None or target[2] is None:
                    raise
                return _needs_extra(cmd_name, target[1], message)  # --help still shows what it does
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The short texts above, so that listing the commands imports none of them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])

    def invoke(self, ctx: click.Context) -> Any:
        # Imports made while a command runs (Parquet, a gamma dwell model, pandas).
        try:
            with missing_extras_explained("this command"):
                return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C: what a shell expects (128 + SIGINT), not click's "Aborted!", 1
            click.echo("foot-traffic: interrupted", err=True)
            raise SystemExit(130) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="foot-traffic-sim")
def main() -> None:
    """foot-traffic-sim: a discrete-event simulator of retail store foot traffic."""


if __name__ == "__main__":
    main()
