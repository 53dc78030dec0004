"""``python -m producer.live.health``: the container's health check.

Healthy when the producer's ``/metrics`` endpoint answers and says its last
Redis write succeeded (``foot_traffic_redis_up 1``). Exit 0 healthy, 1 not;
one line on stdout either way. Needs ``METRICS_PORT`` (the image sets it).
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("METRICS_PORT", "0").strip()
    if not port.isdigit() or int(port) == 0:
        print("unhealthy: METRICS_PORT is not set, so there is nothing to check")
        return 1
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            text = reply.read().decode()
    except OSError as exc:
        print(f"unhealthy: /metrics on port {port} does not answer ({exc})")
        return 1
    up = [line for line in text.splitlines() if line.startswith("foot_traffic_redis_up ")]
    if not up or float(up[0].split()[1]) != 1.0:
        print("unhealthy: the last Redis write failed (Redis down?); events are buffered")
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
