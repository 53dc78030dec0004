"""The lateness histogram's quantiles agree with exact ones to its stated resolution (6%)."""

from __future__ import annotations

import numpy as np

from producer.live.metrics import Lateness


def test_quantiles_match_numpy_within_one_bucket() -> None:
    rng = np.random.default_rng(12)
    values = rng.lognormal(mean=np.log(0.002), sigma=1.5, size=20_000)
    late = Lateness()
    for v in values:
        late.add(float(v))
    for q in (0.5, 0.9, 0.99):
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        # The reported value is the upper edge of the bucket holding the quantile:
        # never below it, at most one bucket (10**(1/40) = 5.9%) above it.
        assert exact <= late.quantile(q) <= exact * 10 ** (1 / 40) * (1 + 1e-12)
    assert late.max == values.max() and late.total == values.size


def test_weighted_adds_equal_repeated_adds() -> None:
    one, many = Lateness(), Lateness()
    one.add(0.003, 500)
    one.add(0.2, 5)
    for _ in range(500):
        many.add(0.003)
    for _ in range(5):
        many.add(0.2)
    assert one.counts == many.counts and one.total == many.total == 505
    assert one.quantile(0.99) == many.quantile(0.99) and one.quantile(0.995) > 0.19
    buckets = dict(one.cumulative((0.001, 0.005, 0.25)))
    assert buckets == {"0.001": 0.0, "0.005": 500.0, "0.25": 505.0, "+Inf": 505.0}
