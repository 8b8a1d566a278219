"""A simulator of products with known ground truth: users who learn a mechanic's rewards by
Rescorla-Wagner and continue, choose or wait by known rules, so every figure the models produce
can be tested against a known answer.
"""

from models.synthetic.benchmark import schedule_benchmark
from models.synthetic.presets import (
    bulk_events,
    demo_native_events,
    demo_spec,
    rule_scenarios,
    simulate_demo,
)
from models.synthetic.simulation import simulate_product
from models.synthetic.specs import (
    KINDS,
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    SimulatedProduct,
)

__all__ = [
    "KINDS",
    "MechanicSpec",
    "PopulationSpec",
    "ProductSpec",
    "ScheduleSpec",
    "SimulatedProduct",
    "bulk_events",
    "demo_native_events",
    "demo_spec",
    "rule_scenarios",
    "schedule_benchmark",
    "simulate_demo",
    "simulate_product",
]
