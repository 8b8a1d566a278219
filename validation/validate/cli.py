"""Validation against simulated ground truth: the science bars, measured and printed.

    python -m validation.validate            # every bar at full size (a few minutes on 2 cores)
    python -m validation.validate --quick    # the same bars at the sizes the tests use
    python -m validation.validate --large    # also the 100,000-user / 10-million-event run

Each bar is a function returning its figures, so the test suite asserts the same code at a
smaller size (Wilson & Collins 2019, rules 3, 5 and 6: simulate; check that parameters can be
recovered; check that models can be told apart).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from models.calibration import reliability
from validation.validate.choice import (
    CHOICE_MAX_BETA_BIAS,
    CHOICE_MAX_LOGLIK_GAP,
    CHOICE_TARGET_SPEARMAN,
    choice_bar,
)
from validation.validate.engagement import (
    ALPHA_MIN_SPEARMAN,
    COVERAGE_RANGE,
    SIGN_MIN_SHARE,
    engagement_bar,
)
from validation.validate.field import FIELD_MAX_NULL_FLAG_RATE, field_bar
from validation.validate.markers import DISCOUNT_CASE, MARKER_CASES
from validation.validate.reliability import (
    CALIBRATION_MAX_GAP,
    RELIABILITY_MIN_BIN_CALLS,
    calibration_holds,
)
from validation.validate.rules import rules_bar
from validation.validate.scale import scale_bar
from validation.validate.schedules import (
    SCHEDULE_MIN_ACCURACY,
    SCHEDULE_MIN_MECHANICS,
    schedule_bar,
)


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m validation.validate", description=__doc__.split("\n")[0]
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
        f"\n6. The second generator (validation.fieldsim, written independently; nothing tuned on "
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
        "never on validation.fieldsim)"
    )
    print(f"   first generator, seeds {seed} and {seed + 100} (with the audit window):")
    print(first.render("   "))
    print(f"   second generator (validation.fieldsim), seed {seed}:")
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
