"""Evaluating a decision table on the facts of one mechanic. The table is an argument (tests and
deployments inject tables, never patch code); the result is the findings, and the rules that
could not be assessed."""

from __future__ import annotations

from dataclasses import dataclass

from models.rules.conditions import CONDITIONS, _Unassessable
from models.rules.facts import Finding, MechanicFacts, NotAssessable
from models.rules.table import DecisionTable


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """What the table says of one mechanic: the findings that fired (in table order) and the
    rules that could not be assessed, with why."""

    findings: tuple[Finding, ...]
    not_assessable: tuple[NotAssessable, ...]


def assess(table: DecisionTable, facts: MechanicFacts) -> Assessment:
    """Evaluate every rule of `table` on `facts`.

    Rows without a known condition never fire (a table may carry rows for other engines).
    """
    found: list[Finding] = []
    unassessable: list[NotAssessable] = []
    for rule in table.rules:
        condition = CONDITIONS.get(rule.rule_id)
        outcome = condition(rule, facts) if condition is not None else None
        if outcome is None:
            continue
        if isinstance(outcome, _Unassessable):
            unassessable.append(
                NotAssessable(
                    rule_id=rule.rule_id,
                    mechanic=facts.mechanic,
                    reason=outcome.reason,
                    evidence=outcome.evidence,
                )
            )
            continue
        found.append(
            Finding(
                rule_id=rule.rule_id,
                mechanic=facts.mechanic,
                severity=outcome.severity,
                situation=rule.situation,
                insight=rule.insight,
                evidence=outcome.evidence,
                recommendation=rule.recommendation,
                references=rule.references,
                criteria=outcome.criteria,
                severity_steps=outcome.steps,
            )
        )
    return Assessment(findings=tuple(found), not_assessable=tuple(unassessable))


def evaluate(table: DecisionTable, facts: MechanicFacts) -> tuple[Finding, ...]:
    """The findings of every rule of `table` that fires on `facts`, in table order."""
    return assess(table, facts).findings
