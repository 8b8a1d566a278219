"""The choice model's settings and the per-unit result of its fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FITTED, INSUFFICIENT_DATA, NO_VARIATION = 0, 1, 2


STATUS_NAMES: tuple[str, ...] = ("fitted", "insufficient_data", "no_variation")


@dataclass(frozen=True, kw_only=True)
class ChoiceConfig:
    """Hyperparameters of the choice fit.

    alpha_grid, alpha_min, alpha_max: logit grid for the α profile
    beta_max:   upper bound of β (hBayesDM bounds τ to [0, 5] for 0/1 outcomes; products'
                outcomes are rescaled to unit size, and 50 leaves room for near-greedy users)
    v0:         initial value of every option (hBayesDM: 0)
    iterations: maximum refinement iterations
    tolerance:  convergence threshold on the parameter step
    grid_points: points per axis of the (logit α, log β) grid of the population fit; the
                grid spans logit(alpha_min)..logit(alpha_max) and log(beta_min)..log(beta_max)
    em_iterations, em_tolerance: cap on EM updates and threshold on the change of μ and Σ
    min_population: fewer fitted units than this → a fixed broad prior instead of EM
    """

    alpha_grid: int = 25
    alpha_min: float = 0.01
    alpha_max: float = 0.99
    beta_max: float = 50.0
    v0: float = 0.0
    iterations: int = 60
    tolerance: float = 1e-9
    grid_points: int = 25
    beta_min: float = 0.05
    em_iterations: int = 500
    em_tolerance: float = 1e-6
    min_population: int = 10


@dataclass(frozen=True, kw_only=True)
class ChoiceFit:
    """Per-unit results, (u,) arrays; NaN where not fitted.

    status:     FITTED, INSUFFICIENT_DATA or NO_VARIATION (one option only)
    n_choices:  choice trials; alpha, alpha_lo, alpha_hi: α and its 95 % profile interval
    beta:       inverse temperature; loglik: maximised log-likelihood
    loglik_null: log-likelihood of uniformly random choice (β = 0): −n·log K
    loglik_pref: maximised log-likelihood of a fixed preference (no learning): Σₖ nₖ·log(nₖ/n)
    grid:       (u, G, G) float32 log-likelihood on the `grid_axes` grid minus `loglik`
    """

    status: NDArray[np.int8]
    n_choices: NDArray[np.int64]
    alpha: NDArray[np.float64]
    alpha_lo: NDArray[np.float64]
    alpha_hi: NDArray[np.float64]
    beta: NDArray[np.float64]
    loglik: NDArray[np.float64]
    loglik_null: NDArray[np.float64]
    loglik_pref: NDArray[np.float64]
    grid: NDArray[np.float32]
