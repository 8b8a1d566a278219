"""Classifying one set of outcome tables into a schedule kind, with a raw confidence and the
evidence for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2

from models.schedule.evidence import (
    _binom_ll,
    _const_ll,
    _isotonic,
    _monotone_lrs,
    _poisson_interval_ll,
    _Step,
    _step,
    _within_lrs,
)
from models.schedule.life_tables import OutcomeTables
from models.schedule.states import N_TIME, time_bin_lower

# ---- decision thresholds: each with its rationale and reference
# below this no hazard is estimable to ±0.1 (threshold chosen by us; discrete-time hazards as in
# Allison 1982, which sets no minimum)
MIN_SCHEDULE_RESPONSES = 50


# 0 valuable outcomes in 300 responses bounds p below 1 % (rule of three; Hanley 1983)
EXTINCTION_MIN_RESPONSES = 300


# … and unpaid runs must reach 100 responses: a leaner ratio is extinction in effect (ratio
# strain, described by Ferster & Skinner 1957; the depth of 100 is ours); shorter runs may hide
# an unseen fixed ratio
EXTINCTION_MIN_DEPTH = 100


# ≥ 95 % of responses reinforced counts as continuous reinforcement (every response is
# reinforced in Ferster & Skinner 1957; the 5 % tolerance is ours)
CONTINUOUS_MIN_RATE = 0.95


# fixed schedules pay (almost) never before their step and (almost) always at it
STEP_MAX_EARLY_SHARE = 0.02


STEP_MIN_UPPER_RATE = 0.9


# isotonic likelihood ratio beyond the chi-bar-squared tail (≈1e-4 for ≤ 256 ordered states;
# Robertson, Wright & Dykstra 1988 ch. 2); calibrated on the flat hazards of the benchmark
DEPENDENCE_MIN_LR = 30.0


# one state variable must explain the hazard e^5 ≈ 150 times better than the other
DEPENDENCE_MARGIN = 10.0


# fewer valuable outcomes than this cannot exclude an interval schedule
VR_MIN_WINS = 10


# a flat hazard must beat the best interval schedule by a likelihood ratio ≥ 100, above the
# benchmark of 32 that Royall (1997) calls strong evidence (threshold chosen by us): a false
# slot-machine call is the worst error of this product
VR_MIN_EVIDENCE = float(np.log(100.0))


# a guarantee must at least double the base hazard to matter
PITY_MIN_RISE = 2.0


# pity pays at varying counts; a fixed ratio (even with too few rewards for a clean step) pays
# at one count only, so pity needs ≥ 3 rewards away from the modal count, counted after a first
# reward (immune to runs cut by the audit window)
PITY_MIN_OFF_MODE_WINS = 3


# pity pays at a positive base rate from the first response; a fixed ratio whose count restarts
# (each session, each day) never pays below n responses since the last reward. A "floor" — no
# reward below the first paying count although a tenth of that count's hazard would have
# produced ≥ 5 there (P(none) < 1 %) — rules pity out (measured after a first reward)
FLOOR_FRACTION = 0.1


FLOOR_MIN_EXPECTED = 5.0


@dataclass(frozen=True, slots=True)
class _Call:
    """A call and its raw score: the step's purity for fixed schedules, the paid share for
    continuous, 1 − the 95 % upper bound of p for extinction, the logistic of the log-likelihood
    margin for pity, variable interval and variable ratio, 0 for insufficient_data. Scores of
    different kinds are on different scales; `models.calibration` turns them into the
    probability that the call is right."""

    kind: str
    raw_confidence: float
    uncertainty: float
    evidence: dict[str, Any]
    dependence: float = 0.0  # largest likelihood-ratio statistic of any hazard dependence


def _logistic_score(margin: float) -> float:
    """Posterior probability of the winning explanation against the runner-up at even prior
    odds, from their log-likelihood margin."""
    return float(1.0 / (1.0 + np.exp(-min(max(margin, -50.0), 50.0))))


def _uncertainty(rates: NDArray[np.float64], n: NDArray[np.int64]) -> float:
    nf = n.astype(np.float64)
    ok = (nf > 0) & np.isfinite(rates)
    if not ok.any():
        return float("nan")
    return float((nf[ok] * rates[ok] * (1.0 - rates[ok])).sum() / nf[ok].sum() / 0.25)


def _fixed_step(tables: OutcomeTables, ev: dict[str, Any]) -> _Call | None:
    """A clean step in count (fixed ratio) or in time or calendar days (fixed interval).

    The count step is also tried on responses after a unit's first valuable outcome only, so a
    fixed ratio whose first run was cut by the start of the audit window is still recognised.
    """
    candidates = [
        ("fixed_ratio", "count", _step(tables.count_w, tables.count_n, straddle=False)),
        ("fixed_ratio", "count_after_first", _step(tables.after_w, tables.after_n, straddle=False)),
        (
            "fixed_ratio",
            "count_in_session",
            _step(tables.session_w, tables.session_n, straddle=False),
        ),
        ("fixed_ratio", "count_in_day", _step(tables.daily_w, tables.daily_n, straddle=False)),
        (
            "fixed_interval",
            "elapsed",
            _step(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME], straddle=True),
        ),
        (
            "fixed_interval",
            "calendar_day",
            _step(tables.day_w[:3], tables.day_n[:3], straddle=False),
        ),
        (
            "fixed_interval",
            "utc_calendar_day",
            _step(tables.utc_day_w[:3], tables.utc_day_n[:3], straddle=False),
        ),
    ]
    clean: list[tuple[str, str, _Step]] = []
    for kind, axis, st in candidates:
        if st is None:
            continue
        cut: float = float(st.cut + 1) if kind == "fixed_ratio" else float(st.cut)
        if axis == "elapsed":
            cut = time_bin_lower(st.cut)
        ev[f"step_{axis}"] = {
            "cut": cut,
            "early_share": st.early_share,
            "lower_rate": st.lower_rate,
            "upper_rate": st.upper_rate,
        }
        if st.early_share <= STEP_MAX_EARLY_SHARE and st.upper_rate >= STEP_MIN_UPPER_RATE:
            clean.append((kind, axis, st))
    if not clean:
        return None
    kind, axis, st = max(clean, key=lambda c: (c[2].purity, c[2].loglik))
    ev["step_axis"] = axis
    rates = np.array([st.lower_rate, st.upper_rate])
    return _Call(kind, st.purity, float((rates * (1 - rates)).max() / 0.25), ev)


def _count_floor(w: NDArray[np.int64], n: NDArray[np.int64]) -> int | None:
    """The first paying count k if the hazard is zero below it with enough evidence, else None."""
    paying = np.flatnonzero(w > 0)
    if paying.size == 0 or paying[0] == 0:
        return None
    c = int(paying[0])
    expected = FLOOR_FRACTION * (w[c] / n[c]) * n[:c].sum()
    return c + 1 if expected >= FLOOR_MIN_EXPECTED else None


def classify(tables: OutcomeTables) -> _Call:
    """Decide the schedule kind from one outcome definition's life tables.

    In order (each threshold is a named constant above):
    1. too few responses → insufficient_data;
    2. nothing valuable: extinction when the runs were long and many enough;
    3. almost everything valuable → continuous;
    4. a clean step in count or time → fixed ratio / fixed interval;
    5. the hazard rises with the count since the last reward, and count explains it better than
       elapsed or inter-response time → pity; rises with time and time explains it better →
       variable interval;
    6. no dependence at all (count since the last reward, in the session or in the day, time,
       tenure) *and* the best interval schedule is rejected
       by a likelihood ratio ≥ 100 → variable ratio;
    7. anything else is ambiguous → insufficient_data: never a guess.
    """
    n, w = tables.responses, tables.wins
    p = w / n if n else float("nan")
    ev: dict[str, Any] = {"responses": n, "valuable_outcomes": w}
    if n < MIN_SCHEDULE_RESPONSES:
        ev["reason"] = f"fewer than {MIN_SCHEDULE_RESPONSES} responses"
        return _Call("insufficient_data", 0.0, float("nan"), ev)
    if w == 0:
        depth = int(tables.count_n[EXTINCTION_MIN_DEPTH - 1 :].sum())
        ev["responses_deeper_than_100"] = depth
        if n >= EXTINCTION_MIN_RESPONSES and depth > 0:
            upper = 1.0 - 0.05 ** (1.0 / n)
            ev["p_upper_95"] = upper
            return _Call("extinction", 1.0 - upper, 0.0, ev)
        ev["reason"] = "no valuable outcome, but too few or too short runs to call extinction"
        return _Call("insufficient_data", 0.0, 0.0, ev)
    const_unc = p * (1.0 - p) / 0.25
    if p >= CONTINUOUS_MIN_RATE:
        return _Call("continuous", p, const_unc, ev)
    fixed = _fixed_step(tables, ev)
    if fixed is not None:
        return fixed

    # hazard dependence on each state variable (likelihood ratios of monotone fits)
    iso_k, _ = _isotonic(tables.count_w, tables.count_n)
    lr_count, lr_count_down = _monotone_lrs(tables.count_w, tables.count_n)
    lr_k_after, _ = _monotone_lrs(tables.after_w, tables.after_n)
    iso_e, _ = _isotonic(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME])
    lr_e, lr_e_down = _monotone_lrs(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME])
    # the count table without units' first responses (which have no inter-response time)
    kn, kw = tables.count_n.copy(), tables.count_w.copy()
    kn[0] -= tables.first_n[0]
    kw[0] -= tables.first_w[0]
    lr_k_not_first, _ = _monotone_lrs(kw, kn)
    iso_tau, _ = _isotonic(tables.irt_w[:N_TIME], tables.irt_n[:N_TIME])
    lr_tau, lr_tau_down = _monotone_lrs(tables.irt_w[:N_TIME], tables.irt_n[:N_TIME])
    lr_tenure, lr_tenure_down = _monotone_lrs(tables.tenure_w, tables.tenure_n)
    # the counts that restart with each session or local day: a fixed ratio that restarts
    # there (whose clean step an audit window can blur by cutting a session in two) has a
    # hazard that rises along them, however flat it looks since the last reward
    lr_session, _ = _monotone_lrs(tables.session_w, tables.session_n)
    lr_daily, _ = _monotone_lrs(tables.daily_w, tables.daily_n)
    # between-user differences (personalised odds, survivorship) can fake a dependence on
    # tempo or tenure; such a dependence must also hold within users
    lr_tau_within, _ = _within_lrs(tables.irt_w[:N_TIME], tables.irt_x[:N_TIME])
    lr_ten_within, lr_ten_within_down = _within_lrs(tables.tenure_w, tables.tenure_x)
    lr_tau = min(lr_tau, lr_tau_within)
    lr_tenure = min(lr_tenure, lr_ten_within)
    lr_tenure_down = min(lr_tenure_down, lr_ten_within_down)
    # strength of evidence against a Poisson interval schedule, in τ and in elapsed time
    margin_tau = _const_ll(tables.irt_w[:N_TIME], tables.irt_n[:N_TIME]) - _poisson_interval_ll(
        tables.irt_w, tables.irt_n
    )
    margin_e = (
        _const_ll(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME])
        - _poisson_interval_ll(tables.elapsed_w, tables.elapsed_n)
        if tables.elapsed_w[:N_TIME].sum()
        else float("inf")
    )
    against_interval = min(margin_tau, margin_e)
    nonzero = tables.count_n > 0
    saturated = _binom_ll(
        tables.count_w[nonzero].astype(np.float64),
        tables.count_n[nonzero].astype(np.float64),
        tables.count_w[nonzero] / tables.count_n[nonzero],
    )
    gof_stat = 2.0 * (saturated - _const_ll(tables.count_w, tables.count_n))
    base = float(iso_k[np.flatnonzero(nonzero)[0]])
    rise = float(np.nanmax(iso_k)) / base if base > 0 else float("inf")
    ev |= {
        "lr_count": lr_count,
        "lr_count_after_first": lr_k_after,
        "lr_count_not_first": lr_k_not_first,
        "lr_elapsed": lr_e,
        "lr_irt": lr_tau,
        "lr_tenure": lr_tenure,
        "lr_count_in_session": lr_session,
        "lr_count_in_day": lr_daily,
        "lr_tenure_decreasing": lr_tenure_down,
        "lr_count_decreasing": lr_count_down,
        "lr_elapsed_decreasing": lr_e_down,
        "lr_irt_decreasing": lr_tau_down,
        "loglik_margin_vs_interval": against_interval,
        "geometric_gof_p": float(chi2.sf(gof_stat, max(int(nonzero.sum()) - 1, 1))),
        "hazard_rise": rise if np.isfinite(rise) else None,
    }
    no_after = tables.after_w.sum() == 0
    count_beats_time = (no_after or lr_k_after - lr_e >= DEPENDENCE_MARGIN) and (
        lr_k_not_first - lr_tau >= DEPENDENCE_MARGIN
    )
    time_lr = max(lr_e, lr_tau)
    time_beats_count = (lr_e - lr_k_after >= DEPENDENCE_MARGIN) or (
        lr_tau - lr_k_not_first >= DEPENDENCE_MARGIN
    )
    # decreasing count or time hazards are reported but do not veto a variable ratio: users with
    # different (e.g. personalised) odds pool into a falling hazard (frailty; Vaupel et al. 1979)
    dependence = max(lr_count, time_lr, lr_tenure, lr_tenure_down, lr_session, lr_daily)

    off_mode = int(tables.after_w.sum() - tables.after_w.max())
    floor = _count_floor(tables.after_w, tables.after_n)
    ev["rewards_off_modal_count"] = off_mode
    ev["count_floor"] = floor
    if (
        lr_count >= DEPENDENCE_MIN_LR
        and count_beats_time
        and rise >= PITY_MIN_RISE
        and off_mode >= PITY_MIN_OFF_MODE_WINS
        and floor is None
    ):
        margin = 0.5 * min(np.inf if no_after else lr_k_after - lr_e, lr_k_not_first - lr_tau)
        unc = _uncertainty(iso_k, tables.count_n)
        return _Call("pity", _logistic_score(margin), unc, ev, dependence)
    # an interval call needs, beside a monotone dependence on time, an interval schedule that
    # beats a constant hazard by the same strong evidence a variable ratio needs against it:
    # bursty human tempo makes isotonic fits over many time bins cross DEPENDENCE_MIN_LR by
    # chance now and then, but never makes a slot machine look like 1 − exp(−λτ)
    for_interval = -against_interval
    ev["loglik_margin_interval_vs_constant"] = for_interval
    if time_lr >= DEPENDENCE_MIN_LR and time_beats_count and for_interval >= VR_MIN_EVIDENCE:
        margin = 0.5 * max(lr_e - lr_k_after, lr_tau - lr_k_not_first)
        if lr_tau >= lr_e:
            unc = _uncertainty(iso_tau, tables.irt_n[:N_TIME])
        else:
            unc = _uncertainty(iso_e, tables.elapsed_n[:N_TIME])
        return _Call("variable_interval", _logistic_score(margin), unc, ev, dependence)
    if dependence < DEPENDENCE_MIN_LR and w >= VR_MIN_WINS and against_interval >= VR_MIN_EVIDENCE:
        margin = min(against_interval, 0.5 * (DEPENDENCE_MIN_LR - dependence))
        return _Call("variable_ratio", _logistic_score(margin), const_unc, ev, dependence)
    ev["reason"] = "ambiguous: neither a flat hazard nor a count or time dependence is established"
    return _Call("insufficient_data", 0.0, const_unc, ev, dependence)
