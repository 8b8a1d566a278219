"""Reports for people: a self-contained HTML page with charts, and Markdown.

Charts are drawn by matplotlib into inline SVG (text as paths), so the page makes no request
of its own and reads the same offline, archived, or printed.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from models.analysis import AnalysisConfig
from models.rules import SEVERITIES as SEVERITY_NAMES
from service.reports.diff import ReportDiff
from service.reports.finding_block import (
    criteria_html,
    figure_rows_html,
    figure_rows_markdown,
    finding_markdown,
    glossary_html,
    glossary_markdown,
    glossary_of,
)
from service.reports.markdown_text import md_text

SEVERITIES: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITY_NAMES)}
SEVERITY_COLOURS = {
    "info": "#4a6fa5",
    "low": "#5b8c5a",
    "medium": "#c8a13a",
    "high": "#d2691e",
    "critical": "#b22222",
}
CHART_SIZE = (5.2, 3.2)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def sorted_findings(findings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(
        findings, key=lambda f: (-SEVERITIES[f["severity"]], f.get("mechanic", ""), f["rule_id"])
    )


def scope_rows(report: Mapping[str, Any], name: Callable[[str], str] = str) -> dict[str, Any]:
    """What the report covers: its mechanics, window and configuration (the settings it changed
    from the defaults, and its rule overrides); `name` writes a mechanic's name (`md_text` for
    Markdown)."""
    window = report.get("window") or {}
    config = report.get("config") or {}
    defaults = AnalysisConfig().as_dict()
    changed = {k: v for k, v in (config.get("analysis") or {}).items() if defaults.get(k, v) != v}
    rows: dict[str, Any] = {
        "mechanics": ", ".join(name(m) for m in window.get("mechanics") or []) or "all",
        "from": window.get("from") or "the first event",
        "to": window.get("to") or "the last event",
    }
    if window.get("unmatched"):
        rows["matched no event"] = ", ".join(name(m) for m in window["unmatched"])
    rows["settings"] = changed or "defaults"
    rows["rule overrides"] = config.get("rules") or "none"
    rows["rules version"] = report.get("rules_version")
    return rows


def _move_text(move: Any, name: Callable[[str], str]) -> str:
    low, high = move.interval
    return (
        f"{move.marker} ({name(move.mechanic)}): {_fmt(move.before)} → {_fmt(move.after)}, outside "
        f"[{_fmt(low)}, {_fmt(high)}] ({move.interval_kind})"
    )


def change_lines(diff: ReportDiff, name: Callable[[str], str] = str) -> list[tuple[str, str]]:
    """(kind, text) of each change, most telling first; `name` writes a mechanic's name
    (`md_text` for Markdown)."""
    lines = [
        ("new", f"{f['severity']} `{f['rule_id']}` ({name(f['mechanic'])}): {f.get('insight')}")
        for f in sorted_findings(diff.new_findings)
    ]
    lines += [
        ("resolved", f"`{f['rule_id']}` ({name(f['mechanic'])})")
        for f in sorted_findings(diff.resolved_findings)
    ]
    lines += [
        ("severity", f"`{c.rule_id}` ({name(c.mechanic)}): {c.before} → {c.after}")
        for c in diff.changed_severity
    ]
    lines += [
        ("schedule", f"{name(c.mechanic)}: {c.before or 'absent'} → {c.after or 'absent'}")
        for c in diff.schedule_changes
    ]
    lines += [("marker", _move_text(m, name)) for m in diff.marker_moves]
    return lines  # fmt: skip


def scope_note(diff: ReportDiff, name: Callable[[str], str] = str) -> str | None:
    """What the diff leaves out when the two reports differ in scope (None: same scope)."""
    if not diff.scope_changed:
        return None
    compared = (
        "all mechanics"
        if diff.compared_mechanics is None
        else "only " + (", ".join(name(m) for m in diff.compared_mechanics) or "no mechanic")
    )
    return (
        f"The audits differ in scope ({', '.join(diff.scope_changed)}): {compared} compared, "
        "the mechanics both cover."
    )


def changes_markdown(diff: ReportDiff) -> list[str]:
    out = [f"## Changes since the previous audit (`{diff.before_id}`)", ""]
    if (note := scope_note(diff, md_text)) is not None:
        out += [f"_{note}_", ""]
    lines = change_lines(diff, md_text)
    out += [f"- **{kind}** {text}" for kind, text in lines] or ["No change."]
    return [*out, ""]


def _changes_html(diff: ReportDiff | None) -> str:
    if diff is None:
        return ""
    items = "".join(
        f"<li><strong>{html.escape(kind)}</strong> {html.escape(text)}</li>"
        for kind, text in change_lines(diff)
    )
    return (
        f'<h2 id="changes">Changes since the previous audit ({_e(diff.before_id)})</h2>'
        f"{'' if (note := scope_note(diff)) is None else f'<p class=scope-note>{_e(note)}</p>'}"
        f"{f'<ul>{items}</ul>' if items else '<p class=muted>No change.</p>'}"
    )


# ---- charts ---------------------------------------------------------------------------------


def _svg(draw: Callable[[Axes], None], title: str) -> str:
    figure = Figure(figsize=CHART_SIZE, dpi=100, layout="constrained")
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=10)
    draw(axes)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _no_data(axes: Axes, why: str) -> None:
    axes.text(0.5, 0.5, why, ha="center", va="center", transform=axes.transAxes, color="#666")
    axes.set_xticks([])
    axes.set_yticks([])


def _hazard_chart(chart: Mapping[str, Any]) -> str:
    def draw(axes: Axes) -> None:
        k, hazard = chart.get("k") or [], chart.get("hazard") or []
        if not k:
            _no_data(axes, "no rewarded runs")
            return
        axes.plot(k, hazard, marker="o", markersize=3, color="#4a6fa5")
        axes.set_xlabel("responses since the last reward")
        axes.set_ylabel("P(reward)")
        axes.set_ylim(bottom=0)

    return _svg(draw, "Reward hazard")


def _rpe_chart(chart: Mapping[str, Any]) -> str:
    def draw(axes: Axes) -> None:
        exposure, rpe = chart.get("responses_from") or [], chart.get("mean_abs_rpe") or []
        if not exposure:
            _no_data(axes, "too few responses")
            return
        axes.plot(exposure, rpe, marker="o", markersize=3, color="#d2691e")
        axes.set_xscale("log", base=2)
        axes.set_xlabel("responses so far (exposure, log scale)")
        axes.set_ylabel("mean |RPE|")
        axes.set_ylim(bottom=0)

    return _svg(draw, "Prediction error with exposure")


def _alpha_chart(chart: Mapping[str, Any]) -> str:
    def draw(axes: Axes) -> None:
        edges, counts = chart.get("edges") or [], chart.get("counts") or []
        if not counts or not sum(counts):
            _no_data(axes, "no user fitted")
            return
        axes.stairs(counts, edges, fill=True, color="#5b8c5a", alpha=0.8)
        axes.set_xlabel("fitted learning rate α")
        axes.set_ylabel("users")

    return _svg(draw, "Learning rates (α)")


def _lorenz_chart(chart: Mapping[str, Any]) -> str:
    def draw(axes: Axes) -> None:
        population, share = chart.get("population") or [], chart.get("spend") or []
        if len(population) < 2 or all(v is None for v in share):
            _no_data(axes, "no spend logged")
            return
        axes.plot([0, 1], [0, 1], linestyle="--", color="#999", linewidth=1)
        axes.plot(population, share, color="#b22222")
        axes.set_xlabel("share of users (by spend)")
        axes.set_ylabel("share of spend")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)

    return _svg(draw, "Spend concentration (Lorenz)")


CHARTS: tuple[tuple[str, Callable[[Mapping[str, Any]], str]], ...] = (
    ("hazard", _hazard_chart),
    ("rpe_by_exposure", _rpe_chart),
    ("alpha_histogram", _alpha_chart),
    ("lorenz", _lorenz_chart),
)


# ---- HTML -----------------------------------------------------------------------------------

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin-top:32px;border-bottom:1px solid #ddd}
h3{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th{font-weight:600;color:#555}
.muted{color:#666;font-size:13px}.badge{display:inline-block;padding:1px 8px;border-radius:10px;
color:#fff;font-size:12px;font-weight:600;text-transform:uppercase}
.finding{background:#fff;border:1px solid #e3e3e3;border-left-width:6px;border-radius:4px;
padding:10px 14px;margin:10px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid #e3e3e3;border-radius:4px;padding:6px}
figure svg{width:100%;height:auto;display:block}
code{font-size:12px;word-break:break-all}
"""


def _e(value: Any) -> str:
    return html.escape(_fmt(value))


def _badge(severity: str) -> str:
    colour = SEVERITY_COLOURS[severity]
    return f'<span class="badge" style="background:{colour}">{html.escape(severity)}</span>'


def _table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_e(v)}</td></tr>" for k, v in rows.items()
    )
    return f"<table>{body}</table>"


def _reference_item(ref: Any) -> str:
    """One cited work: its citation and what it shows (reports before references carried
    what each work shows list bare citations)."""
    if isinstance(ref, Mapping):
        return (
            f"<li>{_e(ref.get('citation'))}<br><span class=shows>{_e(ref.get('shows'))}</span></li>"
        )
    return f"<li>{_e(ref)}</li>"


def _references(items: str) -> str:
    return f"<p class=muted>References</p><ul class=muted>{items}</ul>" if items else ""


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>{body}</details>"


def _figures(rows: Mapping[str, Any]) -> str:
    return figure_rows_html(rows, _fmt)


def _finding_html(finding: Mapping[str, Any], glossary: Mapping[str, Any]) -> str:
    colour = SEVERITY_COLOURS[finding["severity"]]
    references = "".join(_reference_item(r) for r in finding.get("references", []))
    mechanic = finding.get("mechanic")
    return (
        f'<div class="finding" style="border-left-color:{colour}" '
        f'data-rule="{html.escape(finding["rule_id"])}">'
        f"{_badge(finding['severity'])} <strong>{_e(finding.get('insight'))}</strong> "
        f'<span class="muted">{_e(finding["rule_id"])}'
        f"{' · ' + _e(mechanic) if mechanic else ''}</span>"
        f"<p><em>Situation:</em> {_e(finding.get('situation'))}</p>"
        f"<p><em>Recommendation:</em> {_e(finding.get('recommendation'))}</p>"
        f"{criteria_html(finding, glossary)}"
        f"<details><summary>Evidence</summary>{_figures(finding.get('evidence') or {})}</details>"
        f"{_references(references)}"
        "</div>"
    )


def _mechanic_html(mechanic: Mapping[str, Any], glossary: Mapping[str, Any]) -> str:
    name = mechanic["mechanic"]
    schedule = dict(mechanic.get("schedule") or {})
    evidence = schedule.pop("evidence", None)
    charts = mechanic.get("charts") or {}
    figures = "".join(
        f'<figure data-chart="{key}" data-mechanic="{html.escape(name)}">'
        f"{draw(charts.get(key) or {})}</figure>"
        for key, draw in CHARTS
    )
    findings = "".join(
        _finding_html(f, glossary) for f in sorted_findings(mechanic.get("findings", []))
    )
    return (
        f'<section data-mechanic="{html.escape(name)}"><h2>{html.escape(name)}</h2>'
        f"<h3>Reinforcement schedule: {_e(schedule.get('kind'))}</h3>{_figures(schedule)}"
        f"{_details('Schedule evidence', _figures(evidence)) if evidence else ''}"
        f"<h3>Findings</h3>{findings or '<p class=muted>None.</p>'}"
        f'<h3>Charts</h3><div class="charts">{figures}</div>'
        f"<h3>Users</h3>{_figures(mechanic.get('users') or {})}"
        f"<h3>Markers</h3>{_figures(mechanic.get('markers') or {})}"
        "</section>"
    )


def render_html(report: Mapping[str, Any], diff: ReportDiff | None = None) -> str:
    """The report as one self-contained HTML page; `diff`: the changes since the previous
    report, shown after the summary."""
    findings = sorted_findings(report.get("findings", []))
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in reversed(SEVERITIES)}
    summary = " ".join(f"{_badge(s)} {n}" for s, n in counts.items() if n) or "no findings"
    provenance = {
        "report": report.get("id"),
        "created": report.get("created_at"),
        "engine": report.get("engine_version"),
        "rules version": report.get("rules_version"),
        "digest": report.get("digest"),
        "previous report": report.get("previous_report_digest"),
    }
    glossary = glossary_of(report)
    mechanics = "".join(_mechanic_html(m, glossary) for m in report.get("mechanics", []))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>Retention Audit report {_e(report.get('id'))}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>Retention Audit report</h1>"
        f'<p class="muted">{_e(report.get("id"))} · {_e(report.get("created_at"))}</p>'
        f'<h2>Scope</h2><div id="scope">{_table(scope_rows(report))}</div>'
        f'<h2>Summary</h2><p id="severity-summary">{summary}</p>'
        f"{''.join(_finding_html(f, glossary) for f in findings)}"
        f"{_changes_html(diff)}"
        f"<h2>Input</h2>{_table(report.get('input') or {})}"
        f"{mechanics}"
        f"{glossary_html(glossary)}"
        f"<h2>Provenance</h2>{_table(provenance)}"
        f"<details><summary>Configuration</summary>{_table(report.get('config') or {})}</details>"
        "</main></body></html>"
    )


# ---- Markdown -------------------------------------------------------------------------------


# a pipe not escaped (`md_text` escapes them) would end a table cell
_BARE_PIPE = re.compile(r"(?<!\\)\|")


def _cell(text: str) -> str:
    return _BARE_PIPE.sub("/", text)


def md_table(rows: Mapping[str, Any]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {k} | {' '.join(_cell(_fmt(v)).splitlines())} |" for k, v in rows.items()]
    return "\n".join(lines)


def render_markdown(report: Mapping[str, Any], diff: ReportDiff | None = None) -> str:
    """The report as Markdown (for tickets and review notes); `diff`: the changes since the
    previous report, after the findings."""
    out = [f"# Retention Audit report `{report.get('id')}`", ""]
    out += [
        f"Engine {report.get('engine_version')} · rules `{report.get('rules_version')}` · "
        f"digest `{report.get('digest')}`",
        "",
        "## Scope",
        "",
        md_table(scope_rows(report, md_text)),
        "",
        "## Findings",
        "",
    ]
    findings = sorted_findings(report.get("findings", []))
    glossary = glossary_of(report)
    if not findings:
        out.append("None.")
    for f in findings:
        out += finding_markdown(f, glossary)
    out.append("")
    if diff is not None:
        out += changes_markdown(diff)
    out += ["## Input", "", md_table(report.get("input") or {}), ""]
    for mechanic in report.get("mechanics", []):
        schedule = {k: v for k, v in (mechanic.get("schedule") or {}).items() if k != "evidence"}
        out += [
            f"## {md_text(mechanic['mechanic'])}",
            "",
            f"Schedule: **{schedule.get('kind')}**",
            "",
            figure_rows_markdown(schedule, _fmt),
            "",
            "### Markers",
            "",
            figure_rows_markdown(mechanic.get("markers") or {}, _fmt),
            "",
        ]
    out += glossary_markdown(glossary)
    return "\n".join(out) + "\n"
