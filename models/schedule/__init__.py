"""Which reinforcement schedule does a mechanic run? Pooled over its users: the life tables of
its responses (`schedule_stats`, summed over partitions by `merge_stats`) and the schedule they
identify (`identify`).
"""

from models.schedule.identification import Schedule, identify
from models.schedule.kinds import KINDS, SLOT_MACHINE_KINDS
from models.schedule.life_tables import OutcomeTables, ScheduleStats, merge_stats, schedule_stats
from models.schedule.states import (
    K_MAX,
    N_COUNT,
    N_DAY,
    N_TENURE,
    N_TIME,
    N_TIME_ALL,
    TIME_UNDEFINED,
    rung_index,
    rung_value,
    time_bin_mid,
)

__all__ = [
    "KINDS",
    "K_MAX",
    "N_COUNT",
    "N_DAY",
    "N_TENURE",
    "N_TIME",
    "N_TIME_ALL",
    "SLOT_MACHINE_KINDS",
    "TIME_UNDEFINED",
    "OutcomeTables",
    "Schedule",
    "ScheduleStats",
    "identify",
    "merge_stats",
    "rung_index",
    "rung_value",
    "schedule_stats",
    "time_bin_mid",
]
