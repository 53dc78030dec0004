"""foot-traffic-sim's engine: profiles, sampling, the SimPy model, observers.

Nothing here touches Redis, files or the command line (that is ``producer``).
"""

from sim.batch import Batch, DoorColumns, SessionColumns
from sim.calendar import Calendar, SpecialDay
from sim.dwell import (
    DEFAULT_DWELL,
    Dwell,
    DwellBySlot,
    GammaDwell,
    HistogramDwell,
    LognormalDwell,
    MixtureDwell,
    UniformBand,
)
from sim.events import DoorEvent, Session
from sim.observers import Collector, Counter, Observer
from sim.profile import DEFAULT_PROFILE, WEEKDAYS, Profile, ProfileError, load_profile
from sim.run import Simulation, fresh_seed, to_epoch
from sim.store import Store

__all__ = [
    "Batch", "Collector", "Counter", "DEFAULT_DWELL", "DEFAULT_PROFILE", "DoorColumns",
    "DoorEvent", "Dwell", "MixtureDwell", "Observer", "Profile", "ProfileError",
    "Session", "SessionColumns", "Simulation", "Store", "UniformBand", "WEEKDAYS",
    "fresh_seed", "load_profile", "to_epoch",
    "Calendar", "SpecialDay", "DwellBySlot", "GammaDwell", "HistogramDwell", "LognormalDwell",
]
