"""Bar 5: each rule of the decision table on its own simulated scenario, and a neutral control."""

from __future__ import annotations

from dataclasses import dataclass

from models.analysis import AnalysisConfig, analyse
from models.rules import DEFAULT_TABLE
from models.synthetic import (
    rule_scenarios,
    simulate_product,
)


@dataclass(frozen=True, kw_only=True)
class RulesBar:
    """fired[rule_id]: the rule fired on its own scenario; control: rules fired on the control."""

    fired: dict[str, bool]
    control: list[str]


def rules_bar(n_users: int = 80, *, seed: int = 0) -> RulesBar:
    product = simulate_product(rule_scenarios(n_users), seed)
    # the simulated users all live at UTC+0, and the product says so (its declared zone)
    analysis = analyse(product.events, config=AnalysisConfig(time_zone="UTC"), table=DEFAULT_TABLE)
    by_mechanic = {m.mechanic: [f.rule_id for f in m.findings] for m in analysis.mechanics}
    return RulesBar(
        fired={r.rule_id: r.rule_id in by_mechanic.get(r.rule_id, []) for r in DEFAULT_TABLE.rules},
        control=by_mechanic.get("control", []),
    )
