"""Bar 2: recovery of the engagement model's parameters on simulated users."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from models.analysis import AnalysisConfig, analyse
from models.rules import DEFAULT_TABLE
from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    SimulatedProduct,
    simulate_product,
)
from validation.validate.schedules import _truth_index

SIGN_MIN_SHARE = 0.95


ALPHA_MIN_SPEARMAN = 0.6


COVERAGE_RANGE = (0.85, 0.99)


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
    analysis = analyse(product.events, config=config, table=DEFAULT_TABLE)
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
    analysis = analyse(product.events, config=config, table=DEFAULT_TABLE)
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
