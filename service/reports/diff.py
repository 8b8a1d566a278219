"""What changed from one report to another: findings new, resolved and of changed severity,
the reinforcement schedule's kind per mechanic, and markers that moved beyond their intervals.

A finding is identified by its rule and mechanic. A marker moves when the later report's figure
lies outside the interval the earlier report gives it; the report carries two such intervals
per mechanic, and only figures with one are compared (a figure without an interval cannot be
told apart from noise):

- a user flag's share (flagged of tested, `markers.user_flags`): the Wilson (1927) 95 % score
  interval of the earlier share;
- the medians of the users' fitted parameters (`users.alpha`, `users.b_delta`, `users.b_v`):
  the earlier report's 10th to 90th percentile of users.

Two reports of different scopes (`report_scope`: the mechanics requested, the window, the
configuration) are compared only over the mechanics both cover, and the diff names what
differs in `scope_changed`: a mechanic one audit did not look at is neither resolved nor new.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from models.calibration import wilson_interval
from models.rules import SEVERITIES as SEVERITY_NAMES

FindingKey = tuple[str, str]
USER_QUANTILES = ("alpha", "b_delta", "b_v")


@dataclass(frozen=True, slots=True)
class SeverityChange:
    rule_id: str
    mechanic: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class ScheduleChange:
    """A mechanic whose schedule kind changed (None: the mechanic is absent from that report)."""

    mechanic: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class MarkerMove:
    """A figure of a mechanic that left the earlier report's interval for it."""

    mechanic: str
    marker: str
    before: float
    after: float
    interval: tuple[float, float]
    interval_kind: str


@dataclass(frozen=True, slots=True)
class ReportDiff:
    """Changes from `before` to `after`; findings as the reports hold them (dicts)."""

    before_id: str | None
    after_id: str | None
    new_findings: list[dict[str, Any]] = field(default_factory=list)
    resolved_findings: list[dict[str, Any]] = field(default_factory=list)
    changed_severity: list[SeverityChange] = field(default_factory=list)
    schedule_changes: list[ScheduleChange] = field(default_factory=list)
    marker_moves: list[MarkerMove] = field(default_factory=list)
    # the parts of the scope that differ ("mechanics", "from", "to", "config"); when any does,
    # only `compared_mechanics` (None: all) are compared
    scope_changed: list[str] = field(default_factory=list)
    compared_mechanics: list[str] | None = None

    @property
    def unchanged(self) -> bool:
        return not (
            self.new_findings
            or self.resolved_findings
            or self.changed_severity
            or self.schedule_changes
            or self.marker_moves
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for move in out["marker_moves"]:
            move["interval"] = list(move["interval"])
        return out


def diff_reports(before: Mapping[str, Any], after: Mapping[str, Any]) -> ReportDiff:
    """What changed from the report `before` to the report `after`, over the mechanics both
    cover."""
    old_scope, new_scope = report_scope(before), report_scope(after)
    compared = _both_cover(old_scope["mechanics"], new_scope["mechanics"])
    old = _findings(before, compared)
    new = _findings(after, compared)
    return ReportDiff(
        before_id=before.get("id"),
        after_id=after.get("id"),
        new_findings=[dict(new[key]) for key in sorted(new.keys() - old.keys())],
        resolved_findings=[dict(old[key]) for key in sorted(old.keys() - new.keys())],
        changed_severity=[
            SeverityChange(key[0], key[1], old[key]["severity"], new[key]["severity"])
            for key in sorted(old.keys() & new.keys())
            if old[key]["severity"] != new[key]["severity"]
        ],
        schedule_changes=_schedule_changes(before, after, compared),
        marker_moves=_marker_moves(before, after, compared),
        scope_changed=[part for part in old_scope if old_scope[part] != new_scope[part]],
        compared_mechanics=None if compared is None else sorted(compared),
    )


def report_scope(report: Mapping[str, Any]) -> dict[str, Any]:
    """What a report looked at: the mechanics it requested (sorted; empty: all), its window's
    ends and its configuration (without `partition_events`, which changes how the work is
    split, not the report). Reports of equal scopes are comparable finding by finding."""
    window = report.get("window") or {}
    config = dict(report.get("config") or {})
    analysis = dict(config.get("analysis") or {})
    analysis.pop("partition_events", None)
    config["analysis"] = analysis
    return {
        "mechanics": sorted(set(window.get("mechanics") or [])),
        "from": window.get("from"),
        "to": window.get("to"),
        "config": config,
    }


def _both_cover(before: list[str], after: list[str]) -> frozenset[str] | None:
    """The mechanics two requested sets both cover (None: all; an empty request is all)."""
    if before == after:
        return None
    if not before:
        return frozenset(after) or None
    if not after:
        return frozenset(before)
    return frozenset(before) & frozenset(after)


def _covered(mechanic: str, compared: frozenset[str] | None) -> bool:
    return compared is None or mechanic in compared


def _findings(
    report: Mapping[str, Any], compared: frozenset[str] | None
) -> dict[FindingKey, Mapping[str, Any]]:
    return {
        (f["rule_id"], f.get("mechanic") or ""): f
        for f in report.get("findings") or []
        if _covered(f.get("mechanic") or "", compared)
    }


def _mechanics(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {m["mechanic"]: m for m in report.get("mechanics") or []}


def _schedule_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], compared: frozenset[str] | None
) -> list[ScheduleChange]:
    old = _mechanics(before)
    new = _mechanics(after)
    changes = []
    for name in sorted(m for m in old.keys() | new.keys() if _covered(m, compared)):
        was = _kind(old.get(name))
        now = _kind(new.get(name))
        if was != now:
            changes.append(ScheduleChange(name, was, now))
    return changes


def _kind(mechanic: Mapping[str, Any] | None) -> str | None:
    if mechanic is None:
        return None
    kind = (mechanic.get("schedule") or {}).get("kind")
    return None if kind is None else str(kind)


def _marker_moves(
    before: Mapping[str, Any], after: Mapping[str, Any], compared: frozenset[str] | None
) -> list[MarkerMove]:
    old = _mechanics(before)
    new = _mechanics(after)
    moves = []
    for name in sorted(m for m in old.keys() & new.keys() if _covered(m, compared)):
        earlier = dict(_intervals(old[name]))
        for marker, (value, _, _) in _intervals(new[name]):
            if marker not in earlier:
                continue
            was, (low, high), kind = earlier[marker]
            if not low <= value <= high:
                moves.append(MarkerMove(name, marker, was, value, (low, high), kind))
    return moves


def _intervals(
    mechanic: Mapping[str, Any],
) -> Iterator[tuple[str, tuple[float, tuple[float, float], str]]]:
    """(figure, (value, its interval, the interval's kind)) for each figure with an interval."""
    flags = (mechanic.get("markers") or {}).get("user_flags") or {}
    for flag, counts in flags.items():
        if not isinstance(counts, Mapping) or not counts.get("tested"):
            continue
        tested, flagged = int(counts["tested"]), int(counts["flagged"])
        interval = wilson_interval(flagged, tested)
        yield f"user_flags.{flag}", (flagged / tested, interval, "wilson-95")
    users = mechanic.get("users") or {}
    for name in USER_QUANTILES:
        q = users.get(name) or {}
        median, low, high = q.get("median"), q.get("p10"), q.get("p90")
        if median is None or low is None or high is None:
            continue
        yield f"users.{name}.median", (float(median), (float(low), float(high)), "users-p10-p90")


def check_comparable(report: Any) -> None:
    """Raise ValueError naming the first field (as a path, e.g. `findings[2].rule_id`) of a
    report read from a file that the diff needs and that is missing or of the wrong type."""
    if not isinstance(report, Mapping):
        raise ValueError("not a JSON object")
    _need(report, "findings", list, "")
    for i, finding in enumerate(report["findings"]):
        where = f"findings[{i}]"
        if not isinstance(finding, Mapping):
            raise ValueError(f"{where}: not an object")
        for key in ("rule_id", "mechanic", "severity"):
            _need(finding, key, str, f"{where}.")
        if finding["severity"] not in SEVERITY_NAMES:
            raise ValueError(f"{where}.severity: not one of {', '.join(SEVERITY_NAMES)}")
    for i, mechanic in enumerate(_optional(report, "mechanics", list, "")):
        where = f"mechanics[{i}]"
        if not isinstance(mechanic, Mapping):
            raise ValueError(f"{where}: not an object")
        _need(mechanic, "mechanic", str, f"{where}.")
        markers = _optional(mechanic, "markers", Mapping, f"{where}.")
        flags = _optional(markers, "user_flags", Mapping, f"{where}.markers.")
        for flag, counts in flags.items():
            if isinstance(counts, Mapping):
                for key in ("tested", "flagged"):
                    _need(counts, key, int, f"{where}.markers.user_flags.{flag}.")
    window = _optional(report, "window", Mapping, "")
    if not all(isinstance(m, str) for m in _optional(window, "mechanics", list, "window.")):
        raise ValueError("window.mechanics: not a list of names")


def _need(parent: Mapping[str, Any], key: str, kind: type, where: str) -> None:
    if key not in parent:
        raise ValueError(f"{where}{key}: missing")
    value = parent[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{where}{key}: not {_KIND_NAMES.get(kind, kind.__name__)}")


def _optional(parent: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """parent[key] when present and not null (checked to be a `kind`), else an empty one."""
    if parent.get(key) is None:
        return {} if kind is Mapping else []
    _need(parent, key, kind, where)
    return parent[key]


_KIND_NAMES = {list: "a list", str: "a string", int: "an integer", Mapping: "an object"}
