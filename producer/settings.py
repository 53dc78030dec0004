"""Settings: one validated object built once from the environment and options.

Every setting has an environment variable (the old producer's names, see
SPEC.md) and a command-line option; the option wins. A malformed value is
never replaced by a default: :class:`SettingsError` carries one line naming
the setting and what it accepts, and the command line exits non-zero with it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urlparse

from producer.errors import SettingsError as SettingsError  # re-exported: modules import it from here
from sim.labels import sensor_scenario
from sim.limits import (
    CAPACITY,
    COUNT_INTERVAL_MINUTES,
    CUSTOMERS_PER_DAY,
    FIRST_INSTANT,
    LAST_INSTANT,
    MULTIPLIER,
    PATIENCE_MINUTES,
    WHOLE_CUSTOMERS_PER_DAY,
    Range,
    TrafficError,
)
from sim.profile import DEFAULT_PROFILE, Profile, ProfileError, load_profile
from sim.store import CAPACITY_MODES, Store, zone_named


def _int(low: int, high: int | None = None) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high``; every setting here states its ``high``."""
    def parse(text: str) -> int:
        value = int(text.strip())  # ValueError on junk
        if value < low or (high is not None and value > high):
            raise ValueError
        return value
    return parse


def _float(low: float, high: float | None = None, open_low: bool = False) -> Callable[[str], float]:
    """A finite number from ``low`` to ``high``; every setting here states its ``high``."""
    def parse(text: str) -> float:
        value = float(text.strip())
        if not math.isfinite(value):
            raise ValueError
        if value < low or (open_low and value == low) or (high is not None and value > high):
            raise ValueError
        return value
    return parse


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError


def _seed(text: str) -> int:
    """A whole number >= 0 as itself; any other text hashed to one (as the old producer took any text)."""
    word = text.strip()
    if not word:
        raise ValueError
    if word.isdigit():
        value = int(word)
        if value > 2**63 - 1:
            raise ValueError
        return value
    return seed_from_text(word)


def seed_taken_as_text(text: str) -> bool:
    """A ``SEED`` that looks like a number but is not a whole one from 0 to 2**63 - 1 (``-1``, ``1.5``):
    it is hashed as text like any word, which its writer likely did not mean, so it deserves a warning."""
    word = text.strip()
    # All digits is a whole number: itself, or (past 2**63 - 1) an error, never text.
    return bool(re.fullmatch(r"[+-]?[0-9][0-9_.,eE+-]*|[+-]?\.[0-9]+", word)) and not word.isdigit()


def seed_from_text(text: str) -> int:
    """The seed of a non-numeric ``SEED``: SHA-256 of its UTF-8 text, first 8 bytes big-endian, top bit cleared."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") & (2**63 - 1)


#: ``SPEED=max``: the highest speed-up (a run's whole span is due at once; the backfill writes it).
MAX_SPEED = 1e9
#: What ``WEBHOOK_RECORDS`` accepts: the records the webhook POSTs (docs/feeds.md, "The webhook").
WEBHOOK_RECORDS = ("counts", "registers", "both")


def _speed(text: str) -> float:
    """``SPEED``: a number from 0.001 to 1e9, or ``max`` (= 1e9)."""
    if text.strip().lower() == "max":
        return MAX_SPEED
    return _float(0.001, MAX_SPEED)(text)


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        word = text.strip()
        if word.upper() in options:
            return word.upper()
        if word.lower() in options:
            return word.lower()
        raise ValueError
    parse.choices = options  # type: ignore[attr-defined]  # listed in --help by producer.options
    return parse


def is_flag(spec: Spec) -> bool:
    """A yes/no setting: a flag on the command line, a word in the environment."""
    return spec.parse is _bool


def choices(spec: Spec) -> tuple[str, ...]:
    """The words a choice setting accepts (empty for any other setting)."""
    return tuple(getattr(spec.parse, "choices", ()))


def _time_of_day(text: str) -> int:
    """``HH:MM`` (00:00 to 23:59) as minutes past midnight."""
    hours, colon, minutes = text.strip().partition(":")
    if not colon or len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit() or len(hours) > 2:
        raise ValueError
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        raise ValueError
    return 60 * h + m


def _http_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host (and a port 1-65535 if given)."""
    parsed = urlparse(text.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.port == 0:
        raise ValueError
    return text.strip()


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError
    return text.strip()


def _timezone(text: str) -> str:
    name = text.strip()
    zone_named(name)  # ValueError if unknown
    return name


def _redis_url(text: str) -> str:
    parsed = urlparse(text.strip())
    if parsed.scheme not in ("redis", "rediss", "unix") or not (parsed.hostname or parsed.path):
        raise ValueError
    if parsed.scheme != "unix":
        port = parsed.port  # ValueError when not a number from 0 to 65535
        if port == 0:
            raise ValueError
        db = parsed.path.strip("/")
        if db and (not db.isdigit() or int(db) > 2**31 - 1):
            raise ValueError
    return text.strip()


def _cluster(text: str) -> str | None:
    """``REDIS_CLUSTER``: a yes/no word (``"on"`` / ``None``), or a cluster node's URL (kept as given)."""
    word = text.strip()
    if word.lower() in _TRUE:
        return "on"
    if word.lower() in _FALSE:
        return None
    url = _redis_url(word)
    if url.startswith("unix:") or urlparse(url).path.strip("/") not in ("", "0"):
        raise ValueError
    return url


def _shard(text: str) -> tuple[int, int]:
    """``SHARD=i/N``: this producer is shard ``i`` (0-based) of ``N``."""
    index, slash, count = text.strip().partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError
    i, n = int(index), int(count)
    if not 1 <= n <= 100_000 or not 0 <= i < n:
        raise ValueError
    return i, n


def mask_secrets(text: str) -> str:
    """``text`` with the password of any URL in it replaced by ``***`` (``redis://user:***@host``)."""
    return re.sub(r"(?i)([a-z][a-z0-9+.-]*://[^/@\s:'\"]*:)[^\s'\"]*@", r"\1***@", text)


@dataclass(frozen=True)
class Spec:
    """How one setting is read: its parser, what it accepts, its default, its help and its variable.

    ``env`` is left empty where the variable is the field's name in capitals
    (:data:`SPECS` fills it in); ``STORES`` is the one that names its own.
    """

    parse: Callable[[str], Any]
    accepts: str
    default: Any = None
    help: str = ""
    env: str = ""

    @property
    def option(self) -> str:
        return "--" + self.env.lower().replace("_", "-")


#: What a yes/no setting accepts (:func:`_bool`).
_FLAG_ACCEPTS = "1/0, true/false, yes/no or on/off"


def _flag(help: str) -> Spec:
    """A yes/no setting, off unless set."""
    return Spec(_bool, _FLAG_ACCEPTS, False, help)


def _ranged(limits: Range, default: Any, help: str, unset: str = "") -> Spec:
    """A number within a range (the engine's documented ones are in sim.limits), which says what it
    accepts: the bounds and their words are one declaration; ``unset`` adds what leaving it unset means."""
    return Spec(limits.parse, limits.accepts() + unset, default, help)


def _pick(options: tuple[str, ...], default: str, help: str) -> Spec:
    """One word of ``options``: ``queue or loss``, or ``one of DEBUG, INFO, ...`` for more than two."""
    accepts = " or ".join(options) if len(options) == 2 else "one of " + ", ".join(options)
    return Spec(_choice(*options), accepts, default, help)


def _with_variables(specs: dict[str, Spec]) -> dict[str, Spec]:
    """Each spec with its environment variable: the one it names, else its field's name in capitals."""
    return {name: spec if spec.env else replace(spec, env=name.upper()) for name, spec in specs.items()}


#: Every setting, by field name. The order is the README's table order.
SPECS: dict[str, Spec] = _with_variables({
    "redis_host": Spec(_text, "a host name or address", "redis", "Redis host"),
    "redis_port": Spec(_int(1, 65535), "a port number 1-65535", 6379, "Redis port"),
    "redis_db": Spec(_int(0, 2**31 - 1), "a whole number from 0 to 2147483647", 0, "Redis database number"),
    "redis_url": Spec(
        _redis_url, "a redis://[user:password@]host[:port][/db] or rediss:// URL (port 1-65535, db a whole number)",
        None, "Redis URL; replaces host, port and db when set",
    ),
    "redis_stream": Spec(
        _text, "a non-empty stream name", "foot_traffic",
        "base stream name; door events go to <base>:realistic",
    ),
    "redis_cluster": Spec(
        _cluster, f"{_FLAG_ACCEPTS}, or a redis:// or rediss:// URL of a cluster node (database 0)",
        None, "write to a Redis Cluster (redis-py's cluster client): 1 uses REDIS_URL / REDIS_HOST:REDIS_PORT "
        "as the first node; a URL names it",
    ),
    "stream_per_store": _flag(
        "each store to its own streams <REDIS_STREAM>:{<store_id>} and <REDIS_STREAM>:{<store_id>}:realistic, "
        "with its own run record and lease"),
    "shard": Spec(
        _shard, "i/N with N a whole number from 1 to 100,000 and i from 0 to N-1 (0/2, 1/2)", None,
        "with STREAM_PER_STORE: take only the stores whose CRC-32 of the store id mod N is i",
    ),
    "default_daily_customers": _ranged(CUSTOMERS_PER_DAY, 1000.0, "baseline customers per day"),
    "base_daily_customers": _ranged(CUSTOMERS_PER_DAY, None, "overrides the baseline"),
    "daily_customers": _ranged(WHOLE_CUSTOMERS_PER_DAY, None, "a fixed total for every day"),
    "daily_variation_pct": Spec(
        _float(0, 1), "a fraction from 0 to 1 (0.10 means +-10%)", 0.10,
        "day-to-day noise, +-fraction of the daily mean",
    ),
    "disable_daily_variation": _flag("turns the day-to-day noise off"),
    "seed": Spec(
        _seed, "a whole number from 0 to 2**63 - 1, or any other text (hashed to a seed)", None,
        "random seed; drawn and printed when unset; other text is hashed (SHA-256) to a number",
    ),
    "traffic_multiplier": _ranged(MULTIPLIER, 1.0, "scales the daily mean"),
    "profile_file": Spec(_text, "a path to a TOML profile file", None, "traffic profile (TOML)"),
    "timezone": Spec(
        _timezone, "an IANA time zone name such as UTC, Europe/Rome or America/New_York",
        "UTC", "the store's local time zone: slots and weekdays are local, times are written in UTC",
    ),
    "store_capacity": _ranged(
        CAPACITY, None, "most customers inside at once; unset means no limit", "; unset: no limit",
    ),
    "capacity_mode": _pick(
        CAPACITY_MODES, "queue",
        "at a full store: queue at the door (first come first served) or turn away (loss)",
    ),
    "patience_minutes": _ranged(
        PATIENCE_MINUTES, None, "a queued customer gives up after waiting this long", "; unset: wait for ever",
    ),
    "write_rejected": _flag("write turned-away and given-up customers as door events of their own type"),
    "sensor": _pick(
        ("auto", "off"), "auto",
        "the door sensor layer: as the profile's [sensor] table says (auto), or off (docs/sensors.md)",
    ),
    "count_interval": _ranged(
        COUNT_INTERVAL_MINUTES, 15, "with a sensor: the interval of the interval counts, in minutes",
    ),
    "counter_reset": Spec(
        _time_of_day, "a local time of day HH:MM, 00:00 to 23:59", 0,
        "with a sensor: when the counter's cumulative registers reset each day, in each store's local time",
    ),
    "stores_file": Spec(
        _text, "a path to a TOML stores file", None,
        "many stores in one run (TOML); the settings above are each store's defaults", env="STORES",
    ),
    "sim_start": Spec(
        _text, "a date (2025-11-03) or an ISO time in UTC", None,
        "simulated start; default: today (simulate) or now (produce)",
    ),
    "speed": Spec(
        _speed, "a number from 0.001 to 1e9 (simulated seconds per wall second), or max", 1.0,
        "real-time speed-up; max (= 1e9) writes the run's span as fast as Redis takes it",
    ),
    "stream_maxlen": Spec(
        _int(1, 10**12), "a whole number from 1 to 10**12", 20000, "approximate cap of each stream",
    ),
    "log_level": _pick(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO", "log level"),
    "publish_clock": _flag("keep sim:now and sim:today up to date in Redis"),
    "clock": _pick(
        ("wall", "redis"), "wall",
        "what paces the producer: the wall clock x SPEED, or the simulated time in CLOCK_KEY (redis)",
    ),
    "clock_key": Spec(
        _text, "a non-empty Redis key name", "sim:now",
        "with CLOCK=redis: the key holding the pipeline's simulated time (an ISO time)",
    ),
    "clock_db": _ranged(
        Range(0, 2**31 - 1, whole=True), 0,
        "with CLOCK=redis: the Redis database of CLOCK_KEY (the streams stay in REDIS_DB)",
    ),
    "clock_max_jump": Spec(
        _int(0, LAST_INSTANT - FIRST_INSTANT),
        "a whole number of simulated seconds from 0 to 34,712,668,800 (0: no bound)", 86_400,
        "with CLOCK=redis: a jump forward of CLOCK_KEY by more than this many simulated seconds (a day) "
        "is held, with one warning, until the clock comes back within it; 0 follows any jump",
    ),
    "standby": _flag(
        "when another producer writes these streams: wait and take over its run when it stops (else exit 1)",
    ),
    "lease_seconds": Spec(
        _float(1, 3600), "a number of seconds from 1 to 3,600", 5.0,
        "how long the producer's lease on its streams lasts unrenewed (a standby takes over after it)",
    ),
    "metrics_host": Spec(
        _text, "an address to listen on (127.0.0.1, 0.0.0.0, ::)", "127.0.0.1",
        "where /metrics listens: this machine only by default; 0.0.0.0 for a scraper elsewhere",
    ),
    "metrics_port": Spec(
        _int(0, 65535), "a port number 0-65535 (0 turns metrics off)", 0, "Prometheus /metrics port",
    ),
    "buffer_max": _ranged(
        Range(1, 10_000_000, whole=True, what="entries held in memory"), 100_000,
        "entries buffered while Redis is unreachable; when full the simulation waits",
    ),
    "redis_connect_timeout": Spec(
        _float(0, 86_400), "a number of seconds from 0 to 86,400 (0 waits forever)", 0.0,
        "how long to wait for Redis at start before giving up",
    ),
    "counter_webhook_url": Spec(
        _http_url, "an http:// or https:// URL", None,
        "with a sensor: POST the interval counts (WEBHOOK_RECORDS: or registers) to this URL in batches (docs/feeds.md)",
    ),
    "counter_webhook_secret": Spec(
        _text, "a non-empty text", None,
        "the key of the webhook's HMAC-SHA256 signature header (required with COUNTER_WEBHOOK_URL)",
    ),
    "webhook_batch": _ranged(Range(1, 10_000, whole=True), 100, "interval records per webhook POST"),
    "webhook_records": _pick(
        WEBHOOK_RECORDS, "counts",
        "which records the webhook POSTs: the interval counts, the cumulative registers, or both (docs/feeds.md)",
    ),
    "webhook_buffer_max": _ranged(
        Range(1, 10_000_000, whole=True), 10_000,
        "records held unacknowledged for the webhook; beyond it the producer waits (back-pressure)",
    ),
    "webhook_timeout": _ranged(
        Range(0.1, 300, what="seconds"), 10.0,
        "seconds a webhook POST may take before it counts as failed and is retried",
    ),
    "webhook_retry_first": _ranged(
        Range(0.01, 60, what="seconds"), 0.5,
        "about how long a failed webhook POST waits before its first retry; each retry after waits twice as long",
    ),
    "webhook_retry_max": _ranged(
        Range(0.01, 3600, what="seconds"), 30.0,
        "the most a failed webhook POST waits before its next retry (the cap of the doubling)",
    ),
})


@dataclass(frozen=True, kw_only=True)
class TrafficSettings:
    """What shapes the simulated traffic, for ``simulate`` and ``produce`` alike: with the seed, a run's identity."""

    seed: int | None
    profile_file: str | None
    default_daily_customers: float
    base_daily_customers: float | None
    daily_customers: int | None
    daily_variation_pct: float
    disable_daily_variation: bool
    traffic_multiplier: float
    timezone: str
    store_capacity: int | None
    capacity_mode: str
    patience_minutes: float | None
    write_rejected: bool
    stores_file: str | None

    def __post_init__(self) -> None:
        self._check_traffic()  # a section built alone checks itself too (Settings checks every section)

    @property
    def baseline(self) -> float:
        if self.base_daily_customers is not None:
            return self.base_daily_customers
        return self.default_daily_customers

    def baseline_for(self, profile: Profile) -> float:
        """The baseline for a store with this profile.

        ``BASE_DAILY_CUSTOMERS`` wins; else the profile file's ``baseline``;
        else ``DEFAULT_DAILY_CUSTOMERS``.
        """
        if self.base_daily_customers is None and profile.baseline is not None:
            return profile.baseline
        return self.baseline

    @property
    def variation(self) -> float:
        return 0.0 if self.disable_daily_variation else self.daily_variation_pct

    def profile(self) -> Profile:
        if self.profile_file is None:
            return DEFAULT_PROFILE
        try:
            return load_profile(self.profile_file)
        except ProfileError as exc:
            raise SettingsError(f"PROFILE_FILE: {exc}") from None

    @property
    def patience_seconds(self) -> int | None:
        if self.patience_minutes is None:
            return None
        return max(1, round(self.patience_minutes * 60))

    def default_store(self) -> Store:
        """The store these settings describe (with a stores file: each store's defaults)."""
        profile = self.profile()
        try:
            return Store(
                profile=profile,
                baseline=self.baseline_for(profile),
                daily_customers=self.daily_customers,
                variation=self.variation,
                multiplier=self.traffic_multiplier,
                timezone=self.timezone,
                capacity=self.store_capacity,
                capacity_mode=self.capacity_mode,
                patience=self.patience_seconds if self.stores_file is None else None,
            )
        except TrafficError as exc:
            raise SettingsError(
                "DAILY_CUSTOMERS or BASE_/DEFAULT_DAILY_CUSTOMERS, TRAFFIC_MULTIPLIER, DAILY_VARIATION_PCT and "
                f"PROFILE_FILE together: {exc}"
            ) from None

    def stores(self) -> tuple[Store, ...]:
        """The run's stores: the stores file's (``STORES``), or the one store of the settings.

        Read once per settings object (the settings are frozen, the stores with them): a run asks
        for them several times (the layout, the shard, the run record's fingerprint), and reading
        a chain's file of 10,000 stores costs about 0.3 s each time.
        """
        return self._stores

    @cached_property
    def _stores(self) -> tuple[Store, ...]:
        if self.stores_file is None:
            return (self.default_store(),)
        from producer.stores_file import load_stores

        return load_stores(self.stores_file, self.default_store(), self.patience_seconds, self.baseline_for)

    def _check_traffic(self) -> None:
        if self.patience_minutes is not None and self.stores_file is None:
            if self.store_capacity is None:
                raise SettingsError(
                    f"PATIENCE_MINUTES={self.patience_minutes:g} needs STORE_CAPACITY: "
                    "only customers queueing at a full store have a patience"
                )
            if self.capacity_mode != "queue":
                raise SettingsError(
                    f"PATIENCE_MINUTES={self.patience_minutes:g} needs CAPACITY_MODE=queue: "
                    "in loss mode nobody queues"
                )


@dataclass(frozen=True, kw_only=True)
class SpanSettings:
    """Where a run starts (its end is a command's option: ``--days``, ``--until``)."""

    sim_start: str | None


@dataclass(frozen=True, kw_only=True)
class SensorSettings:
    """The door sensor layer (``simulate`` and ``produce``, see docs/sensors.md)."""

    sensor: str
    count_interval: int

    def has_sensor(self, stores: Sequence[Store]) -> bool:
        """Whether a run of ``stores`` has a door sensor: a store's profile has ``[sensor]`` and SENSOR is not off."""
        return self.sensor != "off" and any(s.profile.sensor is not None for s in stores)

    def check_scenarios(self, stores: Sequence[Store]) -> None:
        """A scenario acting on the door sensor needs the sensor on: ``simulate`` and ``produce`` refuse
        it alike with ``SENSOR=off`` (one line, :class:`SettingsError`)."""
        acting = sensor_scenario(stores)
        if acting is not None and self.sensor == "off":
            raise SettingsError(
                f"SENSOR=off, but store {acting[0]!r} has a {acting[1]} scenario, which acts on the door sensor: "
                "turn the sensor on (SENSOR=auto) or remove the scenario")


@dataclass(frozen=True, kw_only=True)
class FeedSettings:
    """The counter's vendor-shaped feeds offline: when its cumulative registers reset (docs/feeds.md)."""

    counter_reset: int  #: minutes past local midnight


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    """The live producer's push of the counter records (counts, registers or both) to an HTTP endpoint (docs/feeds.md)."""

    counter_webhook_url: str | None
    counter_webhook_secret: str | None
    webhook_batch: int
    webhook_records: str  #: counts, registers or both: which streams the webhook relays
    webhook_buffer_max: int
    webhook_timeout: float
    webhook_retry_first: float
    webhook_retry_max: float


@dataclass(frozen=True, kw_only=True)
class RedisSettings:
    """The Redis the live producer writes to, its streams' base name and how it buffers for it."""

    redis_url: str | None
    redis_host: str
    redis_port: int
    redis_db: int
    redis_stream: str
    stream_maxlen: int
    buffer_max: int
    redis_connect_timeout: float

    @property
    def door_stream(self) -> str:
        return f"{self.redis_stream}:realistic"


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
    """Scale-out: a Redis Cluster, streams per store, and shards of the stores."""

    redis_cluster: str | None
    stream_per_store: bool
    shard: tuple[int, int] | None


@dataclass(frozen=True, kw_only=True)
class ClockSettings:
    """What paces the live producer: the wall clock x ``SPEED``, or a followed clock; whether it publishes one."""

    speed: float
    clock: str
    clock_key: str
    clock_db: int
    clock_max_jump: int
    publish_clock: bool


@dataclass(frozen=True, kw_only=True)
class LeaseSettings:
    """One producer per set of streams: its lease, and whether to wait as a standby."""

    standby: bool
    lease_seconds: float


@dataclass(frozen=True, kw_only=True)
class MetricsSettings:
    """What the process tells: Prometheus metrics and the log level."""

    metrics_host: str
    metrics_port: int
    log_level: str


#: The sections, in the order of the settings table: each field is declared once, in its section, and a
#: module that needs one section takes it (a :class:`Settings` is each of them).
SECTIONS: dict[str, type] = {
    "traffic": TrafficSettings, "span": SpanSettings, "sensor": SensorSettings, "feeds": FeedSettings,
    "webhook": WebhookSettings, "redis": RedisSettings,
    "cluster": ClusterSettings, "clock": ClockSettings, "lease": LeaseSettings, "metrics": MetricsSettings,
}


def section_names(section: str) -> tuple[str, ...]:
    """The settings of one section, in declaration order."""
    return tuple(f.name for f in fields(SECTIONS[section]))


#: Settings that shape the simulated traffic (shared with ``produce``; with the seed, a run's identity).
TRAFFIC_SETTINGS = section_names("traffic")
#: Settings of the door sensor layer (``simulate`` and ``produce``, see docs/sensors.md).
SENSOR_SETTINGS = section_names("sensor")
#: The counter feeds' settings of ``simulate`` (docs/feeds.md).
FEED_SETTINGS = section_names("feeds")
#: The webhook's settings of ``produce`` (docs/feeds.md).
WEBHOOK_SETTINGS = section_names("webhook")


@dataclass(frozen=True, kw_only=True)
class Settings(TrafficSettings, SpanSettings, SensorSettings, FeedSettings, WebhookSettings, RedisSettings,
               ClusterSettings, ClockSettings, LeaseSettings, MetricsSettings):
    """All settings, validated: every section at once. Build with :meth:`load`."""

    def __post_init__(self) -> None:
        self._check_scale_out()
        if self.clock == "redis" and self.publish_clock:
            raise SettingsError(
                "PUBLISH_CLOCK=1 with CLOCK=redis: one clock only; a producer that follows the "
                "pipeline's clock must not write it (unset PUBLISH_CLOCK, or use CLOCK=wall)"
            )
        self._check_traffic()
        self._check_webhook()

    def _check_webhook(self) -> None:
        """The webhook's settings that only mean something together."""
        if self.counter_webhook_url is not None and self.counter_webhook_secret is None:
            raise SettingsError("COUNTER_WEBHOOK_URL needs COUNTER_WEBHOOK_SECRET: every POST is signed with it")
        if self.counter_webhook_url is not None and self.webhook_buffer_max > self.stream_maxlen:
            raise SettingsError(
                f"WEBHOOK_BUFFER_MAX={self.webhook_buffer_max} is above STREAM_MAXLEN={self.stream_maxlen}: the "
                "records the webhook has not acknowledged could be trimmed from their stream before it sends them")
        if self.counter_webhook_secret is not None and self.counter_webhook_url is None:
            raise SettingsError("COUNTER_WEBHOOK_SECRET without COUNTER_WEBHOOK_URL: there is no webhook to sign for")
        if self.webhook_retry_first > self.webhook_retry_max:
            raise SettingsError(
                f"WEBHOOK_RETRY_FIRST={self.webhook_retry_first:g} is above WEBHOOK_RETRY_MAX="
                f"{self.webhook_retry_max:g}: the first retry's delay is at most the cap")

    def _check_scale_out(self) -> None:
        """The combinations of REDIS_CLUSTER, STREAM_PER_STORE and SHARD that mean something."""
        if self.shard is not None and not self.stream_per_store:
            raise SettingsError(
                f"SHARD={self.shard[0]}/{self.shard[1]} needs STREAM_PER_STORE=1: shards split the stores, "
                "so each store needs streams of its own")
        if self.shard is not None and self.shard[1] > 1 and self.publish_clock:
            raise SettingsError(
                f"PUBLISH_CLOCK=1 with SHARD={self.shard[0]}/{self.shard[1]}: every shard would write sim:now; "
                "publish the clock from one process that is not sharded, or unset PUBLISH_CLOCK")
        if self.redis_cluster is None:
            return
        if self.redis_cluster != "on" and self.redis_url is not None:
            raise SettingsError(
                "REDIS_CLUSTER is a URL and REDIS_URL is set too: give the cluster's address once "
                "(REDIS_CLUSTER=1 with REDIS_URL, or REDIS_CLUSTER=<url>)")
        url_db = urlparse(self.redis_url).path.strip("/") if self.redis_url is not None else ""
        if url_db not in ("", "0") or (self.redis_url is None and self.redis_db != 0):
            raise SettingsError(
                "REDIS_CLUSTER=1 with a database other than 0 (REDIS_DB or the REDIS_URL path): "
                "a Redis Cluster has database 0 only")
        if self.redis_url is not None and self.redis_url.startswith("unix:"):
            raise SettingsError("REDIS_CLUSTER=1 with a unix:// REDIS_URL: a cluster is reached over TCP "
                                "(redis:// or rediss://)")
        if self.clock_db != 0:
            raise SettingsError(f"CLOCK_DB={self.clock_db} with REDIS_CLUSTER: a Redis Cluster has database 0 only")

    def stream_pairs(self, stores: Sequence[Store]) -> list[tuple[str, str]]:
        """The streams written: ``(sessions, door events)`` per store, or the one pair of the run."""
        if not self.stream_per_store:
            return [(self.redis_stream, self.door_stream)]
        return [(f"{self.redis_stream}:{{{s.store_id}}}", f"{self.redis_stream}:{{{s.store_id}}}:realistic")
                for s in stores]

    @classmethod
    def load(cls, env: Mapping[str, str], options: Mapping[str, Any] | None = None) -> Settings:
        """Read every setting: a given option first, else the environment, else the default.

        ``options`` maps field names to raw option values (``None`` = not given).
        """
        options = options or {}
        values: dict[str, Any] = {}
        for name, spec in SPECS.items():
            raw, source = given_value(options.get(name)), spec.option
            if raw is None:
                raw, source = given_value(env.get(spec.env)), spec.env
            if raw is None:
                values[name] = spec.default
                continue
            values[name] = _parse(spec, source, raw)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def given_value(raw: object) -> str | None:
    """A setting's raw value as text, or ``None`` when it is unset or empty.

    An empty value is the same as no value (a compose file's ``DAILY_CUSTOMERS=``).
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "1" if raw else "0"
    text = str(raw)
    return text if text.strip() else None


def given_settings(options: Mapping[str, Any], env: Mapping[str, str]) -> set[str]:
    """The settings set explicitly (not empty), by option or environment variable."""
    return {
        name for name, spec in SPECS.items()
        if given_value(options.get(name)) is not None or given_value(env.get(spec.env)) is not None
    }
def _distance(a: str, b: str, cap: int) -> int:
    """Levenshtein distance between ``a`` and ``b``, or ``cap + 1`` once it is surely above ``cap``.

    Only the band of cells within ``cap`` of the diagonal is computed: the
    check runs for every environment variable against every setting, at
    every start.
    """
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    over = cap + 1
    row = [j if j <= cap else over for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        lo, hi = max(1, i - cap), min(len(b), i + cap)
        diagonal = row[lo - 1]
        row[lo - 1] = i if i <= cap else over
        for j in range(lo, hi + 1):
            cell = min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != b[j - 1]))
            diagonal, row[j] = row[j], min(cell, over)
        if hi < len(b):
            row[hi + 1] = over
        if min(row[lo - 1:hi + 1]) > cap:
            return over
    return min(row[-1], over)


def near_misses(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, setting) for each environment variable that looks like a mistyped setting.

    Only names shaped like ours are considered (upper case, digits,
    underscores) that are not settings themselves and lie within two edits
    of a setting's name (one edit for names of five letters or fewer, so
    that short unrelated names are not flagged).
    """
    return list(_near_misses(tuple(sorted(env))))


@lru_cache(maxsize=16)  # a process sees one environment; the tests' many runs see a handful
def _near_misses(variables: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    names = [spec.env for spec in SPECS.values()]
    out = []
    for var in variables:
        if var in names or not var.isupper() or not all(c.isalnum() or c == "_" for c in var):
            continue
        for name in names:
            cap = 1 if len(name) <= 5 else 2
            if _distance(var, name, cap) <= cap:
                out.append((var, name))
                break
    return tuple(out)


def _parse(spec: Spec, source: str, raw: str) -> Any:
    try:
        return spec.parse(raw)
    except (ValueError, TypeError):
        shown = mask_secrets(raw)  # a password never reaches a log or a terminal
        raise SettingsError(f"{source}={shown!r} is not valid: expected {spec.accepts}") from None


def _check_sections() -> None:
    """Every setting is in exactly one section, and every section's field is a setting (checked at import)."""
    declared = [name for section in SECTIONS for name in section_names(section)]
    if sorted(declared) != sorted(SPECS) or len(set(declared)) != len(declared):
        raise RuntimeError(f"settings and sections disagree: {sorted(set(declared) ^ set(SPECS))}")


_check_sections()
