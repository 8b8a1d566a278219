"""The report's types: the audit report as stored and served, its mechanics, findings, the
per-user rows, and the other bodies of the audit and rules routes (the chain's are in
`service.reports.chain_model`).

Validating a report and dumping it (`ReportBody.model_validate(body).model_dump(
exclude_unset=True)`) gives the same JSON, byte for byte: every model lists its keys in the
order the analysis writes them, keys the analysis leaves out of a report (a summary of a
mechanic without users) are optional and stay out, integers stay integers and floats floats
(a `Float` refuses an integer rather than turning 5 into 5.0), and a figure that is undefined
(NaN in the analysis) is null.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _only_float(value: Any) -> Any:
    if type(value) is not float:
        raise ValueError("must be a floating-point number")
    return value


Float = Annotated[float, BeforeValidator(_only_float)]
# a figure of the analysis: null where it is undefined (too few users, nothing to divide by)
Figure = Float | None
Severity = Literal["info", "low", "medium", "high", "critical"]
RiskTier = Literal["none", "low", "medium", "high"]
# a value of an open-ended evidence mapping: a statistic, a count, a flag or a name
Scalar = bool | int | Float | str | None


class Body(BaseModel):
    """A JSON body: strict types, no keys beyond the declared ones."""

    model_config = ConfigDict(strict=True, extra="forbid")


# ---- provenance, configuration, window, input ----------------------------------------------


class Engine(Body):
    retention_audit: str
    python: str
    numpy: str
    scipy: str


class AnalysisSettings(Body):
    """`models.analysis.AnalysisConfig` as the report records it."""

    session_gap_s: Float
    min_responses_fit: int
    min_choices_fit: int
    min_wait_or_pay: int
    min_marker_responses: int
    min_sessions_trend: int
    alpha_grid: int
    alpha_min: Float
    alpha_max: Float
    beta_max: Float
    v0: Float
    marker_alpha: Float
    night_start_hour: Float
    night_end_hour: Float
    time_zone: str | None
    observed_until: Float | None
    partition_events: int


class AuditConfig(Body):
    analysis: AnalysisSettings
    # decision-table threshold overrides, keyed "rule-id.threshold"
    rules: dict[str, Float]


class AuditWindow(Body):
    """The audit's scope: its window and the mechanics it named (none: all)."""

    from_: str | None = Field(alias="from")
    to: str | None
    mechanics: list[str]
    # mechanics named that no event matched: only in reports made before such an audit ended
    # empty instead (`service.audits.scope`)
    unmatched: list[str] | None = None


class InputRead(Body):
    """What the audit read, and the digest that identifies it."""

    events: int
    users: int
    from_: str | None = Field(alias="from")
    to: str | None
    digest: str
    skipped: int | None = Field(
        None, description="Invalid rows skipped (offline audits run with --skip-invalid)."
    )


# ---- schedule -------------------------------------------------------------------------------


class Step(Body):
    """A step in the reward rate along one axis (count, elapsed time, calendar day, …)."""

    cut: Figure
    early_share: Figure
    lower_rate: Figure
    upper_rate: Figure


class Bonus(Body):
    """A bonus paid on top of the schedule (e.g. a streak bonus)."""

    kind: str
    rate: Figure
    threshold: Figure
    value_share: Figure


class Schedule(Body):
    kind: str
    confidence: Figure
    slot_machine_confidence: Figure
    reward_probability: Figure
    mean_ratio: Figure
    ratio_cv: Figure
    mean_interval_s: Figure
    interval_cv: Figure
    magnitude_cv: Figure
    # keyed by statistic (likelihood ratios, goodness of fit, shares, steps by axis, the bonus)
    evidence: dict[str, Scalar | Step | Bonus]


# ---- findings -------------------------------------------------------------------------------


class Reference(Body):
    key: str
    citation: str
    shows: str


class UsersCounted(Body):
    """The condition each user counted in a share of users met (e.g. rpe_balance <= -0.3)."""

    marker: str
    comparison: str
    threshold: Scalar
    threshold_name: str


class Criterion(Body):
    """A condition of the rule that the finding met: `marker` (a figure or a fact of the
    mechanic, defined in the report's glossary) compared with `threshold`, the value of the
    rule's `threshold_name` in the decision table as applied (overrides included), or the fact
    the rule needs (`threshold_name` null)."""

    marker: str
    value: Scalar
    comparison: Literal[">=", ">", "<=", "<", "is", "is one of"]
    threshold: Scalar | list[str]
    threshold_name: str | None
    unit: str
    users_counted: UsersCounted | None = None


class SeverityStep(Body):
    """The severity after one step and why: first the rule's base severity, then each raise."""

    severity: Severity
    reason: str


class Finding(Body):
    """A rule that fired. `criteria` and `severity_steps` are absent from reports written
    before findings carried them."""

    rule_id: str
    mechanic: str
    severity: Severity
    situation: str
    insight: str
    # keyed by the figure the rule read (shares, medians, counts, flags, the schedule's bonus)
    evidence: dict[str, Scalar | Bonus]
    criteria: list[Criterion] | None = None
    severity_steps: list[SeverityStep] | None = None
    recommendation: str
    references: list[Reference]


class NotAssessable(Body):
    rule_id: str
    mechanic: str
    reason: str
    evidence: dict[str, Scalar]


# ---- user summaries -------------------------------------------------------------------------


class Quantiles(Body):
    median: Figure
    p10: Figure
    p90: Figure


class EngagementParameters(Body):
    logit_alpha: Figure
    b0: Figure
    b_v: Figure
    b_delta: Figure


class EngagementPopulation(Body):
    prior: str
    users: int
    mean: EngagementParameters
    sd: EngagementParameters
    iterations: int
    converged: bool
    b_delta: Quantiles
    b_delta_negative_share: Figure
    b_delta_positive_share: Figure
    ibic: Figure
    ibic_no_learning: Figure
    ibic_delta: Figure
    preferred: Literal["learning", "no_learning"]


class ChoiceParameters(Body):
    logit_alpha: Figure
    log_beta: Figure


class ChoicePopulation(Body):
    prior: str
    mean: ChoiceParameters
    cov: list[list[Figure]]
    em_iterations: int
    em_converged: bool
    ibic: Figure
    bic_fixed_preference: Figure
    bic_random: Figure
    preferred: Literal["learning", "fixed_preference", "random"]


class UserSummary(Body):
    """The mechanic's users; beyond `count` and `fitted`, only for a mechanic with users."""

    count: int
    fitted: int
    fit_status: dict[str, int] | None = None
    alpha: Quantiles | None = None
    alpha_identified_share: Figure = None
    b_delta: Quantiles | None = None
    b_v: Quantiles | None = None
    continue_after_losses_share: Figure = None
    rpe_driven_share: Figure = None
    choice_fitted: int | None = None
    beta: Quantiles | None = None
    discount_fitted: int | None = None
    risk_tiers: dict[RiskTier, int] | None = None
    engagement_population: EngagementPopulation | None = None
    choice_population: ChoicePopulation | None = None


class FlagCount(Body):
    tested: int
    flagged: int


class UserFlags(Body):
    false_discovery_rate: Float
    loss_chasing: FlagCount
    heavy_spender: FlagCount
    night_play: FlagCount
    session_escalation: FlagCount
    frequency_escalation: FlagCount
    steep_discounting: FlagCount


class Markers(Body):
    """The mechanic's markers; from `loss_chasing_share` on, only for a mechanic with users."""

    spend_total: Figure
    spenders: int
    spend_gini: Figure
    spend_top1_share: Figure
    spend_top10_share: Figure
    night_share: Figure
    local_time_share: Figure
    disguised_loss_share: Figure
    reward_uncertainty: Figure
    aversive_share: Figure
    loss_chasing_share: Figure = None
    night_user_share: Figure = None
    user_flags: UserFlags | None = None
    rpe_persistence: Figure = None
    rpe_balance: Figure = None
    negative_rpe_share: Figure = None
    session_escalation: Figure = None
    session_escalation_share: Figure = None
    frequency_escalation: Figure = None
    post_reward_pause: Figure = None
    front_loading: Figure = None
    option_concentration: Figure = None
    discount_k: Figure = None
    aversive_expectation: Figure = None


# ---- charts ---------------------------------------------------------------------------------


class HazardChart(Body):
    k: list[int]
    hazard: list[Figure]
    n_at_risk: list[int]


class ExposureChart(Body):
    responses_from: list[int]
    mean_abs_rpe: list[Figure]
    mean_payout: list[Figure]
    n: list[int]


class LorenzChart(Body):
    population: list[Figure]
    spend: list[Figure]


class AlphaHistogram(Body):
    edges: list[Figure]
    counts: list[int]


class Charts(Body):
    hazard: HazardChart
    rpe_by_exposure: ExposureChart
    lorenz: LorenzChart
    alpha_histogram: AlphaHistogram


class Mechanic(Body):
    mechanic: str
    schedule: Schedule
    users: UserSummary
    markers: Markers
    findings: list[Finding]
    not_assessable: list[NotAssessable]
    charts: Charts


# ---- the report -----------------------------------------------------------------------------


class GlossaryEntry(Body):
    """What a figure of the report means (`models.markers.glossary`)."""

    definition: str
    unit: str
    reading: str
    display: Literal["share", "duration", "count", "number", "flag", "text", "money"]


class ReportBody(Body):
    """A report as the analysis makes it, before it joins its project's chain. `glossary`: the
    definition and unit of every figure the report shows, keyed by name (absent from reports
    written before reports carried it)."""

    status: Literal["succeeded"]
    engine_version: str
    engine: Engine
    rules_version: str
    config: AuditConfig
    window: AuditWindow
    input: InputRead
    created_at: str
    mechanics: list[Mechanic]
    findings: list[Finding]
    glossary: dict[str, GlossaryEntry] | None = None


class Report(ReportBody):
    """A stored report: its body, its id, the digest of the project's previous report and its
    own digest (SHA-256 of its canonical JSON without `digest`)."""

    id: str
    previous_report_digest: str | None
    digest: str


# ---- per-user rows --------------------------------------------------------------------------


class UserMarkers(Body):
    spend: Figure
    night_share: Figure
    session_escalation: Figure
    frequency_escalation: Figure
    post_reward_pause: Figure
    rpe_persistence: Figure
    rpe_balance: Figure
    front_loading: Figure
    option_concentration: Figure
    aversive_share: Figure
    aversive_expectation: Figure
    discount_k: Figure
    # null in rows stored before the count was kept
    local_time_responses: int | None
    chase_stake_effect: Figure


class UserTests(Body):
    """One-sided p-values of the user's marker tests (null: not tested)."""

    loss_chasing_p: Figure
    night_play_p: Figure
    session_escalation_p: Figure
    frequency_escalation_p: Figure


class ChoiceFit(Body):
    status: str
    choices: int
    alpha: Figure
    alpha_ci: list[Figure]
    beta: Figure
    loglik: Figure


class DiscountFit(Body):
    status: str
    offers: int
    k: Figure
    indifference_delay_s: Figure
    price_share: Figure


class UserFit(Body):
    status: str
    alpha_source: Literal["choice", "engagement", "none"]
    sessions: int
    decisions: int
    alpha: Figure
    alpha_ci: list[Figure]
    b0: Figure
    b_v: Figure
    b_delta: Figure
    b_delta_se: Figure
    b_delta_p: Figure
    loglik: Figure
    loglik_null: Figure
    lr_stat: Figure
    p_value: Figure
    aic_delta: Figure
    reward_scale: Figure
    choice: ChoiceFit
    discounting: DiscountFit


class UserRow(Body):
    """One (user, mechanic): fits with intervals, markers, tests, risk tier and what raised
    it (`models.analysis.user_row`)."""

    user_id: str
    mechanic: str
    responses: int
    alpha: Figure
    alpha_ci: list[Figure]
    beta: Figure
    b_delta: Figure
    risk_tier: RiskTier
    raised_by: list[str]
    markers: UserMarkers
    tests: UserTests
    fit: UserFit


class UsersPage(Body):
    items: list[UserRow]
    next_cursor: str | None


class OfflineReport(ReportBody):
    """A report of event files audited offline, with every user's row (its digest is that of
    the report without them)."""

    id: str
    previous_report_digest: None
    user_results: list[UserRow]
    digest: str


def report_body(body: dict[str, Any]) -> dict[str, Any]:
    """`body` validated as a `ReportBody` and dumped back: the same JSON, or ValidationError."""
    dumped: dict[str, Any] = ReportBody.model_validate(body).model_dump(
        by_alias=True, exclude_unset=True
    )
    return dumped
