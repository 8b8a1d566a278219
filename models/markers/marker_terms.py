"""Glossary entries of a mechanic's markers, its findings' evidence and its users' summary."""

from __future__ import annotations

from models.markers.term import LOG_CHANGE, SHARE_RESPONSES, SHARE_USERS, Term, entry

MARKER_TERMS: dict[str, Term] = {
    # ---- the mechanic's markers ------------------------------------------------------------
    "spend_total": entry(
        "total spend of the mechanic's users", "the product's currency units", "", "money"
    ),
    "total_spend": entry(
        "total spend of the mechanic's spenders", "the product's currency units", "", "money"
    ),
    "spenders": entry(
        "users who spent anything", "users", "shares of spend need about 20 spenders", "count"
    ),
    "spend_gini": entry(
        "Gini coefficient of spend across users",
        "dimensionless, 0–1",
        "0 when everyone spends the same; near 1 when one user pays nearly everything",
    ),
    "spend_top1_share": entry(
        "share of all spend paid by the top 1 % of spenders",
        "share of spend, 0–1",
        "a quarter or more means revenue rests on a handful of people",
        "share",
    ),
    "spend_top10_share": entry(
        "share of all spend paid by the top 10 % of spenders",
        "share of spend, 0–1",
        "above a half, the top tenth pay most of the total",
        "share",
    ),
    "night_share": entry(
        "share of responses between 00:00 and 06:00 local time",
        SHARE_RESPONSES,
        "about 0.1 is usual; well above it play displaces sleep",
        "share",
    ),
    "night_share_median": entry(
        "median user's share of responses between 00:00 and 06:00 local time",
        SHARE_RESPONSES,
        "about 0.1 is usual; well above it play displaces sleep",
        "share",
    ),
    "local_time_share": entry(
        "share of responses whose local time is known (zone offset sent or declared)",
        SHARE_RESPONSES,
        "night play is assessable only where local time is known",
        "share",
    ),
    "disguised_loss_share": entry(
        "share of paid responses that return something, but less than their stake",
        "share of paid responses, 0–1",
        "each is a loss that looks like a win",
        "share",
    ),
    "aversive_share": entry(
        "share of responses with an aversive outcome (e.g. a streak lost)",
        SHARE_RESPONSES,
        "above 0 missing an appointment is punished",
        "share",
    ),
    "loss_chasing_share": entry(
        "share of tested users who raise their stake after losses (each a discovery at a "
        "10 % false-discovery rate)",
        "share of tested users, 0–1",
        "one in twenty or more is a pattern",
        "share",
    ),
    "night_user_share": entry(
        "share of assessable users who play mostly at night (each a discovery at a 10 % "
        "false-discovery rate)",
        "share of assessable users, 0–1",
        "one in five or more is a pattern",
        "share",
    ),
    "user_flags": entry(
        "per user test (loss chasing, heavy spending, night play, session and frequency "
        "escalation, steep discounting): users tested and users flagged at the false-discovery "
        "rate",
        "users",
        "flagged ÷ tested is the share of users with the behaviour",
        "text",
    ),
    "rpe_persistence": entry(
        "median user's mean |reward prediction error| over their last third of responses ÷ "
        "over their first third",
        "ratio (dimensionless)",
        "near 1 learning never removes the surprise; near 0 outcomes become predictable",
    ),
    "rpe_persistence_median": entry(
        "median user's mean |reward prediction error| late ÷ early (last third ÷ first third)",
        "ratio (dimensionless)",
        "near 1 learning never removes the surprise; near 0 outcomes become predictable",
    ),
    "rpe_balance": entry(
        "median user's Σδ ÷ Σ|δ| of reward prediction errors over their last half of responses",
        "dimensionless, −1 to 1",
        "below 0 outcomes fall short of what users learned to expect",
    ),
    "rpe_balance_median": entry(
        "median user's Σδ ÷ Σ|δ| of reward prediction errors over their last half of responses",
        "dimensionless, −1 to 1",
        "below 0 outcomes fall short of what users learned to expect",
    ),
    "negative_rpe_share": entry(
        "share of users whose prediction-error balance is at or below −0.3",
        SHARE_USERS,
        "above a half most users live with disappointments",
        "share",
    ),
    "negative_rpe_user_share": entry(
        "share of users whose prediction-error balance is at or below the rule's rpe_balance "
        "threshold",
        SHARE_USERS,
        "above a half most users live with disappointments",
        "share",
    ),
    "session_escalation": entry(
        "median user's fitted change in session length from first to last session",
        LOG_CHANGE,
        "0.405 means sessions grew by half (×1.5); negative means they shrank",
    ),
    "session_length_change_median": entry(
        "median user's fitted change in session length from first to last session",
        LOG_CHANGE,
        "0.405 means sessions grew by half (×1.5); negative means they shrank",
    ),
    "session_escalation_share": entry(
        "share of users whose sessions grow significantly (a discovery at a 10 % "
        "false-discovery rate)",
        SHARE_USERS,
        "how many users show tolerance",
        "share",
    ),
    "frequency_escalation": entry(
        "median user's fitted change in session frequency (sessions closer together) from "
        "first to last session",
        LOG_CHANGE,
        "0.405 means sessions come 1.5 times as often; negative means rarer",
    ),
    "session_frequency_change_median": entry(
        "median user's fitted change in session frequency from first to last session",
        LOG_CHANGE,
        "0.405 means sessions come 1.5 times as often; negative means rarer",
    ),
    "engagement_trend": entry(
        "the lower of the median changes in session length and in session frequency",
        LOG_CHANGE,
        "−0.2 means sessions shorter or rarer by 18 %",
    ),
    "post_reward_pause": entry(
        "median user's wait after a win ÷ wait after a non-win (geometric means)",
        "ratio (dimensionless)",
        "above 1 users pause after rewards, as on fixed schedules",
    ),
    "front_loading": entry(
        "median user's (early − late) ÷ (early + late) mean payout per response, first vs last "
        "third of their responses",
        "dimensionless, −1 to 1",
        "above 0 rewards dry up with tenure; 0.2 means late payouts are two thirds of early ones",
    ),
    "front_loading_median": entry(
        "median user's (early − late) ÷ (early + late) mean payout per response",
        "dimensionless, −1 to 1",
        "above 0 rewards dry up with tenure; 0.2 means late payouts are two thirds of early ones",
    ),
    "option_concentration": entry(
        "median user's share of choices that go to their favourite option",
        "share of choices, 0–1",
        "near 1 the user no longer explores",
        "share",
    ),
    "option_concentration_median": entry(
        "median user's share of choices that go to their favourite option",
        "share of choices, 0–1",
        "near 1 the user no longer explores",
        "share",
    ),
    "discount_k": entry(
        "median user's hyperbolic discount rate k (value ÷ (1 + k·delay))",
        "per second",
        "larger k: later rewards count for less (steep discounting)",
    ),
    "aversive_expectation": entry(
        "median user's learned expectation of an aversive outcome",
        "dimensionless, 0–1",
        "above 0 users expect to be punished for missing",
    ),
    "aversive_expectation_median": entry(
        "median user's learned expectation of an aversive outcome",
        "dimensionless, 0–1",
        "above 0 users expect to be punished for missing",
    ),
    # ---- findings' evidence ----------------------------------------------------------------
    "responses_cost": entry(
        "whether responses cost money or a paid currency",
        "yes/no",
        "yes raises the severity of slot-machine and prediction-error findings",
        "flag",
    ),
    "streak_loss": entry(
        "whether missing an appointment brings an aversive outcome (a streak lost)",
        "yes/no",
        "yes raises the severity of the appointment finding",
        "flag",
    ),
    "bonus_value_share": entry(
        "share of all value paid that the variable bonus carries",
        "share of value, 0–1",
        "at or below a half the predictable reward carries most of the value",
        "share",
    ),
    "tested_users": entry(
        "users with enough stake changes after both losses and wins to be tested",
        "users",
        "a share of fewer than 10 tested users is one or two people",
        "count",
    ),
    "loss_chasers": entry(
        "tested users who raise their stake after losses (discoveries at the false-discovery rate)",
        "users",
        "one or two could be chance; three or more are a finding",
        "count",
    ),
    "assessable_users": entry(
        "users with enough sessions of known local time to test night play",
        "users",
        "night play needs 10 or more",
        "count",
    ),
    "night_users": entry(
        "assessable users who play mostly at night (discoveries at the false-discovery rate)",
        "users",
        "one or two could be chance; three or more are a finding",
        "count",
    ),
    "false_discovery_rate": entry(
        "expected share of false discoveries among users flagged (Benjamini–Hochberg)",
        "share of flagged users, 0–1",
        "0.1: about one flagged user in ten may be flagged by chance",
        "share",
    ),
    "stake_log_change_median_of_chasers": entry(
        "median change in stake after a loss among loss chasers",
        "log change (natural log of stake after ÷ before)",
        "0.405 means stakes rise by half after losses",
    ),
    # ---- users ----------------------------------------------------------------------------
    "count": entry("users of the mechanic", "users", "", "count"),
    "fitted": entry("users whose learning model was fitted", "users", "", "count"),
    "fit_status": entry(
        "users by the outcome of their learning-model fit",
        "users",
        "fitted users carry α, b_v and b_δ",
        "text",
    ),
    "alpha": entry(
        "fitted learning rate α across users (median, 10th and 90th percentile)",
        "dimensionless, 0–1",
        "how fast a user updates what they expect: near 1 only the last outcome counts",
        "text",
    ),
    "alpha_identified_share": entry(
        "share of fitted users whose learning rate is pinned down by their data",
        SHARE_USERS,
        "",
        "share",
    ),
    "b_delta": entry(
        "fitted effect of the last reward prediction error on continuing (b_δ) across users "
        "(median, 10th and 90th percentile)",
        "log-odds per unit of prediction error",
        "above 0 surprises keep users playing; below 0 disappointments do (chasing)",
        "text",
    ),
    "b_v": entry(
        "fitted effect of expected value on continuing (b_v) across users (median, 10th and "
        "90th percentile)",
        "log-odds per unit of expected value",
        "above 0 users stay when they expect more",
        "text",
    ),
    "continue_after_losses_share": entry(
        "share of fitted users who are more likely to continue after a loss (b_δ < 0)",
        SHARE_USERS,
        "",
        "share",
    ),
    "rpe_driven_share": entry(
        "share of fitted users whose continuing depends significantly on prediction errors",
        SHARE_USERS,
        "",
        "share",
    ),
    "choice_fitted": entry("users whose choice model was fitted", "users", "", "count"),
    "beta": entry(
        "fitted choice inverse temperature β across users (median, 10th and 90th percentile)",
        "dimensionless",
        "large β: users pick the option they value most nearly always",
        "text",
    ),
    "discount_fitted": entry("users whose discounting was fitted", "users", "", "count"),
    "risk_tiers": entry(
        "users per risk tier (none, low, medium, high)", "users", "see the users page", "text"
    ),
    "engagement_population": entry(
        "the population fit of the learning model of continuing (hierarchical prior, means, "
        "spreads, model comparison)",
        "model parameters",
        "preferred: whether learning explains continuing better than no learning",
        "text",
    ),
    "choice_population": entry(
        "the population fit of the choice model (prior, mean, covariance, model comparison)",
        "model parameters",
        "preferred: learning, fixed preference or random choice",
        "text",
    ),
}
