"""The ``foot-traffic`` command line: one group, one module per command."""

from __future__ import annotations

import click

from producer.produce import produce
from producer.simulate import simulate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="foot-traffic-sim")
def main() -> None:
    """foot-traffic-sim: a discrete-event simulator of retail store foot traffic."""


main.add_command(simulate)
main.add_command(produce)

if __name__ == "__main__":
    main()
