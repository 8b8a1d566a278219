"""Validation against simulated ground truth: the science bars, measured and printed.

    python -m models.validate            # every bar at full size (a few minutes on 2 cores)
    python -m models.validate --quick    # the same bars at the sizes the tests use
    python -m models.validate --large    # also the 100,000-user / 10-million-event run

Each bar is a function returning its figures, so the test suite asserts the same code at a
smaller size (Wilson & Collins 2019, rules 3, 5 and 6: simulate; check that parameters can be
recovered; check that models can be told apart).
"""

from __future__ import annotations

import argparse
import math
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.stats import spearmanr

from models import markers as mk
from models.analysis import Analysis, AnalysisConfig, UserTable, analyse
from models.calibration import CheckedCall, Reliability, reliability
from models.risk import MARKERS as RISK_MARKERS
from models.rules import DEFAULT_TABLE
from models.schedule import KINDS, SLOT_MACHINE_KINDS, Schedule
from models.segments import Segments
from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    SimulatedProduct,
    bulk_events,
    rule_scenarios,
    schedule_benchmark,
    simulate_product,
)

# the science bars (README, Science §9)
SCHEDULE_MIN_ACCURACY = 0.95
SCHEDULE_MIN_MECHANICS = 200
SIGN_MIN_SHARE = 0.95
ALPHA_MIN_SPEARMAN = 0.6
COVERAGE_RANGE = (0.85, 0.99)
CHOICE_MIN_SPEARMAN = 0.8  # a single set, the test suite's size
# the population (empirical-Bayes) fit at 200 trials, mean over sets of 200 users
CHOICE_TARGET_SPEARMAN = 0.9
CHOICE_MAX_BETA_BIAS = 1.0
CHOICE_MAX_LOGLIK_GAP = 1e-3
FIELD_MAX_NULL_FLAG_RATE = 0.10
# calibrated confidence: over all calls, mean confidence within 0.05 of the share right, and in
# every bin with at least 30 calls the Wilson 95 % interval of the share right contains the
# bin's mean confidence
CALIBRATION_MAX_GAP = 0.05
RELIABILITY_MIN_BIN_CALLS = 30


def _truth_index(product: SimulatedProduct, analysis: Analysis) -> NDArray[np.int64]:
    """For each row of the analysis' user table, the index of its simulated track."""
    key = {
        (product.events.user_ids[int(u)], product.events.mechanics[int(m)]): i
        for i, (u, m) in enumerate(zip(product.tracks.user, product.tracks.mechanic, strict=True))
    }
    users = analysis.users
    return np.array(
        [key[(str(u), str(m))] for u, m in zip(users["user_id"], users["mechanic"], strict=True)],
        dtype=np.int64,
    )


# ------------------------------------------------------------------ 1. schedules


@dataclass(frozen=True, kw_only=True)
class ScheduleBar:
    """Schedule identification over simulated mechanics: confusion[(truth, called)] = count;
    calls: every call with its confidence and whether it was right."""

    mechanics: int
    confusion: dict[tuple[str, str], int]
    errors: list[str] = field(default_factory=list)
    calls: list[CheckedCall] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        right = sum(v for (t, c), v in self.confusion.items() if t == c)
        return right / self.mechanics if self.mechanics else math.nan

    @property
    def false_slot_machine(self) -> int:
        """Mechanics of another kind called variable_ratio or pity (the worst error)."""
        return sum(
            v
            for (t, c), v in self.confusion.items()
            if c in SLOT_MACHINE_KINDS and t not in SLOT_MACHINE_KINDS
        )

    def render(self) -> str:
        called = list(KINDS)
        truths = [k for k in KINDS if k != "insufficient_data"]
        short = {k: k.replace("variable_", "var_").replace("fixed_", "fix_")[:12] for k in called}
        head = f"{'truth / called':18s}" + "".join(f"{short[c]:>13s}" for c in called)
        lines = [head]
        for t in truths:
            row = "".join(f"{self.confusion.get((t, c), 0):13d}" for c in called)
            lines.append(f"{t:18s}{row}")
        return "\n".join(lines)


def schedule_bar(
    n_mechanics: int = 224,
    *,
    seed: int = 0,
    users: tuple[int, int] = (20, 200),
    responses: tuple[float, float] = (3.0, 300.0),
    window_days: float = 0.0,
) -> ScheduleBar:
    """Simulate `n_mechanics` mechanics of every kind (schedule_benchmark), audit them with the
    full pipeline and tabulate called against true kinds. `window_days` > 0 drops the first
    days of the log (an audit window that cuts users' first runs)."""
    product = simulate_product(
        schedule_benchmark(n_mechanics, seed=seed, users=users, responses=responses), seed
    )
    columns = product.columns()
    if window_days > 0:
        columns = columns.take(columns.t >= columns.t.min() + window_days * 86400.0)
    analysis = analyse(columns, config=AnalysisConfig(), table=DEFAULT_TABLE)
    confusion: dict[tuple[str, str], int] = {}
    errors = []
    calls = []
    for report in analysis.mechanics:
        truth = product.truth_kind(report.mechanic)
        called = report.schedule.kind
        confusion[(truth, called)] = confusion.get((truth, called), 0) + 1
        calls.append(_checked(report.schedule, truth))
        if truth != called:
            errors.append(f"{report.mechanic}: called {called}")
    return ScheduleBar(
        mechanics=len(analysis.mechanics), confusion=confusion, errors=errors, calls=calls
    )


def _checked(schedule: Schedule, truth: str) -> CheckedCall:
    return CheckedCall(
        kind=schedule.kind,
        truth=truth,
        raw_confidence=float(schedule.evidence["raw_confidence"]),
        confidence=schedule.confidence,
    )


# ------------------------------------------------------------------ 2. engagement fits


@dataclass(frozen=True, kw_only=True)
class EngagementBar:
    sign_users: int
    sign_recovered: float  # share of users (|b_δ| ≥ 1, 300 responses) with the right sign
    alpha_users: int
    alpha_spearman: float  # fitted vs true α, 1,000 responses per user
    alpha_coverage: float  # share of 95 % profile intervals containing the true α
    alpha_median_width: float
    # the population fit (posterior) beside maximum likelihood, on the same users: Spearman
    # with the truth of b_δ (300 responses) and α (1,000 responses), and the share of users
    # whose 95 % interval of b_δ (ML: b̂_δ ± 1.96·SE) covers the truth
    b_delta_spearman_ml: float
    b_delta_spearman_eb: float
    b_delta_coverage_ml: float
    b_delta_coverage_eb: float
    alpha_spearman_eb: float
    alpha_coverage_eb: float


def _engagement_product(n_users: int, responses: float, seed: int) -> SimulatedProduct:
    population = PopulationSpec(
        n_users=n_users,
        responses=(responses, responses),
        alpha=(0.05, 0.8),
        b0=(0.5, 2.5),
        b_v=(-1.0, 1.0),
        b_delta=(1.0, 3.0),
        loss_chaser_share=0.5,
        loss_chaser_b_delta=(-3.0, -1.0),
        tempo_s=5.0,
        gap_s=3600.0,
    )
    schedule = ScheduleSpec(kind="variable_ratio", ratio=1 / 0.3, values=(1.0,))
    spec = ProductSpec(
        mechanics=(MechanicSpec(name="m", schedule=schedule, population=population),)
    )
    return simulate_product(spec, seed)


def engagement_bar(
    n_users: int = 200, *, seed: int = 0, sign_responses: float = 300, alpha_responses: float = 1000
) -> EngagementBar:
    """Users learn a 30 % reward by Rescorla-Wagner (α ∈ [0.05, 0.8]) and continue by the
    engagement model with |b_δ| ∈ [1, 3] (half of them loss chasers, b_δ < 0)."""
    config = AnalysisConfig()
    product = _engagement_product(n_users, sign_responses, seed)
    analysis = analyse(product.columns(), config=config, table=DEFAULT_TABLE)
    truth = product.tracks.b_delta[_truth_index(product, analysis)]
    fitted = analysis.users["fit_status"] == "fitted"
    sign_ok = np.sign(analysis.users["b_delta"][fitted]) == np.sign(truth[fitted])
    users = analysis.users
    bd = users["b_delta"][fitted].astype(float)
    se = users["b_delta_se"][fitted].astype(float)
    bd_eb = users["b_delta_eb"][fitted].astype(float)
    td = truth[fitted]
    eb_lo, eb_hi = users["b_delta_eb_lo"][fitted], users["b_delta_eb_hi"][fitted]
    product = _engagement_product(n_users, alpha_responses, seed + 1)
    analysis = analyse(product.columns(), config=config, table=DEFAULT_TABLE)
    true_alpha = product.tracks.alpha[_truth_index(product, analysis)]
    fitted = analysis.users["fit_status"] == "fitted"
    a = analysis.users["engagement_alpha"][fitted].astype(float)
    lo = analysis.users["engagement_alpha_lo"][fitted].astype(float)
    hi = analysis.users["engagement_alpha_hi"][fitted].astype(float)
    t = true_alpha[fitted]
    return EngagementBar(
        sign_users=int(sign_ok.size),
        sign_recovered=float(sign_ok.mean()),
        alpha_users=int(t.size),
        alpha_spearman=float(spearmanr(a, t)[0]),
        alpha_coverage=float(((lo <= t) & (t <= hi)).mean()),
        alpha_median_width=float(np.median(hi - lo)),
        b_delta_spearman_ml=float(spearmanr(bd, td)[0]),
        b_delta_spearman_eb=float(spearmanr(bd_eb, td)[0]),
        b_delta_coverage_ml=float(np.mean(np.abs(bd - td) <= 1.96 * se)),
        b_delta_coverage_eb=float(np.mean((eb_lo <= td) & (td <= eb_hi))),
        alpha_spearman_eb=float(
            spearmanr(analysis.users["engagement_alpha_eb"][fitted].astype(float), t)[0]
        ),
        alpha_coverage_eb=float(
            np.mean(
                (analysis.users["engagement_alpha_eb_lo"][fitted] <= t)
                & (t <= analysis.users["engagement_alpha_eb_hi"][fitted])
            )
        ),
    )


# ------------------------------------------------------------------ 3. choice fits


@dataclass(frozen=True, kw_only=True)
class ChoiceBar:
    """Recovery over `sets` simulated sets of users (one product each, seeds seed, seed + 1, …).

    alpha_spearman, beta_spearman: mean over the sets of Spearman(estimate, truth) per set;
    *_worst: the lowest set; *_se: the standard error of the mean over sets (a set of 200
    users has a Spearman's sampling spread of about (1 − ρ²)/√200 ≈ 0.01 of its own);
    beta_bias: mean of β̂ − β over all fitted users; alpha_coverage: share of true α inside the
    95 % interval over all fitted users; max_loglik_gap: over the first set's reference users."""

    users: int
    sets: int
    alpha_spearman: float
    alpha_spearman_worst: float
    alpha_spearman_se: float
    beta_spearman: float
    beta_spearman_worst: float
    beta_spearman_se: float
    beta_bias: float
    alpha_coverage: float
    reference_users: int
    max_loglik_gap: float  # max |ℓ̂ − ℓ̂_reference| over the reference users


def choice_product(n_users: int, trials: int, seed: int) -> SimulatedProduct:
    """Two options paying 1 with probability 0.7 and 0.3; α ∈ [0.05, 0.8], β ∈ [1, 10]."""
    population = PopulationSpec(
        n_users=n_users,
        responses=(trials, trials),
        exact_responses=True,
        alpha=(0.05, 0.8),
        beta=(1.0, 10.0),
        b0=(5.0, 5.0),
    )
    schedule = ScheduleSpec(
        kind="variable_ratio", option_probabilities=(0.7, 0.3), option_names=("a", "b")
    )
    spec = ProductSpec(
        mechanics=(MechanicSpec(name="bandit", schedule=schedule, population=population),)
    )
    return simulate_product(spec, seed)


def _reference_choice_fit(
    choices: NDArray[np.int64], rewards: NDArray[np.float64], beta_max: float
) -> float:
    """Maximum log-likelihood of bandit2arm_delta by scipy L-BFGS-B from several starts, with
    the likelihood written as a plain loop over trials (independent of models.choice)."""

    def negll(params: NDArray[np.float64]) -> float:
        alpha, beta = float(params[0]), float(params[1])
        q = np.zeros(2)
        total = 0.0
        for c, r in zip(choices.tolist(), rewards.tolist(), strict=True):
            z = beta * q
            total += z[c] - (z.max() + math.log(math.fsum(math.exp(v - z.max()) for v in z)))
            q[c] += alpha * (r - q[c])
        return -total

    best = math.inf
    for a0 in (0.1, 0.4, 0.8):
        for b0 in (1.0, 5.0, 15.0):
            res = minimize(negll, [a0, b0], method="L-BFGS-B", bounds=[(0.0, 1.0), (0.0, beta_max)])
            best = min(best, float(res.fun))
    return -best


def choice_bar(
    n_users: int = 200,
    *,
    seed: int = 0,
    trials: int = 200,
    reference_users: int = 30,
    sets: int = 1,
) -> ChoiceBar:
    config = AnalysisConfig()
    rho_a, rho_b, bias, covered, users_fitted = [], [], [], [], 0
    gaps: list[float] = []
    for k in range(sets):
        product = choice_product(n_users, trials, seed + k)
        analysis = analyse(product.columns(), config=config, table=DEFAULT_TABLE)
        idx = _truth_index(product, analysis)
        users = analysis.users
        fitted = users["choice_status"] == "fitted"
        a = users["choice_alpha"][fitted].astype(float)
        b = users["beta"][fitted].astype(float)
        ta, tb = product.tracks.alpha[idx][fitted], product.tracks.beta[idx][fitted]
        lo = users["choice_alpha_lo"][fitted].astype(float)
        hi = users["choice_alpha_hi"][fitted].astype(float)
        rho_a.append(float(spearmanr(a, ta)[0]))
        rho_b.append(float(spearmanr(b, tb)[0]))
        bias.append(b - tb)
        covered.append((lo <= ta) & (ta <= hi))
        users_fitted += int(fitted.sum())
        if k == 0:
            gaps = _choice_reference_gaps(product, users, fitted, config, reference_users)
    se = math.sqrt(sets) if sets > 1 else math.nan
    return ChoiceBar(
        users=users_fitted,
        sets=sets,
        alpha_spearman=float(np.mean(rho_a)),
        alpha_spearman_worst=min(rho_a),
        alpha_spearman_se=float(np.std(rho_a, ddof=1)) / se if sets > 1 else math.nan,
        beta_spearman=float(np.mean(rho_b)),
        beta_spearman_worst=min(rho_b),
        beta_spearman_se=float(np.std(rho_b, ddof=1)) / se if sets > 1 else math.nan,
        beta_bias=float(np.concatenate(bias).mean()),
        alpha_coverage=float(np.concatenate(covered).mean()),
        reference_users=len(gaps),
        max_loglik_gap=max(gaps) if gaps else math.nan,
    )


def _choice_reference_gaps(
    product: SimulatedProduct,
    users: UserTable,
    fitted: NDArray[np.bool_],
    config: AnalysisConfig,
    reference_users: int,
) -> list[float]:
    """|ℓ̂ − ℓ̂_reference| of the first fitted users, the reference fit on their raw trials."""
    cols = product.columns()
    resp = cols.kind == 0
    gaps = []
    for row in np.flatnonzero(fitted)[:reference_users]:
        u = product.events.user_ids.index(str(users["user_id"][row]))
        mine = np.flatnonzero(resp & (cols.user == u))
        mine = mine[np.argsort(cols.t[mine], kind="stable")]
        rew = {
            float(t): float(v)
            for t, v in zip(
                cols.t[~resp & (cols.user == u)], cols.value[~resp & (cols.user == u)], strict=True
            )
        }
        rewards = np.array([rew.get(float(t), 0.0) for t in cols.t[mine]])
        ref = _reference_choice_fit(cols.option[mine].astype(np.int64), rewards, config.beta_max)
        gaps.append(abs(float(users["choice_loglik"][row]) - ref))
    return gaps


# ------------------------------------------------------------------ 4. markers


@dataclass(frozen=True, kw_only=True)
class MarkerCase:
    """A hand-worked marker value: `compute()` must return `expected` (within 1e-9)."""

    marker: str
    case: str
    expected: float
    compute: Callable[[], float]


def _one_unit(*lengths: int) -> Segments:
    return Segments.from_lengths(np.array(lengths, dtype=np.int64))


MARKER_CASES: tuple[MarkerCase, ...] = (
    # Gini of (1, 2, 3, 4): Σ(2i − n − 1)xᵢ = −3·1 − 1·2 + 1·3 + 3·4 = 10; 10 / (4·10) = 0.25
    MarkerCase(
        marker="spend_gini",
        case="costs 1, 2, 3, 4",
        expected=0.25,
        compute=lambda: mk.gini(np.array([1.0, 2.0, 3.0, 4.0])),
    ),
    # one of four users pays everything: (2·4 − 4 − 1)·1 / (4·1) = 3/4
    MarkerCase(
        marker="spend_gini",
        case="costs 0, 0, 0, 1",
        expected=0.75,
        compute=lambda: mk.gini(np.array([0.0, 0.0, 0.0, 1.0])),
    ),
    # 99 users pay 1, one pays 101: the top 1 % (one user) holds 101/200
    MarkerCase(
        marker="spend_top1_share",
        case="99 × 1 and one 101",
        expected=101 / 200,
        compute=lambda: mk.top_share(np.array([1.0] * 99 + [101.0]), 0.01),
    ),
    # 10 users pay 1..10 (total 55): the top 10 % is the user paying 10
    MarkerCase(
        marker="spend_top10_share",
        case="costs 1..10",
        expected=10 / 55,
        compute=lambda: mk.top_share(np.arange(1.0, 11.0), 0.10),
    ),
    # 23:30 UTC is 00:30 at UTC+1 (night) and 22:30 at UTC−1 (not); 05:59 UTC with no offset
    # sent is of unknown local time and left out: one night of two known responses
    MarkerCase(
        marker="night_share",
        case="23:30 UTC seen from UTC+1 and UTC−1, 05:59 UTC with no zone",
        expected=1 / 2,
        compute=lambda: float(
            mk.night_share(
                mk.is_night(
                    np.array([84600.0, 84600.0, 21540.0]),
                    np.array([3600, -3600, 0], dtype=np.int32),
                    0.0,
                    6.0,
                ),
                np.array([True, True, False]),
                _one_unit(3),
                1,
            )[0]
        ),
    ),
    # sessions of 1, 2, 4 responses at ordinals 0, ½, 1: log length 0, log 2, log 4 → slope log 4
    MarkerCase(
        marker="session_escalation",
        case="sessions of 1, 2 and 4 responses",
        expected=math.log(4.0),
        compute=lambda: float(
            mk.session_trends(
                np.array([0.0, 4000.0, 4001.0, 8000.0, 8001.0, 8002.0, 8003.0]),
                _one_unit(1, 2, 4),
                _one_unit(7),
                np.zeros(7, dtype=bool),
                3,
            ).session_escalation[0]
        ),
    ),
    # session starts at 0, 8000, 12000, 14000: gaps 8000, 4000, 2000 → −log gap rises by log 4
    MarkerCase(
        marker="frequency_escalation",
        case="gaps between sessions halve",
        expected=math.log(4.0),
        compute=lambda: float(
            mk.session_trends(
                np.array([0.0, 8000.0, 12000.0, 14000.0]),
                _one_unit(1, 1, 1, 1),
                _one_unit(4),
                np.zeros(4, dtype=bool),
                3,
            ).frequency_escalation[0]
        ),
    ),
    # waits after wins 9 s (×3), after other responses 0 s (×3): exp(log 10 − log 1) = 10
    MarkerCase(
        marker="post_reward_pause",
        case="9 s pauses after wins, none otherwise",
        expected=10.0,
        compute=lambda: float(
            mk.post_reward_pause(
                np.array([0.0, 9.0, 9.0, 18.0, 18.0, 27.0, 27.0]),
                np.array([True, False, True, False, True, False, False]),
                _one_unit(7),
            )[0]
        ),
    ),
    # payouts 3, 3, 3 | … | 1, 1, 1 per response (thirds of 9): (3 − 1)/(3 + 1) = 0.5
    MarkerCase(
        marker="front_loading",
        case="payouts 3 early, 1 late",
        expected=0.5,
        compute=lambda: float(
            mk.front_loading(np.array([3.0, 3, 3, 2, 2, 2, 1, 1, 1]), _one_unit(9), 3)[0]
        ),
    ),
    # δ = 1, −1, 2, −2, 4, 0 (|δ| early thirds: 1, 1 → mean 1 over 6; late: 4, 0 → 4 over 6)
    MarkerCase(
        marker="rpe_persistence",
        case="|δ| 1, 1 early and 4, 0 late",
        expected=2.0,
        compute=lambda: float(
            mk.rpe_persistence(np.array([1.0, -1.0, 2.0, -2.0, 4.0, 0.0]), _one_unit(6), 3)[0]
        ),
    ),
    # last half δ = −3, 1: Σδ / Σ|δ| = −2 / 4
    MarkerCase(
        marker="rpe_balance",
        case="late δ −3 and 1",
        expected=-0.5,
        compute=lambda: float(mk.rpe_balance(np.array([5.0, 5.0, -3.0, 1.0]), _one_unit(4), 2)[0]),
    ),
    # losses 0, 0, 1, 1 with α = 0.2: V⁻ after each response 0, 0, 0.2, 0.36; last half 0.28
    MarkerCase(
        marker="aversive_expectation",
        case="streak lost on the last two of four visits",
        expected=0.28,
        compute=lambda: float(
            mk.aversive_expectation(
                np.zeros(4), np.array([0.0, 0.0, 1.0, 1.0]), _one_unit(4), 0.2, 2
            )[0]
        ),
    ),
    # options a, a, b, a, none: favourite a in 3 of 4 option-carrying responses
    MarkerCase(
        marker="option_concentration",
        case="choices a, a, b, a",
        expected=0.75,
        compute=lambda: float(
            mk.option_concentration(np.array([0, 0, 1, 0, -1], dtype=np.int32), _one_unit(5))[0]
        ),
    ),
)


def _discount_case() -> float:
    from models.discounting import fit_discounting

    # waits offered symmetrically around 1000 s on the log scale; the user pays exactly when the
    # wait exceeds 1000 s, at half the reward's value: d* = 1000 s by symmetry, so
    # k = θ / ((1 − θ)·d*) = 0.5 / (0.5 · 1000) = 1e-3
    steps = 0.05 + 0.1 * np.arange(20)
    delay = 10.0 ** (3.0 + np.concatenate([-steps, steps]))
    pay = delay > 1000.0
    fit = fit_discounting(
        delay, pay, np.where(pay, 5.0, 0.0), np.full(40, 10.0), _one_unit(40), min_choices=10
    )
    return float(fit.k[0])


DISCOUNT_CASE = MarkerCase(
    marker="discount_k",
    case="pays iff the wait exceeds 1000 s at half price",
    expected=1e-3,
    compute=_discount_case,
)


# ------------------------------------------------------------------ 5. decision table


@dataclass(frozen=True, kw_only=True)
class RulesBar:
    """fired[rule_id]: the rule fired on its own scenario; control: rules fired on the control."""

    fired: dict[str, bool]
    control: list[str]


def rules_bar(n_users: int = 80, *, seed: int = 0) -> RulesBar:
    product = simulate_product(rule_scenarios(n_users), seed)
    # the simulated users all live at UTC+0, and the product says so (its declared zone)
    analysis = analyse(
        product.columns(), config=AnalysisConfig(time_zone="UTC"), table=DEFAULT_TABLE
    )
    by_mechanic = {m.mechanic: [f.rule_id for f in m.findings] for m in analysis.mechanics}
    return RulesBar(
        fired={r.rule_id: r.rule_id in by_mechanic.get(r.rule_id, []) for r in DEFAULT_TABLE.rules},
        control=by_mechanic.get("control", []),
    )


# ------------------------------------------------------------------ 6. the second generator


@dataclass(frozen=True, kw_only=True)
class FieldBar:
    """The same audit on products of `models.fieldsim`, a generator written independently of
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
    from models import fieldsim

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


# ------------------------------------------------------------------ 7. calibrated confidence


def calibration_holds(table: Reliability) -> bool:
    """The reliability bar: calibration in the large within CALIBRATION_MAX_GAP, and every bin
    of ≥ RELIABILITY_MIN_BIN_CALLS calls covers its mean confidence."""
    return abs(table.in_the_large) <= CALIBRATION_MAX_GAP and all(
        b.covers for b in table.bins if b.calls >= RELIABILITY_MIN_BIN_CALLS
    )


# ------------------------------------------------------------------ 8. scale


@dataclass(frozen=True, kw_only=True)
class ScaleBar:
    users: int
    events: int
    seconds: float
    peak_rss_gb: float


def scale_bar(n_users: int = 100_000, n_events: int = 10_000_000, *, seed: int = 0) -> ScaleBar:
    columns = bulk_events(n_users, n_events, seed=seed)
    start = time.perf_counter()
    analyse(columns, config=AnalysisConfig(), table=DEFAULT_TABLE)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux
    return ScaleBar(users=n_users, events=len(columns), seconds=seconds, peak_rss_gb=rss)


# ------------------------------------------------------------------ command line


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.validate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="the smaller sizes the tests use")
    parser.add_argument("--large", action="store_true", help="also fit 100,000 users / 10M events")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    seed = args.seed
    ok = True
    started = time.perf_counter()

    n_mech = 56 if args.quick else 224
    sb = schedule_bar(n_mech, seed=seed)
    good = sb.accuracy >= SCHEDULE_MIN_ACCURACY and sb.false_slot_machine == 0
    good &= args.quick or sb.mechanics >= SCHEDULE_MIN_MECHANICS
    ok &= good
    print(f"1. Schedule identification ({sb.mechanics} simulated mechanics, 20–200 users each)")
    print(sb.render())
    print(
        f"   accuracy {sb.accuracy:.3f} (bar ≥ {SCHEDULE_MIN_ACCURACY}); other kinds called "
        f"variable_ratio/pity: {sb.false_slot_machine} (bar 0)  {_mark(good)}"
    )
    for err in sb.errors:
        print(f"   miss: {err}")
    sw = schedule_bar(n_mech, seed=seed + 100, window_days=3.0)
    print(
        f"   with an audit window cutting the first 3 days: accuracy {sw.accuracy:.3f}, "
        f"false slot-machine calls {sw.false_slot_machine}"
    )

    n_users = 120 if args.quick else 200
    eb = engagement_bar(n_users, seed=seed)
    good = (
        eb.sign_recovered >= SIGN_MIN_SHARE
        and eb.alpha_spearman >= ALPHA_MIN_SPEARMAN
        and COVERAGE_RANGE[0] <= eb.alpha_coverage <= COVERAGE_RANGE[1]
    )
    ok &= good
    print(f"\n2. Engagement fit ({n_users} simulated users per check)")
    print(
        f"   sign of b_δ recovered (300 responses, |b_δ| ≥ 1): {eb.sign_recovered:.3f} of "
        f"{eb.sign_users} (bar ≥ {SIGN_MIN_SHARE})"
    )
    print(
        f"   Spearman(fitted α, true α) at 1,000 responses: {eb.alpha_spearman:.3f} of "
        f"{eb.alpha_users} (bar ≥ {ALPHA_MIN_SPEARMAN})"
    )
    print(
        f"   95 % profile interval covers true α: {eb.alpha_coverage:.3f} (bar "
        f"{COVERAGE_RANGE[0]}–{COVERAGE_RANGE[1]}); median width {eb.alpha_median_width:.2f}  "
        f"{_mark(good)}"
    )
    print(
        f"   population fit vs maximum likelihood: Spearman b_δ {eb.b_delta_spearman_eb:.3f} vs "
        f"{eb.b_delta_spearman_ml:.3f}, 95 % interval covers b_δ {eb.b_delta_coverage_eb:.3f} vs "
        f"{eb.b_delta_coverage_ml:.3f}; Spearman α {eb.alpha_spearman_eb:.3f} vs "
        f"{eb.alpha_spearman:.3f}, covers α {eb.alpha_coverage_eb:.3f} vs {eb.alpha_coverage:.3f}"
    )

    cb = choice_bar(
        n_users, seed=seed, reference_users=20 if args.quick else 50, sets=3 if args.quick else 10
    )
    good = (
        cb.alpha_spearman >= CHOICE_TARGET_SPEARMAN
        and cb.beta_spearman >= CHOICE_TARGET_SPEARMAN
        and abs(cb.beta_bias) < CHOICE_MAX_BETA_BIAS
        and cb.max_loglik_gap <= CHOICE_MAX_LOGLIK_GAP
    )
    ok &= good
    print(
        f"\n3. Choice fit (two options 0.7/0.3, 200 trials, α ∈ [0.05, 0.8], β ∈ [1, 10] uniform; "
        f"{cb.sets} sets, {cb.users} users; population (empirical-Bayes) posterior modes)"
    )
    print(
        f"   Spearman α {cb.alpha_spearman:.3f} ± {cb.alpha_spearman_se:.3f} (worst set "
        f"{cb.alpha_spearman_worst:.3f}), β {cb.beta_spearman:.3f} ± {cb.beta_spearman_se:.3f} "
        f"(worst {cb.beta_spearman_worst:.3f}): bar, mean over sets ≥ {CHOICE_TARGET_SPEARMAN}; "
        f"β bias {cb.beta_bias:+.2f} (bar |·| < {CHOICE_MAX_BETA_BIAS}); α interval coverage "
        f"{cb.alpha_coverage:.3f}"
    )
    print(
        f"   max |log-likelihood − scipy reference| over {cb.reference_users} users: "
        f"{cb.max_loglik_gap:.2e} (bar ≤ {CHOICE_MAX_LOGLIK_GAP})  {_mark(good)}"
    )

    print("\n4. Markers: hand-worked cases")
    for case in (*MARKER_CASES, DISCOUNT_CASE):
        got = case.compute()
        tol = 1e-9 * max(1.0, abs(case.expected))
        good = abs(got - case.expected) <= tol
        ok &= good
        print(
            f"   {case.marker:22s} {case.case:48s} expected {case.expected:.6g}"
            f"  got {got:.6g}  {_mark(good)}"
        )

    rb = rules_bar(60 if args.quick else 80, seed=seed)
    good = all(rb.fired.values()) and not rb.control
    ok &= good
    print("\n5. Decision table: each rule on its own simulated scenario; the neutral control")
    for rule_id, fired in rb.fired.items():
        print(f"   {rule_id:30s} {'fires' if fired else 'SILENT'}")
    print(
        f"   control (fixed ratio, habituating users): {rb.control or 'no finding'}  {_mark(good)}"
    )

    fb = field_bar(seed, 12 if args.quick else 24, 2 if args.quick else 4)
    good = (
        fb.accuracy >= SCHEDULE_MIN_ACCURACY
        and fb.false_slot_machine == 0
        and fb.night_false == 0
        and fb.chasing_false == 0
        and fb.null_flag_rate <= FIELD_MAX_NULL_FLAG_RATE
    )
    ok &= good
    print(
        f"\n6. The second generator (models.fieldsim, written independently; nothing tuned on "
        f"it): {fb.products} products"
    )
    print(
        f"   schedules {fb.accuracy:.3f} of {fb.mechanics} (bar ≥ {SCHEDULE_MIN_ACCURACY}); "
        f"other kinds called variable_ratio/pity: {fb.false_slot_machine} (bar 0)"
    )
    print(
        f"   night-engagement on products where nobody plays at night: {fb.night_false} of "
        f"{fb.night_products_without} (bar 0); on products with night players and zones sent: "
        f"{fb.night_found} of {fb.night_products_with}"
    )
    print(
        f"   loss-chasing on products without chasers (quitters while ahead present): "
        f"{fb.chasing_false} of {fb.chasing_products_without} (bar 0); with chasers: "
        f"{fb.chasing_found} of {fb.chasing_products_with} fire, "
        f"{fb.chasing_unassessable} not assessable (fixed prices)"
    )
    pu = fb.per_user
    for marker in ("night_play", "loss_chasing"):
        print(
            f"   per-user {marker} over units (user × mechanic): users who have it "
            f"{pu.get(f'{marker}_true_flagged', 0)} flagged of "
            f"{pu.get(f'{marker}_true_tested', 0)} tested; everyone else "
            f"{pu.get(f'{marker}_false_flagged', 0)} flagged of "
            f"{pu.get(f'{marker}_false_tested', 0)} tested"
        )
    flags = ", ".join(f"{k} {fb.null_flagged[k]}/{fb.null_tested[k]}" for k in fb.null_tested)
    print(
        f"   per-user flags on products with no effect (flagged/tested): {flags}; rate "
        f"{fb.null_flag_rate:.4f} (bar ≤ {FIELD_MAX_NULL_FLAG_RATE})  {_mark(good)}"
    )
    for err in fb.errors:
        print(f"   miss: {err}")

    first = reliability(sb.calls + sw.calls)
    second = reliability(fb.calls)
    good = calibration_holds(first) and calibration_holds(second)
    ok &= good
    print(
        "\n7. Reliability of schedule confidence (calibrated on models.synthetic at other seeds; "
        "never on models.fieldsim)"
    )
    print(f"   first generator, seeds {seed} and {seed + 100} (with the audit window):")
    print(first.render("   "))
    print(f"   second generator (models.fieldsim), seed {seed}:")
    print(second.render("   "))
    print(
        f"   bar: |mean confidence − share right| ≤ {CALIBRATION_MAX_GAP}, and every bin with ≥ "
        f"{RELIABILITY_MIN_BIN_CALLS} calls has its Wilson interval over its mean confidence  "
        f"{_mark(good)}"
    )

    if args.large:
        sc = scale_bar(seed=seed)
        print(
            f"\n8. Scale: {sc.users:,} users, {sc.events:,} events analysed in {sc.seconds:.0f} s, "
            f"peak memory {sc.peak_rss_gb:.1f} GB"
        )
    print(f"\nall bars {_mark(ok)} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
