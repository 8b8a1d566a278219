"""Bar 6: the audit on products of the second, independent generator (`validation.fieldsim`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from models.analysis import AnalysisConfig, analyse
from models.calibration import CheckedCall
from models.risk import MARKERS as RISK_MARKERS
from models.rules import DEFAULT_TABLE
from models.schedule import SLOT_MACHINE_KINDS
from validation.validate.schedules import _checked

FIELD_MAX_NULL_FLAG_RATE = 0.10


@dataclass(frozen=True, kw_only=True)
class FieldBar:
    """The same audit on products of `validation.fieldsim`, a generator written independently of
    `models.synthetic` with other assumptions (bursty tempo, breaks inside sessions, three
    zones with no offsets sent, stopping that ignores outcomes). Nothing was tuned on it.

    confusion[(truth, called)]: schedules; night_false / chasing_false: night-engagement and
    loss-chasing findings on products with no night player / no loss chaser (quitters while
    ahead present); night_found / chasing_found: the same findings on products that have them
    (positive controls), over such products; null_tested / null_flagged: per-user flags on the
    products with no effect, by marker (every flag there is false); chasing_unassessable:
    products with chasers whose loss-chasing rule was not assessable on any mechanic and fired
    on none (fixed prices: a stake that cannot change cannot be raised). Per unit (user ×
    mechanic) on every product: `<marker>_true_tested` / `_true_flagged` units of users who truly
    have the behaviour that were tested / flagged, `<marker>_false_flagged` / `_false_tested`
    the same for everyone else (per-user sensitivity and false-flag rate); calls: every
    schedule call on the benchmark products with its confidence and whether it was right."""

    products: int
    confusion: dict[tuple[str, str], int]
    errors: list[str]
    night_false: int
    night_products_without: int
    night_found: int
    night_products_with: int
    chasing_false: int
    chasing_products_without: int
    chasing_found: int
    chasing_products_with: int
    null_tested: dict[str, int]
    null_flagged: dict[str, int]
    chasing_unassessable: int = 0
    per_user: dict[str, int] = field(default_factory=dict)
    calls: list[CheckedCall] = field(default_factory=list)

    @property
    def mechanics(self) -> int:
        return sum(self.confusion.values())

    @property
    def accuracy(self) -> float:
        right = sum(v for (t, c), v in self.confusion.items() if t == c)
        return right / self.mechanics if self.mechanics else math.nan

    @property
    def false_slot_machine(self) -> int:
        return sum(
            v
            for (t, c), v in self.confusion.items()
            if c in SLOT_MACHINE_KINDS and t not in SLOT_MACHINE_KINDS
        )

    @property
    def null_flag_rate(self) -> float:
        """Flagged users over tested users on products with no effect (all flags false)."""
        tested = sum(self.null_tested.values())
        return sum(self.null_flagged.values()) / tested if tested else math.nan


def field_bar(seed: int = 0, n_products: int = 24, n_null: int = 4) -> FieldBar:
    from validation import fieldsim

    confusion: dict[tuple[str, str], int] = {}
    errors: list[str] = []
    counts = dict.fromkeys(("nf", "nw", "nfound", "nwith", "cf", "cw", "cfound", "cwith", "cna"), 0)
    per_user: dict[str, int] = {}
    calls: list[CheckedCall] = []
    null_tested: dict[str, int] = {}
    null_flagged: dict[str, int] = {}
    scenarios = [(s, False) for s in fieldsim.field_benchmark(seed, n_products)]
    scenarios += [(s, True) for s in fieldsim.null_products(seed, n_null)]
    for i, (scenario, null) in enumerate(scenarios):
        product = fieldsim.simulate_field(scenario, seed + i)
        analysis = analyse(product.columns, config=AnalysisConfig(), table=DEFAULT_TABLE)
        fired = {f.rule_id for f in analysis.findings}
        if not null:
            for report in analysis.mechanics:
                truth = product.mechanic(report.mechanic).kind
                called = report.schedule.kind
                confusion[(truth, called)] = confusion.get((truth, called), 0) + 1
                calls.append(_checked(report.schedule, truth))
                if truth != called:
                    errors.append(f"{scenario.name}/{report.mechanic} ({truth}): called {called}")
        night, chasing = "night-engagement" in fired, "loss-chasing" in fired
        chase_unassessable = not chasing and any(
            a.rule_id == "loss-chasing" for m in analysis.mechanics for a in m.not_assessable
        )
        if len(analysis.users):
            user_ids = np.asarray(product.users.user_ids)
            unit_user = np.asarray(analysis.users["user_id"])
            for marker, has_it in (
                ("night_play", product.users.night_player),
                ("loss_chasing", product.users.loss_chaser),
            ):
                true_unit = np.isin(unit_user, user_ids[has_it])
                tested = np.asarray(analysis.users[f"tested_{marker}"], dtype=bool)
                flagged = np.asarray(analysis.users[f"raised_{marker}"], dtype=bool)
                for side, mask in (("true", true_unit), ("false", ~true_unit)):
                    for what, values in (("tested", tested), ("flagged", flagged)):
                        key = f"{marker}_{side}_{what}"
                        per_user[key] = per_user.get(key, 0) + int((values & mask).sum())
        if product.nobody_at_night:
            counts["nw"] += 1
            counts["nf"] += night
        elif scenario.zones_sent:
            counts["nwith"] += 1
            counts["nfound"] += night
        if product.no_loss_chasers:
            counts["cw"] += 1
            counts["cf"] += chasing
        else:
            counts["cwith"] += 1
            counts["cfound"] += chasing
            counts["cna"] += chase_unassessable
        if null and len(analysis.users):
            for name, _ in RISK_MARKERS:
                tested = np.asarray(analysis.users[f"tested_{name}"], dtype=bool)
                flagged = np.asarray(analysis.users[f"raised_{name}"], dtype=bool)
                null_tested[name] = null_tested.get(name, 0) + int(tested.sum())
                null_flagged[name] = null_flagged.get(name, 0) + int(flagged.sum())
    return FieldBar(
        products=len(scenarios),
        confusion=confusion,
        errors=errors,
        night_false=counts["nf"],
        night_products_without=counts["nw"],
        night_found=counts["nfound"],
        night_products_with=counts["nwith"],
        chasing_false=counts["cf"],
        chasing_products_without=counts["cw"],
        chasing_found=counts["cfound"],
        chasing_products_with=counts["cwith"],
        null_tested=null_tested,
        null_flagged=null_flagged,
        chasing_unassessable=counts["cna"],
        per_user=per_user,
        calls=calls,
    )
