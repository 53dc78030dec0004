"""The ``foot-traffic`` command line: one group, one module per command.

Commands are imported when they are run, not when the group is built: the
report's plotting stack alone takes half a second to import, which a
``simulate`` or ``produce`` start should not pay.
"""

from __future__ import annotations

import importlib

import click

#: Command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "simulate": "producer.simulate:simulate",
    "produce": "producer.live.produce:produce",
    "profile": "producer.profile_cmd:profile",
    "report": "producer.report:report",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="foot-traffic-sim")
def main() -> None:
    """foot-traffic-sim: a discrete-event simulator of retail store foot traffic."""


if __name__ == "__main__":
    main()
