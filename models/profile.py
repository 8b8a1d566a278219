"""Profile-likelihood intervals for a learning rate fitted on a grid.

Both per-user fits (engagement and choice) maximise the other parameters at each α of a grid
shared by all units, which gives each unit's profile log-likelihood ℓ(α). The 95 % interval is
{α : ℓ(α) ≥ ℓ̂ − χ²₁(0.95)/2} (Venzon & Moolgavkar 1988; Pawitan 2001 §2.6); where the profile
never falls that far on one side, α is not identified there and the interval runs to the end of
the grid (Wilson & Collins 2019, rule 5: check that you can recover your parameters).
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit
from scipy.stats import chi2

PROFILE_DROP_95 = float(chi2.ppf(0.95, 1)) / 2.0  # 1.92: half the χ²₁ 95 % quantile


def alpha_grid(size: int, lo: float, hi: float) -> NDArray[np.float64]:
    """(size,) learning rates evenly spaced on the logit scale between lo and hi."""
    return np.asarray(expit(np.linspace(logit(lo), logit(hi), size)), dtype=np.float64)


def parabolic_peak(
    profile: NDArray[np.float64], xs: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Best grid index (u,) and a refined peak location (u,) on the even grid xs (G,).

    The refined point is the vertex of the parabola through the best grid point and its two
    neighbours, kept within one grid step; at the grid's ends it is the end point.
    profile: (G, u).
    """
    n_grid, u = profile.shape
    units = np.arange(u)
    best = np.argmax(profile, axis=0)
    if n_grid < 3:
        return best, xs[best]
    inner = np.clip(best, 1, n_grid - 2)
    f_lo, f_mid, f_hi = profile[inner - 1, units], profile[inner, units], profile[inner + 1, units]
    h = float(xs[1] - xs[0])
    curvature = f_lo - 2.0 * f_mid + f_hi
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, 0.5 * h * (f_lo - f_hi) / curvature, 0.0)
    offset = np.where(np.isfinite(offset), np.clip(offset, -h, h), 0.0)
    return best, np.where(best == inner, xs[inner] + offset, xs[best])


def profile_interval(
    profile: NDArray[np.float64], xs: NDArray[np.float64], best: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Hull (lo, hi) on the xs scale of {x : profile(x) ≥ best − 1.92}, with linear
    interpolation to the threshold crossings; the first or last point where there is no
    crossing.

    profile: (G, u) at the points xs, (G,) shared by all units or (G, u) each unit's own, in
    increasing order along the first axis; best: (u,) the maximum, at least every value.
    """
    n_grid, u = profile.shape
    units = np.arange(u)
    x = np.broadcast_to(xs[:, None] if xs.ndim == 1 else xs, profile.shape)
    threshold = best - PROFILE_DROP_95
    inside = profile >= threshold[None, :]
    any_inside = inside.any(axis=0)
    first = np.where(any_inside, np.argmax(inside, axis=0), np.argmax(profile, axis=0))
    last = np.where(any_inside, n_grid - 1 - np.argmax(inside[::-1], axis=0), first)

    def crossing(i_in: NDArray[np.int64], i_out: NDArray[np.int64]) -> NDArray[np.float64]:
        f_in, f_out = profile[i_in, units], profile[i_out, units]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.clip((f_in - threshold) / (f_in - f_out), 0.0, 1.0)
        frac = np.where(np.isfinite(frac), frac, 0.0)
        x_in, x_out = x[i_in, units], x[i_out, units]
        return np.asarray(x_in + frac * (x_out - x_in), dtype=np.float64)

    lo = np.where(first > 0, crossing(first, np.maximum(first - 1, 0)), x[0])
    hi = np.where(last < n_grid - 1, crossing(last, np.minimum(last + 1, n_grid - 1)), x[-1])
    return lo, hi


def quantiles_on_cells(
    mass: NDArray[np.float64], xs: NDArray[np.float64], qs: tuple[float, float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Quantiles (n,) of (n, G) masses spread evenly over the cells around the grid points."""
    h = xs[1] - xs[0]
    cdf = np.cumsum(mass, axis=1)
    cdf /= cdf[:, -1:]
    before = np.concatenate([np.zeros((mass.shape[0], 1)), cdf[:, :-1]], axis=1)
    out = []
    for q in qs:
        k = np.minimum((cdf < q).sum(axis=1), xs.shape[0] - 1)[:, None]
        lo_c = np.take_along_axis(before, k, axis=1)[:, 0]
        width = np.take_along_axis(cdf, k, axis=1)[:, 0] - lo_c
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(width > 0, (q - lo_c) / width, 0.5)
        out.append(xs[k[:, 0]] - h / 2.0 + np.clip(frac, 0.0, 1.0) * h)
    return out[0], out[1]


class UnitGrids:
    """Per-unit arrays a partition keeps for a population fit at the merge (a dataclass whose
    fields are all row-aligned arrays, one of them `key`, the unit's identity)."""

    key: NDArray[Any]

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Self:
        """The units at `index` (a mask or positions)."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})  # type: ignore[type-var,arg-type]

    @classmethod
    def pooled(cls, pieces: list[Self]) -> Self:
        """The pieces' units together, in the canonical order of their keys (as strings), so
        the pool does not depend on how the units were partitioned."""
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        cat = cls(**{n: np.concatenate([getattr(p, n) for p in pieces]) for n in names})
        return cat.take(np.argsort(cat.key.astype(str), kind="stable"))
