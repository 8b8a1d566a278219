"""Glossary entries of the schedule and its evidence (`models.schedule`)."""

from __future__ import annotations

from models.markers.term import LOG_LR, SHARE_RESPONSES, Term, entry


def _lr(what: str) -> Term:
    return entry(
        f"log-likelihood ratio for a reward hazard that depends on {what}, against a flat one",
        LOG_LR,
        "0 means no evidence; above log(100) ≈ 4.6 the dependence is 100 times likelier; the "
        "schedule call needs 30",
    )


def _step(axis: str) -> Term:
    return entry(
        f"the best step in the reward rate along {axis}: where it cuts (cut), the share of "
        "rewards before the cut (early_share) and the reward rate below and above it",
        "cut in the axis' unit; shares and rates 0–1",
        "a clean step (few rewards before the cut, a rate near 1 after) marks a fixed schedule",
    )


SCHEDULE_TERMS: dict[str, Term] = {
    # ---- the schedule ----------------------------------------------------------------------
    "kind": entry(
        "the reinforcement schedule the mechanic runs",
        "category",
        "variable_ratio and pity are slot-machine schedules (rewards after an unpredictable "
        "number of responses); the others: fixed_ratio, fixed_interval, variable_interval, "
        "continuous, extinction, insufficient_data",
        "text",
    ),
    "confidence": entry(
        "calibrated probability that the schedule call is right",
        "probability, 0–1",
        "above 0.9 the call is reliable; below 0.5 it is no more likely right than wrong",
        "share",
    ),
    "slot_machine_confidence": entry(
        "calibrated probability that the mechanic runs a slot-machine schedule (variable ratio "
        "or pity)",
        "probability, 0–1",
        "the variable-ratio finding needs it at or above its min_confidence",
        "share",
    ),
    "reward_probability": entry(
        "share of responses that earn the valuable outcome",
        SHARE_RESPONSES,
        "near 0.5 a reward is least predictable",
        "share",
    ),
    "mean_ratio": entry(
        "mean number of responses from one reward to the next",
        "responses per reward",
        "how many tries a reward costs on average",
    ),
    "ratio_cv": entry(
        "coefficient of variation of the responses between rewards (sd ÷ mean)",
        "dimensionless",
        "0 for a fixed ratio; about 1 or more for a random one",
    ),
    "mean_interval_s": entry(
        "mean time from one reward to the next",
        "seconds",
        "a day is 86 400 s; an appointment mechanic pays about once a day",
        "duration",
    ),
    "interval_cv": entry(
        "coefficient of variation of the time between rewards (sd ÷ mean)",
        "dimensionless",
        "0 for a strict clock; about 1 for rewards at random times",
    ),
    "magnitude_cv": entry(
        "coefficient of variation of the payouts (sd ÷ mean payout)",
        "dimensionless",
        "at or above 1 payouts vary as widely as a slot machine's pay table",
    ),
    # ---- the schedule's evidence -----------------------------------------------------------
    "calibration_version": entry(
        "version of the map from raw score to calibrated confidence",
        "identifier",
        "the same version gives the same confidence for the same evidence",
        "text",
    ),
    "raw_confidence": entry(
        "the classifier's score before calibration",
        "score, 0–1",
        "read confidence instead; this is kept for audit",
    ),
    "outcome": entry(
        "what counts as a reward for the schedule (any reward, a payout at or above the cost, "
        "or a rare valuable tier)",
        "description",
        "the schedule is the schedule of this outcome",
        "text",
    ),
    "valuable_outcome": entry(
        "what counts as a reward for the schedule (any reward, a payout at or above the cost, "
        "or a rare valuable tier)",
        "description",
        "the schedule is the schedule of this outcome",
        "text",
    ),
    "valuable_outcomes": entry(
        "number of responses that earned the valuable outcome",
        "responses",
        "more outcomes give a firmer schedule call",
        "count",
    ),
    "users": entry(
        "number of users the figure is computed over",
        "users",
        "figures over fewer than about 10 users describe one or two people",
        "count",
    ),
    "responses": entry(
        "number of responses (plays, pulls, claims) of the mechanic",
        "responses",
        "the schedule needs a few hundred to be called",
        "count",
    ),
    "paid_share": entry(
        "share of responses that pay anything",
        SHARE_RESPONSES,
        "how often a response returns something, of any size",
        "share",
    ),
    "cost_share": entry(
        "share of responses that carry a cost (money or a paid currency)",
        SHARE_RESPONSES,
        "above 0 responses cost money, which raises the severity of some findings",
        "share",
    ),
    "magnitude_lottery": entry(
        "whether a rare, valuable payout tier is itself paid on a random schedule",
        "yes/no",
        "yes means the prize on top is a lottery even if small wins are regular",
        "flag",
    ),
    "median_payout": entry(
        "median value of a payout",
        "the product's reward units",
        "the typical size of a win",
    ),
    "ratio_estimate_complete": entry(
        "whether every run of responses ended in a reward within the audit window",
        "yes/no",
        "no means the mean ratio is a lower bound",
        "flag",
    ),
    "interval_estimate_complete": entry(
        "whether every wait ended in a reward within the audit window",
        "yes/no",
        "no means the mean interval is a lower bound",
        "flag",
    ),
    "reward_uncertainty": entry(
        "how unpredictable a reward is: p(1−p) ÷ 0.25 over the reward hazard",
        "dimensionless, 0–1",
        "1 at a reward probability of 0.5 (a coin flip), 0 when rewards are certain or never come",
    ),
    "bonus": entry(
        "a variable bonus paid beside a predictable schedule: its payout threshold, its rate "
        "(share of responses), its share of all value paid, and its own schedule",
        "threshold in reward units; rate and value_share 0–1",
        "a small, free bonus beside a predictable reward is a healthy mix",
        "text",
    ),
    "cost_cap": entry(
        "largest cost of one response that counts in full",
        "the product's currency units",
        "costs above it are capped as implausible",
        "money",
    ),
    "gain_cap": entry(
        "largest reward of one response that counts in full",
        "the product's reward units",
        "rewards above it are capped as implausible",
        "money",
    ),
    "loss_cap": entry(
        "largest loss of one response that counts in full",
        "the product's reward units",
        "losses above it are capped as implausible",
        "money",
    ),
    "reason": entry(
        "why the schedule could not be called",
        "description",
        "the schedule kind is insufficient_data for this reason",
        "text",
    ),
    "responses_deeper_than_100": entry(
        "responses made more than 100 responses after the last reward",
        "responses",
        "many deep runs with no reward suggest extinction",
        "count",
    ),
    "lr_count": _lr("the number of responses since the last reward"),
    "lr_count_after_first": _lr("the response count, after each user's first reward"),
    "lr_count_not_first": _lr("the response count, leaving out each run's first response"),
    "lr_count_in_session": _lr("the response count within a session"),
    "lr_count_in_day": _lr("the response count within a calendar day"),
    "lr_elapsed": _lr("the time since the last reward"),
    "lr_irt": _lr("the time since the previous response"),
    "lr_tenure": _lr("the user's tenure"),
    "lr_tenure_decreasing": _lr("the user's tenure, falling"),
    "lr_count_decreasing": _lr("the response count, falling"),
    "lr_elapsed_decreasing": _lr("the time since the last reward, falling"),
    "lr_irt_decreasing": _lr("the time since the previous response, falling"),
    "loglik_margin_vs_interval": entry(
        "log-likelihood margin of a flat reward hazard over the best interval schedule",
        LOG_LR,
        "above log(100) ≈ 4.6 a random ratio beats a clock 100 to 1",
    ),
    "loglik_margin_interval_vs_constant": entry(
        "log-likelihood margin of the best interval schedule over a flat reward hazard",
        LOG_LR,
        "above log(100) ≈ 4.6 a clock beats a random ratio 100 to 1",
    ),
    "geometric_gof_p": entry(
        "p-value of a flat reward hazard (a geometric run length) against the observed one",
        "probability, 0–1",
        "small values mean the hazard is not flat",
    ),
    "hazard_rise": entry(
        "highest reward hazard ÷ the hazard at the first response",
        "ratio (dimensionless)",
        "a large rise with the count marks a pity timer",
    ),
    "rewards_off_modal_count": entry(
        "rewards paid at a count other than the most common one",
        "rewards",
        "0 for a strict fixed ratio",
        "count",
    ),
    "count_floor": entry(
        "the first response count at which rewards can come, if none come before it",
        "responses",
        "a floor marks a fixed or minimum ratio",
        "count",
    ),
    "p_upper_95": entry(
        "95 % upper bound of the reward probability when no reward was seen",
        "probability, 0–1",
        "rewards are at most this likely",
        "share",
    ),
    "step_axis": entry(
        "the axis along which the reward rate steps most cleanly",
        "category",
        "count: a fixed ratio; elapsed or calendar_day: a fixed interval",
        "text",
    ),
    "step_count": _step("the response count since the last reward"),
    "step_count_after_first": _step("the response count after each user's first reward"),
    "step_count_in_session": _step("the response count within a session"),
    "step_count_in_day": _step("the response count within a calendar day"),
    "step_elapsed": _step("the time since the last reward (cut in seconds)"),
    "step_calendar_day": _step("local calendar days since the last reward"),
    "step_utc_calendar_day": _step("UTC calendar days since the last reward"),
}
