"""A finding and the figures it rests on, for people: the conditions it met with their
thresholds, the steps that set its severity, and the glossary of the figures a report shows.

Values are formatted as their glossary entry says (`models.markers.glossary.human`): shares
as %, durations as "28.6 h". HTML and Markdown are made from the same lines.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from models.markers.glossary import GLOSSARY, human, report_glossary
from service.reports.markdown_text import md_text

COMPARISONS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "is": "is", "is one of": "is one of"}


def _threshold(marker: str, threshold: Any) -> str:
    if isinstance(threshold, list):
        return ", ".join(str(t) for t in threshold)
    return human(marker, threshold)


def _definition(marker: str, glossary: Mapping[str, Mapping[str, str]]) -> str:
    entry = glossary.get(marker) or (GLOSSARY[marker].as_dict() if marker in GLOSSARY else None)
    return entry["definition"] if entry else ""


def criterion_text(criterion: Mapping[str, Any], glossary: Mapping[str, Any]) -> str:
    """e.g. "night_user_share 42 % ≥ 20 % (share of assessable users who play mostly at
    night …)"; a share of users names the condition each user counted met."""
    marker = criterion["marker"]
    comparison = COMPARISONS.get(criterion["comparison"], criterion["comparison"])
    text = (
        f"{marker} {human(marker, criterion['value'])} {comparison} "
        f"{_threshold(marker, criterion['threshold'])}"
    )
    counted = criterion.get("users_counted")
    if counted:
        cut = counted["marker"]
        text += (
            f"; users counted where {cut} "
            f"{COMPARISONS.get(counted['comparison'], counted['comparison'])} "
            f"{_threshold(cut, counted['threshold'])}"
        )
    definition = _definition(marker, glossary)
    return f"{text} ({definition})" if definition else text


def step_lines(finding: Mapping[str, Any]) -> list[str]:
    """The severity steps as "medium — base severity of …", "high — +1: …"."""
    return [f"{s['severity']} — {s['reason']}" for s in finding.get("severity_steps") or []]


def glossary_of(report: Mapping[str, Any]) -> Mapping[str, Mapping[str, str]]:
    """The report's glossary; a report written before reports carried one gets the entries of
    the figures it shows."""
    stored: Mapping[str, Mapping[str, str]] | None = report.get("glossary")
    return stored if stored is not None else report_glossary(report)


# ---- HTML -----------------------------------------------------------------------------------


def _list(items: list[str], css: str) -> str:
    body = "".join(f"<li>{html.escape(i)}</li>" for i in items)
    return f'<ul class="{css}">{body}</ul>' if body else ""


def criteria_html(finding: Mapping[str, Any], glossary: Mapping[str, Any]) -> str:
    """The finding's thresholds crossed and its severity steps (empty for a report written
    before findings carried them)."""
    criteria = [criterion_text(c, glossary) for c in finding.get("criteria") or []]
    steps = step_lines(finding)
    out = ""
    if criteria:
        out += f"<p><em>Thresholds crossed:</em></p>{_list(criteria, 'criteria')}"
    if steps:
        out += f"<p><em>Why {html.escape(finding['severity'])}:</em></p>{_list(steps, 'steps')}"
    return out


def figure_rows_html(rows: Mapping[str, Any], fallback: Any) -> str:
    """A table of figures: each name links to its glossary entry, each value formatted for
    people; nested values (quantiles, steps, flags) as `fallback` formats them."""
    body = "".join(
        f'<tr><th><a href="#g-{html.escape(str(k))}">{html.escape(str(k))}</a></th>'
        f"<td>{html.escape(_value(k, v, fallback))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{body}</table>"


def _value(name: str, value: Any, fallback: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return str(fallback(value))
    return human(name, value)


def glossary_html(glossary: Mapping[str, Mapping[str, str]]) -> str:
    rows = "".join(
        f'<tr id="g-{html.escape(name)}"><th>{html.escape(name)}</th>'
        f"<td>{html.escape(e['definition'])}</td><td>{html.escape(e['unit'])}</td>"
        f"<td>{html.escape(e['reading'])}</td></tr>"
        for name, e in sorted(glossary.items())
    )
    return (
        '<h2 id="glossary">Glossary</h2><table class="glossary"><tr><th>figure</th>'
        f"<th>definition</th><th>unit</th><th>how to read it</th></tr>{rows}</table>"
    )


# ---- Markdown -------------------------------------------------------------------------------


def finding_markdown(finding: Mapping[str, Any], glossary: Mapping[str, Any]) -> list[str]:
    """The finding as a bullet, its thresholds crossed and severity steps as sub-bullets."""
    out = [
        f"- **{finding['severity'].upper()}** `{finding['rule_id']}` "
        f"({md_text(finding.get('mechanic', 'project'))}): {finding.get('insight')}. "
        f"{finding.get('recommendation')}"
    ]
    criteria = finding.get("criteria") or []
    if criteria:
        out.append("  - Thresholds crossed:")
        out += [f"    - {criterion_text(c, glossary)}" for c in criteria]
    steps = step_lines(finding)
    if steps:
        out.append(f"  - Why {finding['severity']}:")
        out += [f"    - {s}" for s in steps]
    return out


def glossary_markdown(glossary: Mapping[str, Mapping[str, str]]) -> list[str]:
    out = ["## Glossary", "", "| figure | definition | unit | how to read it |"]
    out.append("|---|---|---|---|")
    out += [
        f"| {name} | {e['definition']} | {e['unit']} | {e['reading']} |".replace("\n", " ")
        for name, e in sorted(glossary.items())
    ]
    return [*out, ""]


def figure_rows_markdown(rows: Mapping[str, Any], fallback: Any) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {k} | {_value(k, v, fallback).replace('|', '/')} |" for k, v in rows.items()]
    return "\n".join(lines)
