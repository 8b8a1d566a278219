"""The peak of a unit's profile likelihood between grid points: parabolic interpolation in a
bracket, with golden-section steps where the parabola is no use (Brent 1973, ch. 5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit

from models.profile import (
    parabolic_peak,
)

# the search for each unit's profile maximum: at most PEAK_ROUNDS further fits, and a unit
# stops once its next step would move α by less than PEAK_STEP on the logit scale
PEAK_ROUNDS = 4


PEAK_STEP = 1e-3


_GOLDEN = 0.3819660112501051  # (3 − √5)/2, the golden-section fraction


@dataclass(frozen=True, kw_only=True)
class _Peak:
    alpha: NDArray[np.float64]  # (u,) the best α evaluated
    objective: NDArray[np.float64]  # (u,) the profile there
    b: NDArray[np.float64]  # (u, 3) the coefficients there
    points_x: NDArray[np.float64]  # (G + rounds, u) every evaluated logit α, in order
    points_f: NDArray[np.float64]  # (G + rounds, u) the profile at each


def _search_peak(
    profile: NDArray[np.float64],
    bs: NDArray[np.float64],
    grid: NDArray[np.float64],
    fit: Callable[
        [NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]], tuple[NDArray[Any], ...]
    ],
) -> _Peak:
    """Each unit's profile maximum, from the grid's best point, by successive parabolic
    interpolation within a bracket (golden-section steps where the parabola is no use; Brent
    1973, ch. 5), all units a step at a time.

    profile: (G, u) on `grid` (G,); bs: (G, u, 3) the coefficients at each grid point;
    fit(alphas (m,), b (m, 3), units (m,)): the profile fits of those units at those α.
    The bracket is the best grid point's neighbours (the grid's end where the best is an end
    point), so the maximum found is the profile's highest within it, never below the grid's.
    """
    n_grid, u = profile.shape
    units = np.arange(u)
    xs = logit(grid)
    g = np.argmax(profile, axis=0)
    gl, gr = np.maximum(g - 1, 0), np.minimum(g + 1, n_grid - 1)
    xl, xm, xr = xs[gl], xs[g], xs[gr]
    fl, fm, fr = profile[gl, units], profile[g, units], profile[gr, units]
    am = grid[g]
    bm = bs[g, units].copy()
    extra_x = np.tile(xm, (PEAK_ROUNDS, 1))
    extra_f = np.tile(fm, (PEAK_ROUNDS, 1))
    for round_no in range(PEAK_ROUNDS):
        # the vertex of the parabola through the bracket's three points
        dl, dr = xm - xl, xm - xr
        p = dl * dl * (fm - fr) - dr * dr * (fm - fl)
        q = dl * (fm - fr) - dr * (fm - fl)
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = xm - 0.5 * p / q
        interior = (xl < xm) & (xm < xr)
        usable = interior & (q != 0) & (vertex > xl) & (vertex < xr) & np.isfinite(vertex)
        # otherwise a golden-section step into the wider side (from an end point: inward)
        golden = np.where(xr - xm >= xm - xl, xm + _GOLDEN * (xr - xm), xm - _GOLDEN * (xm - xl))
        x_new = np.where(usable, vertex, golden)
        move = np.abs(x_new - xm)
        active = np.flatnonzero((move >= PEAK_STEP) & np.isfinite(x_new))
        if active.size == 0:
            break
        x_new = x_new[active]
        a_new = expit(x_new)
        f_new, _, b_new = fit(a_new, bm[active], active)
        f_new, b_new = f_new[0], b_new[0]
        extra_x[round_no, active] = x_new
        extra_f[round_no, active] = f_new
        # the new bracket: the better of the middle and the new point in the middle
        right = x_new > xm[active]
        up = f_new >= fm[active]
        xa, xla, xra, fma, fla, fra = (
            xm[active],
            xl[active],
            xr[active],
            fm[active],
            fl[active],
            fr[active],
        )
        xl[active] = np.where(up, np.where(right, xa, xla), np.where(right, xla, x_new))
        fl[active] = np.where(up, np.where(right, fma, fla), np.where(right, fla, f_new))
        xr[active] = np.where(up, np.where(right, xra, xa), np.where(right, x_new, xra))
        fr[active] = np.where(up, np.where(right, fra, fma), np.where(right, f_new, fra))
        xm[active] = np.where(up, x_new, xa)
        fm[active] = np.where(up, f_new, fma)
        am[active] = np.where(up, a_new, am[active])
        bm[active] = np.where(up[:, None], b_new, bm[active])
    order_x = np.concatenate([np.tile(xs[:, None], (1, u)), extra_x])
    order_f = np.concatenate([profile, extra_f])
    order = np.argsort(order_x, axis=0, kind="stable")
    return _Peak(
        alpha=am,
        objective=fm,
        b=bm,
        points_x=np.take_along_axis(order_x, order, axis=0),
        points_f=np.take_along_axis(order_f, order, axis=0),
    )


def _peak_value(profile: NDArray[np.float64], xs: NDArray[np.float64]) -> NDArray[np.float64]:
    """(u,) maximum of each grid profile, raised to its parabolic vertex where interior."""
    units = np.arange(profile.shape[1])
    g_best, x_peak = parabolic_peak(profile, xs)
    top = profile[g_best, units]
    inner = np.clip(g_best, 1, profile.shape[0] - 2)
    f_lo, f_mid, f_hi = profile[inner - 1, units], profile[inner, units], profile[inner + 1, units]
    h = float(xs[1] - xs[0])
    curvature = (f_lo - 2.0 * f_mid + f_hi) / (h * h)
    slope = (f_hi - f_lo) / (2.0 * h)
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = f_mid + slope * (x_peak - xs[inner]) + 0.5 * curvature * (x_peak - xs[inner]) ** 2
    return np.where(
        (g_best == inner) & (curvature < 0) & np.isfinite(vertex), np.maximum(vertex, top), top
    )
