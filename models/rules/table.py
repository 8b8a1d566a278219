"""The decision table: data, versioned by a digest of its content.

Each row is a `Rule` — the situation and its insight, a recommendation, a base severity,
references, and its thresholds as named data with a rationale and a reference, so
`with_overrides({"loss-chasing.min_share": 0.2})` yields a new table with a new version.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from models.references import REFERENCES

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


def cited(keys: tuple[str, ...]) -> list[dict[str, str]]:
    """Each reference as {"key", "citation", "shows"} (`models.references`)."""
    return [
        {"key": k, "citation": REFERENCES[k].citation, "shows": REFERENCES[k].shows} for k in keys
    ]


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """A named threshold of a rule, with why it has this value and where that comes from."""

    name: str
    value: float
    rationale: str
    reference: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "rationale": self.rationale,
            "reference": self.reference,
        }


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One row of the decision table.

    references: keys of `models.references.REFERENCES`; the table and its findings carry each
    work's citation and what it shows, so a reviewer reads why a work is cited, not a bare name.
    """

    rule_id: str
    situation: str
    insight: str
    recommendation: str
    severity: str
    references: tuple[str, ...]
    thresholds: tuple[Threshold, ...] = ()

    def __post_init__(self) -> None:
        unknown = [key for key in self.references if key not in REFERENCES]
        if unknown:
            raise KeyError(f"rule {self.rule_id} cites unknown references {unknown}")

    def threshold(self, name: str) -> float:
        for t in self.thresholds:
            if t.name == name:
                return t.value
        raise KeyError(f"{self.rule_id} has no threshold {name!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "situation": self.situation,
            "insight": self.insight,
            "recommendation": self.recommendation,
            "severity": self.severity,
            "references": cited(self.references),
            "thresholds": [t.as_dict() for t in self.thresholds],
        }


@dataclass(frozen=True, kw_only=True)
class DecisionTable:
    """The rules in order; `version` is "sha256:" + the digest of their canonical JSON."""

    rules: tuple[Rule, ...]

    @property
    def version(self) -> str:
        body = json.dumps(
            [r.as_dict() for r in self.rules],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "rules": [r.as_dict() for r in self.rules]}

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)

    def with_overrides(self, overrides: Mapping[str, float]) -> DecisionTable:
        """A new table with thresholds replaced: keys are "rule_id.threshold_name".

        Raises ValueError naming the first unknown key or non-finite value.
        """
        rules = {r.rule_id: r for r in self.rules}
        for key, value in overrides.items():
            rule_id, _, name = key.partition(".")
            if rule_id not in rules or not any(t.name == name for t in rules[rule_id].thresholds):
                raise ValueError(f"unknown decision-table threshold {key!r}")
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise ValueError(f"threshold {key!r} must be a finite number")
            rule = rules[rule_id]
            rules[rule_id] = replace(
                rule,
                thresholds=tuple(
                    replace(t, value=float(value)) if t.name == name else t for t in rule.thresholds
                ),
            )
        return DecisionTable(rules=tuple(rules[r.rule_id] for r in self.rules))
