"""``python -m producer``: the container's entry point, the same as ``foot-traffic produce``."""

from producer.cli import missing_extras_explained
from producer.live.produce import produce

if __name__ == "__main__":
    with missing_extras_explained("python -m producer"):
        produce(prog_name="python -m producer")
