"""A second, independent product-log simulator, for validating the audit off its tuning data:
products of reward mechanics used by people whose behaviour follows the heterogeneity of real
play logs rather than the audit's own model, with the ground truth of every mechanic and user.
"""

from validation.fieldsim.products import field_benchmark, null_products
from validation.fieldsim.scenario import (
    SCHEDULE_KINDS,
    Archetype,
    FieldMechanic,
    FieldProduct,
    FieldScenario,
    FieldUsers,
    MechanicDesign,
    ScheduleKind,
)
from validation.fieldsim.simulation import simulate_field

__all__ = [
    "SCHEDULE_KINDS",
    "Archetype",
    "FieldMechanic",
    "FieldProduct",
    "FieldScenario",
    "FieldUsers",
    "MechanicDesign",
    "ScheduleKind",
    "field_benchmark",
    "null_products",
    "simulate_field",
]
