"""Population fits at the merge: per mechanic, the choice and engagement models fitted over
all its users at once (empirical Bayes), their per-user posterior columns and summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models import choice as choice_model
from models import engagement
from models.analysis.config import AnalysisConfig, choice_config, engagement_config
from models.analysis.partitions import PartialAnalysis
from models.analysis.summaries import quantiles
from models.analysis.table import UserTable

# the engagement population fit's per-user columns (filled at the merge, NaN before): the
# posterior mode of α and posterior means of b_V and b_δ with their 95 % intervals, and the
# log Bayes factor of the model against no learning
ENGAGEMENT_POPULATION_COLUMNS: tuple[str, ...] = (
    "engagement_alpha_eb", "engagement_alpha_eb_lo", "engagement_alpha_eb_hi",
    "b_v_eb", "b_v_eb_lo", "b_v_eb_hi", "b_delta_eb", "b_delta_eb_lo", "b_delta_eb_hi",
    "engagement_log_bf",
)  # fmt: skip


def engagement_population(
    users: UserTable, parts: Sequence[PartialAnalysis], config: AnalysisConfig
) -> tuple[UserTable, dict[str, engagement.EngagementPopulation]]:
    """Per mechanic, the engagement population fit over all its fitted users (pooled in
    user-id order, whatever the partitions): each user's posterior values and log Bayes factor
    fill the `ENGAGEMENT_POPULATION_COLUMNS`. `users` must be sorted by (mechanic, user_id)."""
    names = sorted({name for p in parts for name in p.engagement})
    if not names or not len(users):
        return users, {}
    cols = {k: np.array(users[k], dtype=np.float64) for k in ENGAGEMENT_POPULATION_COLUMNS}
    mech = users["mechanic"].astype(str)
    uid = users["user_id"].astype(str)
    fitted = users["fit_status"] == engagement.STATUS_NAMES[engagement.FITTED]
    fits: dict[str, engagement.EngagementPopulation] = {}
    for name in names:
        pool = engagement.EngagementGrids.pooled(
            [p.engagement[name] for p in parts if name in p.engagement]
        )
        rows = np.flatnonzero((mech == name) & fitted)
        if not np.array_equal(uid[rows], pool.key.astype(str)):
            raise ValueError(f"engagement grids of mechanic {name!r} do not match its users")
        pop = engagement.fit_population(
            pool, engagement_config(config), engagement.PopulationConfig()
        )
        values = (
            pop.alpha, pop.alpha_lo, pop.alpha_hi, pop.b_v, pop.b_v_lo, pop.b_v_hi,
            pop.b_delta, pop.b_delta_lo, pop.b_delta_hi, pop.log_bf,
        )  # fmt: skip
        for k, v in zip(ENGAGEMENT_POPULATION_COLUMNS, values, strict=True):
            cols[k][rows] = v
        fits[name] = pop
    return users.with_columns(**cols), fits


def engagement_summary(pop: engagement.EngagementPopulation | None) -> dict[str, Any]:
    """The mechanic's engagement population: the prior over (logit α, b₀, b_V, b_δ), the
    users pooled, their posterior b_δ (quantiles of the posterior means, and the shares whose
    interval excludes zero on either side) and the integrated BIC against no learning."""
    if pop is None:
        return {}
    names = ("logit_alpha", "b0", "b_v", "b_delta")
    return {
        "engagement_population": {
            "prior": pop.prior,
            "users": int(pop.log_bf.shape[0]),
            "mean": dict(zip(names, pop.mean.tolist(), strict=True)),
            "sd": dict(zip(names, np.sqrt(pop.var).tolist(), strict=True)),
            "iterations": pop.iterations,
            "converged": pop.converged,
            "b_delta": quantiles(pop.b_delta),
            # users whose 95 % posterior interval of b_δ lies below (above) zero
            "b_delta_negative_share": float(np.mean(pop.b_delta_hi < 0.0)),
            "b_delta_positive_share": float(np.mean(pop.b_delta_lo > 0.0)),
            "ibic": pop.ibic,
            "ibic_no_learning": pop.ibic_null,
            "ibic_delta": pop.ibic - pop.ibic_null,
            "preferred": "learning" if pop.ibic < pop.ibic_null else "no_learning",
        }
    }


def choice_population(
    users: UserTable, parts: Sequence[PartialAnalysis], config: AnalysisConfig
) -> tuple[UserTable, dict[str, choice_model.PopulationFit]]:
    """Per mechanic, the population fit over all its fitted choice users (pooled in user-id
    order, whatever the partitions), whose posterior modes and intervals replace the users'
    maximum-likelihood α and β. `users` must be sorted by (mechanic, user_id)."""
    names = sorted({name for p in parts for name in p.choice})
    if not names or not len(users):
        return users, {}
    keys = ("choice_alpha", "choice_alpha_lo", "choice_alpha_hi", "beta", "beta_lo", "beta_hi")
    cols = {k: np.array(users[k], dtype=np.float64) for k in keys}
    mech = users["mechanic"].astype(str)
    uid = users["user_id"].astype(str)
    fitted = users["choice_status"] == choice_model.STATUS_NAMES[choice_model.FITTED]
    fits: dict[str, choice_model.PopulationFit] = {}
    for name in names:
        pool = choice_model.ChoiceGrids.pooled([p.choice[name] for p in parts if name in p.choice])
        rows = np.flatnonzero((mech == name) & fitted)
        if not np.array_equal(uid[rows], pool.key.astype(str)):
            raise ValueError(f"choice grids of mechanic {name!r} do not match its users")
        pop = choice_model.fit_population(pool, choice_config(config))
        for k, v in zip(
            keys,
            (pop.alpha, pop.alpha_lo, pop.alpha_hi, pop.beta, pop.beta_lo, pop.beta_hi),
            strict=True,
        ):
            cols[k][rows] = v
        fits[name] = pop
    return users.with_columns(**cols), fits


def choice_summary(pop: choice_model.PopulationFit | None) -> dict[str, Any]:
    """The mechanic's choice population: the prior over (logit α, log β) and model comparison."""
    if pop is None:
        return {}
    bics = {"learning": pop.ibic, "fixed_preference": pop.bic_preference, "random": pop.bic_random}
    return {
        "choice_population": {
            "prior": pop.prior,
            "mean": {"logit_alpha": float(pop.mean[0]), "log_beta": float(pop.mean[1])},
            "cov": pop.cov.tolist(),
            "em_iterations": pop.iterations,
            "em_converged": pop.converged,
            "ibic": pop.ibic,
            "bic_fixed_preference": pop.bic_preference,
            "bic_random": pop.bic_random,
            "preferred": min(bics, key=lambda k: bics[k]),
        }
    }
