"""What every figure a report shows means: per name, a plain-language definition, its unit, how
to read it, and how to show it to people (`display`: a share as %, seconds as a duration, …).

One definition of each name: the rules take a criterion's unit from here, the report carries
the entries it uses (`report_glossary`), and HTML and Markdown render from that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Display = Literal["share", "duration", "count", "number", "flag", "text", "money"]


@dataclass(frozen=True, slots=True)
class Term:
    """definition: what the figure is, in a phrase; unit: what it is measured in; reading: how
    to read it; display: how to format it for people."""

    definition: str
    unit: str
    reading: str
    display: Display

    def as_dict(self) -> dict[str, str]:
        return {
            "definition": self.definition,
            "unit": self.unit,
            "reading": self.reading,
            "display": self.display,
        }


_SHARE_USERS = "share of users, 0–1"
_SHARE_RESPONSES = "share of responses, 0–1"
_LOG_CHANGE = "log change (natural log of last ÷ first)"
_LOG_LR = "natural-log likelihood ratio"


def _t(definition: str, unit: str, reading: str, display: Display = "number") -> Term:
    return Term(definition=definition, unit=unit, reading=reading, display=display)


def _lr(what: str) -> Term:
    return _t(
        f"log-likelihood ratio for a reward hazard that depends on {what}, against a flat one",
        _LOG_LR,
        "0 means no evidence; above log(100) ≈ 4.6 the dependence is 100 times likelier; the "
        "schedule call needs 30",
    )


def _step(axis: str) -> Term:
    return _t(
        f"the best step in the reward rate along {axis}: where it cuts (cut), the share of "
        "rewards before the cut (early_share) and the reward rate below and above it",
        "cut in the axis' unit; shares and rates 0–1",
        "a clean step (few rewards before the cut, a rate near 1 after) marks a fixed schedule",
    )


GLOSSARY: dict[str, Term] = {
    # ---- the schedule ----------------------------------------------------------------------
    "kind": _t(
        "the reinforcement schedule the mechanic runs",
        "category",
        "variable_ratio and pity are slot-machine schedules (rewards after an unpredictable "
        "number of responses); the others: fixed_ratio, fixed_interval, variable_interval, "
        "continuous, extinction, insufficient_data",
        "text",
    ),
    "confidence": _t(
        "calibrated probability that the schedule call is right",
        "probability, 0–1",
        "above 0.9 the call is reliable; below 0.5 it is no more likely right than wrong",
        "share",
    ),
    "slot_machine_confidence": _t(
        "calibrated probability that the mechanic runs a slot-machine schedule (variable ratio "
        "or pity)",
        "probability, 0–1",
        "the variable-ratio finding needs it at or above its min_confidence",
        "share",
    ),
    "reward_probability": _t(
        "share of responses that earn the valuable outcome",
        _SHARE_RESPONSES,
        "near 0.5 a reward is least predictable",
        "share",
    ),
    "mean_ratio": _t(
        "mean number of responses from one reward to the next",
        "responses per reward",
        "how many tries a reward costs on average",
    ),
    "ratio_cv": _t(
        "coefficient of variation of the responses between rewards (sd ÷ mean)",
        "dimensionless",
        "0 for a fixed ratio; about 1 or more for a random one",
    ),
    "mean_interval_s": _t(
        "mean time from one reward to the next",
        "seconds",
        "a day is 86 400 s; an appointment mechanic pays about once a day",
        "duration",
    ),
    "interval_cv": _t(
        "coefficient of variation of the time between rewards (sd ÷ mean)",
        "dimensionless",
        "0 for a strict clock; about 1 for rewards at random times",
    ),
    "magnitude_cv": _t(
        "coefficient of variation of the payouts (sd ÷ mean payout)",
        "dimensionless",
        "at or above 1 payouts vary as widely as a slot machine's pay table",
    ),
    # ---- the schedule's evidence -----------------------------------------------------------
    "calibration_version": _t(
        "version of the map from raw score to calibrated confidence",
        "identifier",
        "the same version gives the same confidence for the same evidence",
        "text",
    ),
    "raw_confidence": _t(
        "the classifier's score before calibration",
        "score, 0–1",
        "read confidence instead; this is kept for audit",
    ),
    "outcome": _t(
        "what counts as a reward for the schedule (any reward, a payout at or above the cost, "
        "or a rare valuable tier)",
        "description",
        "the schedule is the schedule of this outcome",
        "text",
    ),
    "valuable_outcome": _t(
        "what counts as a reward for the schedule (any reward, a payout at or above the cost, "
        "or a rare valuable tier)",
        "description",
        "the schedule is the schedule of this outcome",
        "text",
    ),
    "valuable_outcomes": _t(
        "number of responses that earned the valuable outcome",
        "responses",
        "more outcomes give a firmer schedule call",
        "count",
    ),
    "users": _t(
        "number of users the figure is computed over",
        "users",
        "figures over fewer than about 10 users describe one or two people",
        "count",
    ),
    "responses": _t(
        "number of responses (plays, pulls, claims) of the mechanic",
        "responses",
        "the schedule needs a few hundred to be called",
        "count",
    ),
    "paid_share": _t(
        "share of responses that pay anything",
        _SHARE_RESPONSES,
        "how often a response returns something, of any size",
        "share",
    ),
    "cost_share": _t(
        "share of responses that carry a cost (money or a paid currency)",
        _SHARE_RESPONSES,
        "above 0 responses cost money, which raises the severity of some findings",
        "share",
    ),
    "magnitude_lottery": _t(
        "whether a rare, valuable payout tier is itself paid on a random schedule",
        "yes/no",
        "yes means the prize on top is a lottery even if small wins are regular",
        "flag",
    ),
    "median_payout": _t(
        "median value of a payout",
        "the product's reward units",
        "the typical size of a win",
    ),
    "ratio_estimate_complete": _t(
        "whether every run of responses ended in a reward within the audit window",
        "yes/no",
        "no means the mean ratio is a lower bound",
        "flag",
    ),
    "interval_estimate_complete": _t(
        "whether every wait ended in a reward within the audit window",
        "yes/no",
        "no means the mean interval is a lower bound",
        "flag",
    ),
    "reward_uncertainty": _t(
        "how unpredictable a reward is: p(1−p) ÷ 0.25 over the reward hazard",
        "dimensionless, 0–1",
        "1 at a reward probability of 0.5 (a coin flip), 0 when rewards are certain or never come",
    ),
    "bonus": _t(
        "a variable bonus paid beside a predictable schedule: its payout threshold, its rate "
        "(share of responses), its share of all value paid, and its own schedule",
        "threshold in reward units; rate and value_share 0–1",
        "a small, free bonus beside a predictable reward is a healthy mix",
        "text",
    ),
    "cost_cap": _t(
        "largest cost of one response that counts in full",
        "the product's currency units",
        "costs above it are capped as implausible",
        "money",
    ),
    "gain_cap": _t(
        "largest reward of one response that counts in full",
        "the product's reward units",
        "rewards above it are capped as implausible",
        "money",
    ),
    "loss_cap": _t(
        "largest loss of one response that counts in full",
        "the product's reward units",
        "losses above it are capped as implausible",
        "money",
    ),
    "reason": _t(
        "why the schedule could not be called",
        "description",
        "the schedule kind is insufficient_data for this reason",
        "text",
    ),
    "responses_deeper_than_100": _t(
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
    "loglik_margin_vs_interval": _t(
        "log-likelihood margin of a flat reward hazard over the best interval schedule",
        _LOG_LR,
        "above log(100) ≈ 4.6 a random ratio beats a clock 100 to 1",
    ),
    "loglik_margin_interval_vs_constant": _t(
        "log-likelihood margin of the best interval schedule over a flat reward hazard",
        _LOG_LR,
        "above log(100) ≈ 4.6 a clock beats a random ratio 100 to 1",
    ),
    "geometric_gof_p": _t(
        "p-value of a flat reward hazard (a geometric run length) against the observed one",
        "probability, 0–1",
        "small values mean the hazard is not flat",
    ),
    "hazard_rise": _t(
        "highest reward hazard ÷ the hazard at the first response",
        "ratio (dimensionless)",
        "a large rise with the count marks a pity timer",
    ),
    "rewards_off_modal_count": _t(
        "rewards paid at a count other than the most common one",
        "rewards",
        "0 for a strict fixed ratio",
        "count",
    ),
    "count_floor": _t(
        "the first response count at which rewards can come, if none come before it",
        "responses",
        "a floor marks a fixed or minimum ratio",
        "count",
    ),
    "p_upper_95": _t(
        "95 % upper bound of the reward probability when no reward was seen",
        "probability, 0–1",
        "rewards are at most this likely",
        "share",
    ),
    "step_axis": _t(
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
    # ---- the mechanic's markers ------------------------------------------------------------
    "spend_total": _t(
        "total spend of the mechanic's users", "the product's currency units", "", "money"
    ),
    "total_spend": _t(
        "total spend of the mechanic's spenders", "the product's currency units", "", "money"
    ),
    "spenders": _t(
        "users who spent anything", "users", "shares of spend need about 20 spenders", "count"
    ),
    "spend_gini": _t(
        "Gini coefficient of spend across users",
        "dimensionless, 0–1",
        "0 when everyone spends the same; near 1 when one user pays nearly everything",
    ),
    "spend_top1_share": _t(
        "share of all spend paid by the top 1 % of spenders",
        "share of spend, 0–1",
        "a quarter or more means revenue rests on a handful of people",
        "share",
    ),
    "spend_top10_share": _t(
        "share of all spend paid by the top 10 % of spenders",
        "share of spend, 0–1",
        "above a half, the top tenth pay most of the total",
        "share",
    ),
    "night_share": _t(
        "share of responses between 00:00 and 06:00 local time",
        _SHARE_RESPONSES,
        "about 0.1 is usual; well above it play displaces sleep",
        "share",
    ),
    "night_share_median": _t(
        "median user's share of responses between 00:00 and 06:00 local time",
        _SHARE_RESPONSES,
        "about 0.1 is usual; well above it play displaces sleep",
        "share",
    ),
    "local_time_share": _t(
        "share of responses whose local time is known (zone offset sent or declared)",
        _SHARE_RESPONSES,
        "night play is assessable only where local time is known",
        "share",
    ),
    "disguised_loss_share": _t(
        "share of paid responses that return something, but less than their stake",
        "share of paid responses, 0–1",
        "each is a loss that looks like a win",
        "share",
    ),
    "aversive_share": _t(
        "share of responses with an aversive outcome (e.g. a streak lost)",
        _SHARE_RESPONSES,
        "above 0 missing an appointment is punished",
        "share",
    ),
    "loss_chasing_share": _t(
        "share of tested users who raise their stake after losses (each a discovery at a "
        "10 % false-discovery rate)",
        "share of tested users, 0–1",
        "one in twenty or more is a pattern",
        "share",
    ),
    "night_user_share": _t(
        "share of assessable users who play mostly at night (each a discovery at a 10 % "
        "false-discovery rate)",
        "share of assessable users, 0–1",
        "one in five or more is a pattern",
        "share",
    ),
    "user_flags": _t(
        "per user test (loss chasing, heavy spending, night play, session and frequency "
        "escalation, steep discounting): users tested and users flagged at the false-discovery "
        "rate",
        "users",
        "flagged ÷ tested is the share of users with the behaviour",
        "text",
    ),
    "rpe_persistence": _t(
        "median user's mean |reward prediction error| over their last third of responses ÷ "
        "over their first third",
        "ratio (dimensionless)",
        "near 1 learning never removes the surprise; near 0 outcomes become predictable",
    ),
    "rpe_persistence_median": _t(
        "median user's mean |reward prediction error| late ÷ early (last third ÷ first third)",
        "ratio (dimensionless)",
        "near 1 learning never removes the surprise; near 0 outcomes become predictable",
    ),
    "rpe_balance": _t(
        "median user's Σδ ÷ Σ|δ| of reward prediction errors over their last half of responses",
        "dimensionless, −1 to 1",
        "below 0 outcomes fall short of what users learned to expect",
    ),
    "rpe_balance_median": _t(
        "median user's Σδ ÷ Σ|δ| of reward prediction errors over their last half of responses",
        "dimensionless, −1 to 1",
        "below 0 outcomes fall short of what users learned to expect",
    ),
    "negative_rpe_share": _t(
        "share of users whose prediction-error balance is at or below −0.3",
        _SHARE_USERS,
        "above a half most users live with disappointments",
        "share",
    ),
    "negative_rpe_user_share": _t(
        "share of users whose prediction-error balance is at or below the rule's rpe_balance "
        "threshold",
        _SHARE_USERS,
        "above a half most users live with disappointments",
        "share",
    ),
    "session_escalation": _t(
        "median user's fitted change in session length from first to last session",
        _LOG_CHANGE,
        "0.405 means sessions grew by half (×1.5); negative means they shrank",
    ),
    "session_length_change_median": _t(
        "median user's fitted change in session length from first to last session",
        _LOG_CHANGE,
        "0.405 means sessions grew by half (×1.5); negative means they shrank",
    ),
    "session_escalation_share": _t(
        "share of users whose sessions grow significantly (a discovery at a 10 % "
        "false-discovery rate)",
        _SHARE_USERS,
        "how many users show tolerance",
        "share",
    ),
    "frequency_escalation": _t(
        "median user's fitted change in session frequency (sessions closer together) from "
        "first to last session",
        _LOG_CHANGE,
        "0.405 means sessions come 1.5 times as often; negative means rarer",
    ),
    "session_frequency_change_median": _t(
        "median user's fitted change in session frequency from first to last session",
        _LOG_CHANGE,
        "0.405 means sessions come 1.5 times as often; negative means rarer",
    ),
    "engagement_trend": _t(
        "the lower of the median changes in session length and in session frequency",
        _LOG_CHANGE,
        "−0.2 means sessions shorter or rarer by 18 %",
    ),
    "post_reward_pause": _t(
        "median user's wait after a win ÷ wait after a non-win (geometric means)",
        "ratio (dimensionless)",
        "above 1 users pause after rewards, as on fixed schedules",
    ),
    "front_loading": _t(
        "median user's (early − late) ÷ (early + late) mean payout per response, first vs last "
        "third of their responses",
        "dimensionless, −1 to 1",
        "above 0 rewards dry up with tenure; 0.2 means late payouts are two thirds of early ones",
    ),
    "front_loading_median": _t(
        "median user's (early − late) ÷ (early + late) mean payout per response",
        "dimensionless, −1 to 1",
        "above 0 rewards dry up with tenure; 0.2 means late payouts are two thirds of early ones",
    ),
    "option_concentration": _t(
        "median user's share of choices that go to their favourite option",
        "share of choices, 0–1",
        "near 1 the user no longer explores",
        "share",
    ),
    "option_concentration_median": _t(
        "median user's share of choices that go to their favourite option",
        "share of choices, 0–1",
        "near 1 the user no longer explores",
        "share",
    ),
    "discount_k": _t(
        "median user's hyperbolic discount rate k (value ÷ (1 + k·delay))",
        "per second",
        "larger k: later rewards count for less (steep discounting)",
    ),
    "aversive_expectation": _t(
        "median user's learned expectation of an aversive outcome",
        "dimensionless, 0–1",
        "above 0 users expect to be punished for missing",
    ),
    "aversive_expectation_median": _t(
        "median user's learned expectation of an aversive outcome",
        "dimensionless, 0–1",
        "above 0 users expect to be punished for missing",
    ),
    # ---- findings' evidence ----------------------------------------------------------------
    "responses_cost": _t(
        "whether responses cost money or a paid currency",
        "yes/no",
        "yes raises the severity of slot-machine and prediction-error findings",
        "flag",
    ),
    "streak_loss": _t(
        "whether missing an appointment brings an aversive outcome (a streak lost)",
        "yes/no",
        "yes raises the severity of the appointment finding",
        "flag",
    ),
    "bonus_value_share": _t(
        "share of all value paid that the variable bonus carries",
        "share of value, 0–1",
        "at or below a half the predictable reward carries most of the value",
        "share",
    ),
    "tested_users": _t(
        "users with enough stake changes after both losses and wins to be tested",
        "users",
        "a share of fewer than 10 tested users is one or two people",
        "count",
    ),
    "loss_chasers": _t(
        "tested users who raise their stake after losses (discoveries at the false-discovery rate)",
        "users",
        "one or two could be chance; three or more are a finding",
        "count",
    ),
    "assessable_users": _t(
        "users with enough sessions of known local time to test night play",
        "users",
        "night play needs 10 or more",
        "count",
    ),
    "night_users": _t(
        "assessable users who play mostly at night (discoveries at the false-discovery rate)",
        "users",
        "one or two could be chance; three or more are a finding",
        "count",
    ),
    "false_discovery_rate": _t(
        "expected share of false discoveries among users flagged (Benjamini–Hochberg)",
        "share of flagged users, 0–1",
        "0.1: about one flagged user in ten may be flagged by chance",
        "share",
    ),
    "stake_log_change_median_of_chasers": _t(
        "median change in stake after a loss among loss chasers",
        "log change (natural log of stake after ÷ before)",
        "0.405 means stakes rise by half after losses",
    ),
    # ---- users ----------------------------------------------------------------------------
    "count": _t("users of the mechanic", "users", "", "count"),
    "fitted": _t("users whose learning model was fitted", "users", "", "count"),
    "fit_status": _t(
        "users by the outcome of their learning-model fit",
        "users",
        "fitted users carry α, b_v and b_δ",
        "text",
    ),
    "alpha": _t(
        "fitted learning rate α across users (median, 10th and 90th percentile)",
        "dimensionless, 0–1",
        "how fast a user updates what they expect: near 1 only the last outcome counts",
        "text",
    ),
    "alpha_identified_share": _t(
        "share of fitted users whose learning rate is pinned down by their data",
        _SHARE_USERS,
        "",
        "share",
    ),
    "b_delta": _t(
        "fitted effect of the last reward prediction error on continuing (b_δ) across users "
        "(median, 10th and 90th percentile)",
        "log-odds per unit of prediction error",
        "above 0 surprises keep users playing; below 0 disappointments do (chasing)",
        "text",
    ),
    "b_v": _t(
        "fitted effect of expected value on continuing (b_v) across users (median, 10th and "
        "90th percentile)",
        "log-odds per unit of expected value",
        "above 0 users stay when they expect more",
        "text",
    ),
    "continue_after_losses_share": _t(
        "share of fitted users who are more likely to continue after a loss (b_δ < 0)",
        _SHARE_USERS,
        "",
        "share",
    ),
    "rpe_driven_share": _t(
        "share of fitted users whose continuing depends significantly on prediction errors",
        _SHARE_USERS,
        "",
        "share",
    ),
    "choice_fitted": _t("users whose choice model was fitted", "users", "", "count"),
    "beta": _t(
        "fitted choice inverse temperature β across users (median, 10th and 90th percentile)",
        "dimensionless",
        "large β: users pick the option they value most nearly always",
        "text",
    ),
    "discount_fitted": _t("users whose discounting was fitted", "users", "", "count"),
    "risk_tiers": _t(
        "users per risk tier (none, low, medium, high)", "users", "see the users page", "text"
    ),
    "engagement_population": _t(
        "the population fit of the learning model of continuing (hierarchical prior, means, "
        "spreads, model comparison)",
        "model parameters",
        "preferred: whether learning explains continuing better than no learning",
        "text",
    ),
    "choice_population": _t(
        "the population fit of the choice model (prior, mean, covariance, model comparison)",
        "model parameters",
        "preferred: learning, fixed preference or random choice",
        "text",
    ),
}


def term(name: str) -> Term:
    """The entry of `name`; KeyError names a figure without one."""
    try:
        return GLOSSARY[name]
    except KeyError:
        raise KeyError(f"no glossary entry for {name!r}") from None


def _report_names(report: Mapping[str, Any]) -> Iterator[str]:
    for mechanic in report.get("mechanics") or []:
        schedule = mechanic.get("schedule") or {}
        yield from (k for k in schedule if k != "evidence")
        yield from schedule.get("evidence") or {}
        yield from mechanic.get("markers") or {}
        yield from mechanic.get("users") or {}
        for item in mechanic.get("not_assessable") or []:
            yield from item.get("evidence") or {}
    for mechanic in report.get("mechanics") or []:
        yield from _finding_names(mechanic.get("findings") or [])
    yield from _finding_names(report.get("findings") or [])


def _finding_names(findings: list[Mapping[str, Any]]) -> Iterator[str]:
    for finding in findings:
        yield from finding.get("evidence") or {}
        yield from (c["marker"] for c in finding.get("criteria") or [])


def report_names(report: Mapping[str, Any]) -> list[str]:
    """Every figure name `report` shows, once each, sorted."""
    return sorted(set(_report_names(report)))


def report_glossary(report: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The entries of the names `report` shows, keyed and sorted by name."""
    return {name: term(name).as_dict() for name in report_names(report)}


def _duration(seconds: float) -> str:
    for least, scale, unit in (
        (172_800.0, 86_400.0, "d"),
        (3_600.0, 3_600.0, "h"),
        (120.0, 60.0, "min"),
    ):
        if abs(seconds) >= least:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds:.3g} s"


def _number(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def human(name: str, value: Any) -> str:
    """`value` of the figure `name` formatted for people as its entry's `display` says: shares
    as %, durations in s, min, h or d, counts with thousands separators; undefined as "—"."""
    display = GLOSSARY[name].display if name in GLOSSARY else "number"
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if display == "share":
            return f"{value * 100:.3g} %"
        if display == "duration":
            return _duration(float(value))
        if display == "count" or isinstance(value, int):
            return f"{value:,.0f}"
        return _number(float(value))
    return str(value)
