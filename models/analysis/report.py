"""The merged result: per mechanic its schedule, summaries, findings and charts, and the
per-user table with its records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.analysis.config import AnalysisConfig
from models.analysis.record import ROW_COLUMNS, user_row
from models.analysis.table import UserTable
from models.jsonable import column_values, jsonable
from models.markers.glossary import report_glossary
from models.risk import MARKERS as RISK_MARKERS
from models.risk import TIERS
from models.rules import Finding, NotAssessable
from models.schedule import Schedule


@dataclass(frozen=True, kw_only=True)
class MechanicReport:
    """One mechanic of the report: its schedule, user and marker summaries, findings, charts."""

    mechanic: str
    schedule: Schedule
    users: dict[str, Any]
    markers: dict[str, Any]
    findings: tuple[Finding, ...]
    charts: dict[str, Any]
    not_assessable: tuple[NotAssessable, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        s = self.schedule
        evidence = dict(s.evidence)
        evidence["valuable_outcome"] = s.outcome
        evidence["reward_uncertainty"] = s.reward_uncertainty
        if s.bonus is not None:
            evidence["bonus"] = s.bonus
        out: dict[str, Any] = jsonable(
            {
                "mechanic": self.mechanic,
                "schedule": {
                    "kind": s.kind,
                    "confidence": s.confidence,
                    "slot_machine_confidence": s.slot_machine_confidence,
                    "reward_probability": s.reward_probability,
                    "mean_ratio": s.mean_ratio,
                    "ratio_cv": s.ratio_cv,
                    "mean_interval_s": s.mean_interval_s,
                    "interval_cv": s.interval_cv,
                    "magnitude_cv": s.magnitude_cv,
                    "evidence": evidence,
                },
                "users": self.users,
                "markers": self.markers,
                "findings": [f.as_dict() for f in self.findings],
                "not_assessable": [a.as_dict() for a in self.not_assessable],
                "charts": self.charts,
            }
        )
        return out


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """A complete audit result (immutable).

    mechanics: per mechanic, sorted by name; findings: all findings, mechanic by mechanic in
    decision-table order; users: the per-(user, mechanic) table sorted by (mechanic, user_id);
    inputs: events, responses, users, first and last event time.
    """

    config: AnalysisConfig
    rules_version: str
    mechanics: tuple[MechanicReport, ...]
    findings: tuple[Finding, ...]
    users: UserTable
    inputs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report's "mechanics", "findings" and "glossary" (the entries of the figures the
        first two show): plain JSON values, no NaN."""
        out: dict[str, Any] = {
            "mechanics": [m.as_dict() for m in self.mechanics],
            "findings": [jsonable(f.as_dict()) for f in self.findings],
        }
        out["glossary"] = report_glossary(out)
        return out

    def user_records(self) -> Iterator[tuple[Any, ...]]:
        """One tuple of plain values per (user, mechanic), in (mechanic, user_id) order, the
        fields named by `USER_RECORD`: the flat form of a user row, which `user_row` nests.

        Each column is converted to plain values once (`column_values`, vectorised), then the
        records are zipped from the lists: the same values, bit for bit, as converting every
        row's numpy scalars one by one, at a small fraction of the cost.
        """
        if not len(self.users):
            return
        c = self.users.columns
        columns = [column_values(c[name]) for name in ROW_COLUMNS]
        tiers = [TIERS[i] for i in np.asarray(c["risk_tier"], dtype=np.int64).tolist()]
        # the markers that raised each row's tier, as a bit mask → their names
        names = [name for name, _ in RISK_MARKERS]
        mask = np.zeros(len(self.users), dtype=np.int64)
        for j, name in enumerate(names):
            mask |= np.asarray(c[f"raised_{name}"], dtype=np.int64) << j
        combos = {
            m: tuple(n for j, n in enumerate(names) if m >> j & 1) for m in np.unique(mask).tolist()
        }
        raised_by = [combos[m] for m in mask.tolist()]
        yield from zip(*columns, tiers, raised_by, strict=True)

    def user_rows(self) -> Iterator[dict[str, Any]]:
        """One JSON-able dict per (user, mechanic), in (mechanic, user_id) order: the API's
        per-user row, `user_row` of each of `user_records`."""
        for record in self.user_records():
            yield user_row(record)
