"""What a partition keeps per fitted unit for the engagement population fit, and that fit's
settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.engagement.unit_fit import FITTED, EngagementFit
from models.profile import (
    UnitGrids,
)


@dataclass(frozen=True, kw_only=True)
class PopulationConfig:
    """Hyperparameters of the engagement population fit.

    iterations, tolerance: cap on quasi-Newton iterations of the prior's fit and threshold on
                 the largest gradient component of the mean log marginal likelihood per unit
    min_population: fewer fitted units than this → a fixed broad prior instead of a fitted one
    default_sd:  the broad prior's SD of b₀, b_V and b_δ (its logit α: a quarter of the grid)
    """

    iterations: int = 200
    tolerance: float = 1e-7
    min_population: int = 10
    default_sd: float = 3.0


@dataclass(frozen=True, kw_only=True)
class EngagementGrids(UnitGrids):
    """The fitted units of one mechanic, as a partition hands them to the merge.

    key: (n,) the unit's user id; objective (n, G), b (n, G, 3), hessian (n, G, 6): the fit at
    each α of the grid (`EngagementFit.grid_objective`, `grid_b`, `grid_hessian`); n_obs,
    n_continued: (n,) observed decisions and continues (the null's sufficient statistics).
    """

    key: NDArray[np.object_]
    objective: NDArray[np.float64]
    b: NDArray[np.float64]
    hessian: NDArray[np.float64]
    n_obs: NDArray[np.int64]
    n_continued: NDArray[np.int64]

    @staticmethod
    def of(fit: EngagementFit, key: NDArray[np.object_]) -> EngagementGrids:
        """The fitted units of `fit`, with their keys `key` (u,)."""
        ok = fit.status == FITTED
        return EngagementGrids(
            key=np.asarray(key, dtype=object)[ok],
            objective=fit.grid_objective[ok],
            b=fit.grid_b[ok],
            hessian=fit.grid_hessian[ok],
            n_obs=fit.n_obs[ok],
            n_continued=fit.n_continued[ok],
        )
