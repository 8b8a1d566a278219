"""What every figure a report shows means: per name, a plain-language definition, its unit, how
to read it, and how to show it to people (`display`: a share as %, seconds as a duration, …).

One definition of each name: the rules take a criterion's unit from here, the report carries
the entries it uses (`report_glossary`), and HTML and Markdown render from that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from models.markers.marker_terms import MARKER_TERMS
from models.markers.schedule_terms import SCHEDULE_TERMS
from models.markers.term import Term

# the schedule's figures and the markers' (each name defined in one of the two)
GLOSSARY: dict[str, Term] = SCHEDULE_TERMS | MARKER_TERMS


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
