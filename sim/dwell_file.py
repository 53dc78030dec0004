"""The ``[dwell]`` table of a profile file: reading and writing dwell models.

::

    [dwell]
    kind = "lognormal"          # default | mixture | lognormal | gamma | histogram
    median = 25                 # minutes (lognormal, gamma)
    spread = 0.6                # standard deviation / mean (lognormal, gamma)

    [[dwell.by_slot]]           # optional: another model for some entries
    weekdays = ["Saturday", "Sunday"]   # default: every weekday
    slots = ["10:00", "14:00"]          # default: every slot
    kind = "gamma"
    median = 40
    spread = 0.5

``histogram`` takes ``edges`` (whole minutes, increasing) and ``weights`` (one
per bin); ``mixture`` takes ``bands`` (``[[low, high], ...]``, whole minutes,
both included) and ``shares`` (summing to 1); ``default`` is the old
producer's mixture. ``by_slot`` rules must not overlap. Every problem is a
one-line :class:`~sim.errors.ProfileError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.dwell import (
    DEFAULT_DWELL,
    Dwell,
    DwellBySlot,
    DwellError,
    GammaDwell,
    HistogramDwell,
    LognormalDwell,
    MixtureDwell,
    UniformBand,
)
from sim.errors import ProfileError
from sim.limits import DWELL_MEDIAN, DWELL_MINUTES, DWELL_SPREAD, SHARE, WEIGHT, Range
from sim.numbers import plain

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
KINDS = ("default", "mixture", "lognormal", "gamma", "histogram")
_PARAMS = {
    "default": (),
    "mixture": ("bands", "shares"),
    "lognormal": ("median", "spread"),
    "gamma": ("median", "spread"),
    "histogram": ("edges", "weights"),
}


def _list(value: Any, key: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProfileError(f"{key}: expected a list of {what}")
    return value


def _numbers(value: Any, key: str, limits: Range) -> tuple[Any, ...]:
    """A list of numbers, each within ``limits``."""
    items = _list(value, key, limits.accepts())
    return tuple(limits.check(v, f"{key}[{i}]", ProfileError) for i, v in enumerate(items))


def model_from_mapping(table: Mapping[str, Any], key: str = "dwell", extra: Sequence[str] = ()) -> Dwell:
    """One dwell model from its table (``extra`` keys are allowed and ignored here)."""
    if "kind" not in table:
        raise ProfileError(f"{key}.kind: missing; expected one of {', '.join(KINDS)}")
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise ProfileError(f"{key}.kind: {kind!r} is not a dwell model; expected one of {', '.join(KINDS)}")
    accepted = {"kind", *_PARAMS[kind], *extra}
    unknown = sorted(set(table) - accepted)
    if unknown:
        raise ProfileError(f"{key}.{unknown[0]}: unknown key for kind {kind!r}; accepted keys are {sorted(accepted)}")
    for name in _PARAMS[kind]:
        if name not in table:
            raise ProfileError(f"{key}.{name}: missing; kind {kind!r} needs {', '.join(_PARAMS[kind])}")
    try:
        if kind == "default":
            return DEFAULT_DWELL
        if kind in ("lognormal", "gamma"):
            median = DWELL_MEDIAN.check(table["median"], f"{key}.median", ProfileError)
            spread = DWELL_SPREAD.check(table["spread"], f"{key}.spread", ProfileError)
            return LognormalDwell(median, spread) if kind == "lognormal" else GammaDwell(median, spread)
        if kind == "histogram":
            edges = _numbers(table["edges"], f"{key}.edges", DWELL_MINUTES)
            weights = _numbers(table["weights"], f"{key}.weights", WEIGHT)
            return HistogramDwell(edges, weights)
        raw_bands = _list(table["bands"], f"{key}.bands", "[low, high] pairs")
        bands = []
        for i, pair in enumerate(raw_bands):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ProfileError(f"{key}.bands[{i}]: {pair!r} is not a [low, high] pair of whole minutes")
            low = DWELL_MINUTES.check(pair[0], f"{key}.bands[{i}][0]", ProfileError)
            high = DWELL_MINUTES.check(pair[1], f"{key}.bands[{i}][1]", ProfileError)
            if low > high:
                raise ProfileError(f"{key}.bands[{i}]: {pair!r}; expected whole minutes low <= high")
            bands.append(UniformBand(low, high))
        shares = _numbers(table["shares"], f"{key}.shares", SHARE)
        return MixtureDwell(shares=shares, bands=tuple(bands))
    except DwellError as exc:
        raise ProfileError(f"{key}.{exc}") from None


def dwell_from_mapping(table: Any, slot_index: Mapping[str, int]) -> Dwell:
    """The profile's dwell model from its ``[dwell]`` table (with ``by_slot`` rules)."""
    if not isinstance(table, Mapping):
        raise ProfileError("dwell: expected a [dwell] table with a kind")
    default = model_from_mapping(table, "dwell", extra=("by_slot",))
    if "by_slot" not in table:
        return default
    rules = table["by_slot"]
    if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules) or not rules:
        raise ProfileError("dwell.by_slot: expected [[dwell.by_slot]] tables")
    n_slots = len(slot_index)
    grid: list[list[Dwell]] = [[default] * n_slots for _ in range(7)]
    owner: dict[tuple[int, int], int] = {}
    for r, rule in enumerate(rules):
        key = f"dwell.by_slot[{r}]"
        model = model_from_mapping(rule, key, extra=("weekdays", "slots"))
        days = _pick(rule.get("weekdays", list(WEEKDAYS)), f"{key}.weekdays", {d: i for i, d in enumerate(WEEKDAYS)})
        slots = _pick(rule.get("slots", list(slot_index)), f"{key}.slots", slot_index)
        for d in days:
            for s in slots:
                if (d, s) in owner:
                    raise ProfileError(
                        f"{key}: overlaps dwell.by_slot[{owner[(d, s)]}] on {WEEKDAYS[d]} "
                        f"slot {list(slot_index)[s]}; rules must not overlap"
                    )
                owner[(d, s)] = r
                grid[d][s] = model
    return DwellBySlot(default=default, grid=tuple(tuple(row) for row in grid))


def _pick(raw: Any, key: str, index: Mapping[str, int]) -> list[int]:
    if not isinstance(raw, list) or not raw:
        raise ProfileError(f"{key}: expected a non-empty list, e.g. [{', '.join(repr(k) for k in list(index)[:2])}]")
    out = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or name not in index:
            raise ProfileError(f"{key}[{i}]: {name!r} is not accepted; expected one of {list(index)}")
        out.append(index[name])
    return out


def model_mapping(model: Dwell) -> dict[str, Any]:
    """The keys describing one model (``kind`` and its parameters)."""
    if model == DEFAULT_DWELL:
        return {"kind": "default"}
    if isinstance(model, (LognormalDwell, GammaDwell)):
        kind = "lognormal" if isinstance(model, LognormalDwell) else "gamma"
        return {"kind": kind, "median": plain(model.median), "spread": plain(model.spread)}
    if isinstance(model, HistogramDwell):
        return {"kind": "histogram", "edges": list(model.edges), "weights": [plain(w) for w in model.weights]}
    if isinstance(model, MixtureDwell):
        return {"kind": "mixture", "bands": [[b.low, b.high] for b in model.bands],
                "shares": [plain(s) for s in model.shares]}
    raise TypeError(f"cannot write dwell model {model!r} to a profile file")


def dwell_to_mapping(dwell: Dwell, slot_names: Sequence[str]) -> dict[str, Any]:
    """The ``[dwell]`` table (with its ``by_slot`` rules) as a mapping for a TOML writer."""
    if not isinstance(dwell, DwellBySlot):
        return model_mapping(dwell)
    table = model_mapping(dwell.default)
    rules = []
    for d, row in enumerate(dwell.grid):
        for model in [m for m in dict.fromkeys(row) if m != dwell.default]:
            slots = [slot_names[s] for s, m in enumerate(row) if m == model]
            rules.append({"weekdays": [WEEKDAYS[d]], "slots": slots, **model_mapping(model)})
    if rules:
        table["by_slot"] = rules
    return table
