"""The rows of the decision table the product ships with, each threshold with its rationale and
reference."""

from __future__ import annotations

from models.rules.table import DecisionTable, Rule, Threshold


def _t(name: str, value: float, rationale: str, reference: str) -> Threshold:
    return Threshold(name=name, value=value, rationale=rationale, reference=reference)


_MIN_USERS = _t(
    "min_users",
    10,
    "a median over fewer users is one or two people's behaviour",
    "a product choice",
)


# a finding made of per-user discoveries needs this many of them: at a 10 % false-discovery
# rate, when nobody has the behaviour, one discovery turns up in about one mechanic in ten
# with 10–20 tested users; three turn up far more rarely
_MIN_FLAGGED = _t(
    "min_flagged_users",
    3,
    "one or two discoveries at a 10 % false-discovery rate are what a mechanic where nobody "
    "has the behaviour produces about one time in ten; a product choice",
    "Benjamini & Hochberg 1995 (J. R. Stat. Soc. B 57:289)",
)


DEFAULT_TABLE = DecisionTable(
    rules=(
        Rule(
            rule_id="variable-ratio-reward",
            situation="Habit-forming product",
            insight="Variable-ratio reward (slot machine schedule)",
            recommendation=(
                "Disclose the odds of each outcome, cap or remove paid access to the random "
                "draw, and offer a deterministic path to the same rewards."
            ),
            severity="medium",
            references=(
                "ferster-skinner-1957",
                "zendle-meyer-over-2019",
                "schultz-dayan-montague-1997",
                "eu-dsa-art25-2022",
            ),
            thresholds=(
                _t(
                    "min_confidence",
                    0.5,
                    "on the calibrated probability that the mechanic runs a variable ratio or "
                    "pity, whichever was called (the finding is right either way); the call "
                    "already requires a likelihood ratio of 100 against an interval schedule, "
                    "so this only drops calls no more likely right than wrong",
                    "Royall 1997, Statistical Evidence",
                ),
                _t(
                    "wide_magnitude_cv",
                    1.0,
                    "payouts whose spread is at least their mean (slot pay tables) add a "
                    "magnitude lottery to the schedule lottery",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="predictable-unpredictable-mix",
            situation="Sustained engagement",
            insight="Mix predictable + unpredictable wins",
            recommendation=(
                "Healthy pattern: keep the predictable reward carrying most of the value and "
                "the random bonus small and free."
            ),
            severity="info",
            references=(
                "fiorillo-tobler-schultz-2003",
                "ferster-skinner-1957",
            ),
            thresholds=(
                _t(
                    "max_bonus_value_share",
                    0.5,
                    "the fixed component must carry most of the value, else the bonus is the "
                    "schedule",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="rpe-maximization",
            situation="Avoid burnout",
            insight="Avoid pure RPE-maximization (ethical concern)",
            recommendation=(
                "Make outcomes more predictable as users gain experience: reduce randomness of "
                "payouts or signal them in advance."
            ),
            severity="medium",
            references=(
                "schultz-dayan-montague-1997",
                "fiorillo-tobler-schultz-2003",
            ),
            thresholds=(
                _t(
                    "min_rpe_persistence",
                    0.5,
                    "late prediction errors at least half the early ones: learning does not "
                    "remove the surprise",
                    "a product choice",
                ),
                _t(
                    "min_reward_uncertainty",
                    0.75,
                    "p(1−p)/0.25 ≥ 0.75, i.e. reward probability within 0.25–0.75 of the "
                    "maximum-uncertainty point 0.5",
                    "Fiorillo, Tobler & Schultz 2003 (Science 299:1898)",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="exploration-stuck",
            situation="RL exploration stuck",
            insight="Add intrinsic reward (RND, ICM)",
            recommendation=(
                "Users repeat one loop whose rewards are drying up: surface alternatives or "
                "reward novelty (intrinsic reward) instead of squeezing the exhausted loop."
            ),
            severity="low",
            references=(
                "burda-et-al-2018",
                "pathak-et-al-2017",
            ),
            thresholds=(
                _t(
                    "min_option_concentration",
                    0.9,
                    "nine choices in ten go to one option: the user no longer explores",
                    "a product choice",
                ),
                _t(
                    "min_front_loading",
                    0.2,
                    "late payouts per response at most two thirds of the early ones",
                    "a product choice",
                ),
                _t(
                    "max_engagement_trend",
                    -0.2,
                    "sessions shorter or rarer by ≥ 18 % (log change −0.2) over users' tenure",
                    "a product choice",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="anhedonia-signature",
            situation="Anhedonia in user",
            insight="Reduce expectation, surprise with low-cost wins",
            recommendation=(
                "Rewards keep falling short of what users learned to expect: stop shrinking "
                "rewards with tenure and add small unexpected wins."
            ),
            severity="medium",
            references=("schultz-dayan-montague-1997",),
            thresholds=(
                _t(
                    "rpe_balance",
                    -0.3,
                    "Σδ/Σ|δ| ≤ −0.3: disappointments outweigh surprises by 65 % to 35 %",
                    "a product choice",
                ),
                _t(
                    "min_user_share",
                    0.5,
                    "most users live with negative prediction errors",
                    "a product choice",
                ),
                _t(
                    "max_engagement_trend",
                    -0.2,
                    "sessions shorter or rarer by ≥ 18 % over users' tenure",
                    "a product choice",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="loss-chasing",
            situation="Loss chasing",
            insight="stakes rise after losses",
            recommendation=(
                "Interrupt play after losing streaks (cool-down, loss limits, reality checks) "
                "and never prompt a higher stake after a loss."
            ),
            severity="high",
            references=(
                "lesieur-1984",
                "zhang-clark-2020",
                "benjamini-hochberg-1995",
                "ukgc-2023",
            ),
            thresholds=(
                _t(
                    "min_share",
                    0.05,
                    "one tested user in twenty raises the stake after losses, each a discovery "
                    "at a 10 % false-discovery rate; a product choice, no published threshold",
                    "Benjamini & Hochberg 1995 (J. R. Stat. Soc. B 57:289)",
                ),
                _t(
                    "min_tested_users",
                    10,
                    "a share of fewer tested users is one or two people",
                    "a product choice",
                ),
                _MIN_FLAGGED,
            ),
        ),
        Rule(
            rule_id="spend-concentration",
            situation="Revenue from few",
            insight="revenue depends on a few heavy spenders",
            recommendation=(
                "Set spend limits and proactive checks for the heaviest spenders; review "
                "whether monetisation targets vulnerable users."
            ),
            severity="medium",
            references=(
                "zendle-petrovskaya-wardle-2020",
                "ukgc-2023",
            ),
            thresholds=(
                _t(
                    "min_top10_share",
                    0.5,
                    "the top tenth of spenders pay most of the total",
                    "a product choice",
                ),
                _t(
                    "high_top1_share",
                    0.25,
                    "one user in a hundred pays a quarter of everything; for scale, the top 1 % "
                    "paid 26.33 % of CS:GO loot-box revenue in Zendle, Petrovskaya & Wardle "
                    "2020 (an observation, not a threshold)",
                    "a product choice",
                ),
                _t(
                    "min_spenders",
                    20,
                    "shares over fewer spenders are dominated by one person",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="night-engagement",
            situation="Sleep displacement",
            insight="play during sleep hours",
            recommendation=(
                "Avoid notifications and time-limited events between midnight and 06:00 in the "
                "user's zone; offer quiet hours."
            ),
            severity="medium",
            references=(
                "ukgc-2023",
                "benjamini-hochberg-1995",
            ),
            thresholds=(
                _t(
                    "min_user_share",
                    0.2,
                    "one assessable user in five plays mostly at night (each a discovery at a "
                    "10 % false-discovery rate): a pattern, not an outlier; a product choice",
                    "a product choice",
                ),
                _MIN_USERS,
                _MIN_FLAGGED,
            ),
        ),
        Rule(
            rule_id="session-escalation",
            situation="Tolerance",
            insight="tolerance: sessions grow",
            recommendation=(
                "Add session-length reminders and breaks; do not reward longer or more "
                "frequent sessions."
            ),
            severity="medium",
            references=(
                "braverman-shaffer-2012",
                "ukgc-2023",
            ),
            thresholds=(
                _t(
                    "min_log_change",
                    0.405,
                    "the median user's sessions grow (or come closer) by ≥ 50 % (log 1.5)",
                    "a product choice",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="playing-by-appointment",
            situation="Appointment mechanics",
            insight="fixed-interval rewards with streak loss",
            recommendation=(
                "Let rewards accumulate instead of expiring, and never punish a missed day "
                "(no streak loss)."
            ),
            severity="low",
            references=(
                "ferster-skinner-1957",
                "zagal-bjork-lewis-2013",
            ),
            thresholds=(
                _t(
                    "min_interval_s",
                    3600.0,
                    "an appointment is hours apart; shorter fixed intervals are pacing",
                    "a product choice",
                ),
                _t(
                    "max_aversive_share",
                    0.0,
                    "any aversive outcome (streak lost) for missing the appointment",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="losses-disguised-as-wins",
            situation="Paid mechanic",
            insight="payouts below the stake celebrated as wins",
            recommendation=(
                "Do not present a payout smaller than the stake with win feedback (sounds, "
                "animations, 'You won'); show the net outcome."
            ),
            severity="medium",
            references=("dixon-et-al-2010",),
            thresholds=(
                _t(
                    "min_share",
                    0.1,
                    "one paid response in ten returns something, but less than its stake: "
                    "frequent enough to be part of the experience; a product choice",
                    "a product choice",
                ),
            ),
        ),
    )
)
