"""``python -m producer``: the container's entry point, the same as ``foot-traffic produce``."""

from producer.live.produce import produce

if __name__ == "__main__":
    produce(prog_name="python -m producer")
