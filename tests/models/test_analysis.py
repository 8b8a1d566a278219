"""The entry point: configuration, partitioned == whole, determinism, report shape, the demo."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import Any

import numpy as np
import orjson
import pytest

from models.amounts import amount_bounds
from models.analysis import (
    Analysis,
    AnalysisConfig,
    analyse,
    analyse_partition,
    merge,
    split_by_user,
)
from models.columns import OFFSET_UNKNOWN, RESPONSE, REWARD, EventColumns
from models.risk import MARKERS as RISK_MARKERS
from models.risk import TIERS
from models.rules import DEFAULT_TABLE, SEVERITIES
from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    demo_native_events,
    demo_spec,
    simulate_demo,
    simulate_product,
)


def _mixed_product_columns() -> EventColumns:
    """The demo's mechanics plus a two-option bandit and a wait-or-pay timer, shared users."""
    bandit = MechanicSpec(
        name="bandit",
        schedule=ScheduleSpec(
            kind="variable_ratio", option_probabilities=(0.7, 0.3), option_names=("a", "b")
        ),
        population=PopulationSpec(n_users=30, responses=(40.0, 120.0)),
    )
    timer = MechanicSpec(
        name="timer",
        schedule=ScheduleSpec(kind="continuous", wait_or_pay=True, values=(10.0,)),
        population=PopulationSpec(n_users=30, responses=(20.0, 60.0)),
    )
    spec = ProductSpec(mechanics=(bandit, *demo_spec(40).mechanics, timer))
    return simulate_product(spec, 11).events


COLUMNS = _mixed_product_columns()
CONFIG = AnalysisConfig(observed_until=float(COLUMNS.t.max()))


def _close(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-8, abs=1e-12), path
    else:
        assert a == b, path


def _same_users(a: Analysis, b: Analysis) -> None:
    assert a.users.columns.keys() == b.users.columns.keys()
    for name, col in a.users.columns.items():
        other = b.users[name]
        if col.dtype.kind == "f":
            np.testing.assert_allclose(
                col, other, rtol=1e-8, atol=1e-12, equal_nan=True, err_msg=name
            )
        else:
            np.testing.assert_array_equal(col, other, err_msg=name)


def test_partitioned_analysis_equals_the_whole() -> None:
    whole = analyse(COLUMNS, config=CONFIG, table=DEFAULT_TABLE)
    parts = split_by_user(COLUMNS, 3)
    assert len(parts) == 3
    assert sum(len(p) for p in parts) == len(COLUMNS)
    bounds = amount_bounds(COLUMNS)  # the caps on amounts of the whole audit, shared
    merged = merge(
        [analyse_partition(p, config=CONFIG, bounds=bounds) for p in parts],
        config=CONFIG,
        table=DEFAULT_TABLE,
    )
    _close(whole.as_dict(), merged.as_dict())
    _same_users(whole, merged)
    chunked = analyse(
        COLUMNS, config=dataclasses.replace(CONFIG, partition_events=5000), table=DEFAULT_TABLE
    )
    # the report and the user rows are the same JSON, not merely close
    assert json.dumps(chunked.as_dict()) == json.dumps(whole.as_dict())
    assert json.dumps(list(chunked.user_rows())) == json.dumps(list(whole.user_rows()))


def test_merge_refuses_partitions_with_different_windows() -> None:
    loose = AnalysisConfig()  # each part would end its window at its own last event
    parts = [analyse_partition(p, config=loose) for p in split_by_user(COLUMNS, 2)]
    with pytest.raises(ValueError, match="observed_until"):
        merge(parts, config=loose, table=DEFAULT_TABLE)


def test_merge_refuses_partitions_with_different_caps_on_amounts() -> None:
    # each part left to cap amounts by its own users would count a payment differently
    parts = [analyse_partition(p, config=CONFIG) for p in split_by_user(COLUMNS, 2)]
    assert parts[0].bounds != parts[1].bounds
    with pytest.raises(ValueError, match="caps on amounts"):
        merge(parts, config=CONFIG, table=DEFAULT_TABLE)


def test_report_is_deterministic_and_plain_json() -> None:
    a = json.dumps(analyse(COLUMNS, config=CONFIG, table=DEFAULT_TABLE).as_dict(), allow_nan=False)
    b = json.dumps(analyse(COLUMNS, config=CONFIG, table=DEFAULT_TABLE).as_dict(), allow_nan=False)
    assert a == b


def test_report_has_the_design_shape() -> None:
    analysis = analyse(COLUMNS, config=CONFIG, table=DEFAULT_TABLE)
    report = analysis.as_dict()
    assert [m["mechanic"] for m in report["mechanics"]] == [
        "bandit",
        "daily_reward",
        "quests",
        "slots",
        "timer",
    ]
    for m in report["mechanics"]:
        assert set(m["schedule"]) >= {
            "kind", "confidence", "reward_probability", "mean_ratio", "ratio_cv",
            "mean_interval_s", "interval_cv", "magnitude_cv", "evidence",
        }  # fmt: skip
        assert {"count", "fitted", "alpha", "risk_tiers"} <= set(m["users"])
        assert {"median", "p10", "p90"} == set(m["users"]["alpha"])
        assert {"spend_gini", "spend_top1_share", "spend_top10_share", "night_share",
                "loss_chasing_share", "rpe_persistence"} <= set(m["markers"])  # fmt: skip
        assert {"hazard", "rpe_by_exposure", "lorenz", "alpha_histogram"} <= set(m["charts"])
        assert len(m["charts"]["lorenz"]["population"]) == 101
        for f in m["findings"]:
            assert f["severity"] in SEVERITIES
            assert {
                "rule_id",
                "situation",
                "insight",
                "evidence",
                "recommendation",
                "references",
            } <= set(f)
    assert report["findings"] == [f for m in report["mechanics"] for f in m["findings"]]
    assert analysis.rules_version == DEFAULT_TABLE.version


def test_user_rows_are_plain_json_with_the_api_keys() -> None:
    analysis = analyse(COLUMNS, config=CONFIG, table=DEFAULT_TABLE)
    rows = list(analysis.user_rows())
    assert len(rows) == len(analysis.users)
    keys = {
        "user_id",
        "mechanic",
        "responses",
        "alpha",
        "alpha_ci",
        "beta",
        "b_delta",
        "risk_tier",
        "markers",
        "raised_by",
        "fit",
    }
    for row in rows:
        assert keys <= set(row)
        assert row["risk_tier"] in ("none", "low", "medium", "high")
    json.dumps(rows, allow_nan=False)
    by_mech = {r["mechanic"]: r for r in rows if r["fit"]["choice"]["status"] == "fitted"}
    assert by_mech["bandit"]["beta"] is not None  # choice fits report β ...
    assert by_mech["bandit"]["fit"]["alpha_source"] == "choice"  # ... and their α
    assert any(r["markers"]["discount_k"] is not None for r in rows if r["mechanic"] == "timer")
    assert [(r["mechanic"], r["user_id"]) for r in rows] == sorted(
        (r["mechanic"], r["user_id"]) for r in rows
    )


def _reference_jsonable(x: Any) -> Any:
    """The value-by-value conversion user rows were first built with (the reference)."""
    if isinstance(x, dict):
        return {str(k): _reference_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_reference_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_reference_jsonable(v) for v in x.tolist()]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if not math.isfinite(v):
            return None
        return float(f"{v:.10g}")
    return x


_MARKER_COLUMNS = (
    "spend", "night_share", "session_escalation", "frequency_escalation", "post_reward_pause",
    "rpe_persistence", "rpe_balance", "front_loading", "option_concentration", "aversive_share",
    "aversive_expectation", "discount_k", "local_time_responses", "chase_stake_effect",
)  # fmt: skip
_TEST_COLUMNS = {
    "loss_chasing_p": "chase_p",
    "night_play_p": "night_p",
    "session_escalation_p": "session_escalation_p",
    "frequency_escalation_p": "frequency_escalation_p",
}
_FIT_COLUMNS = (
    "b0", "b_v", "b_delta", "b_delta_se", "b_delta_p", "loglik", "loglik_null", "lr_stat",
    "p_value", "aic_delta", "reward_scale",
)  # fmt: skip


def _reference_user_row(c: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    raised = [name for name, _ in RISK_MARKERS if bool(c[f"raised_{name}"][i])]
    return {
        "user_id": c["user_id"][i],
        "mechanic": c["mechanic"][i],
        "responses": c["responses"][i],
        "alpha": c["alpha"][i],
        "alpha_ci": [c["alpha_lo"][i], c["alpha_hi"][i]],
        "beta": c["beta"][i],
        "b_delta": c["b_delta"][i],
        "risk_tier": TIERS[int(c["risk_tier"][i])],
        "raised_by": raised,
        "markers": {name: c[name][i] for name in _MARKER_COLUMNS},
        "tests": {key: c[name][i] for key, name in _TEST_COLUMNS.items()},
        "fit": {
            "status": c["fit_status"][i],
            "alpha_source": c["alpha_source"][i],
            "sessions": c["sessions"][i],
            "decisions": c["n_obs"][i],
            "alpha": c["engagement_alpha"][i],
            "alpha_ci": [c["engagement_alpha_lo"][i], c["engagement_alpha_hi"][i]],
            **{name: c[name][i] for name in _FIT_COLUMNS},
            "choice": {
                "status": c["choice_status"][i],
                "choices": c["choices"][i],
                "alpha": c["choice_alpha"][i],
                "alpha_ci": [c["choice_alpha_lo"][i], c["choice_alpha_hi"][i]],
                "beta": c["beta"][i],
                "loglik": c["choice_loglik"][i],
            },
            "discounting": {
                "status": c["discount_status"][i],
                "offers": c["wait_or_pay"][i],
                "k": c["discount_k"][i],
                "indifference_delay_s": c["indifference_delay_s"][i],
                "price_share": c["price_share"][i],
            },
        },
    }


def _reference_user_rows(analysis: Analysis) -> list[dict[str, Any]]:
    c = analysis.users.columns
    return [_reference_jsonable(_reference_user_row(c, i)) for i in range(len(analysis.users))]


def _with_edge_values(analysis: Analysis) -> Analysis:
    """The analysis with awkward floats written over some of its user columns."""
    n = len(analysis.users)
    edges = np.array(
        [-0.0, math.inf, -math.inf, 1e-300, 1.7976931348623157e308, 1234567890.5, 9.9999999995,
         999999999.95, 1e-14, 12345678901234.5, 0.1, 2.675, 100.0],
    )  # fmt: skip
    rng = np.random.default_rng(3)
    extra = {
        name: np.where(rng.random(n) < 0.5, rng.choice(edges, n), analysis.users[name])
        for name in ("spend", "b0", "loglik", "p_value", "alpha_lo", "discount_k")
    }
    return dataclasses.replace(analysis, users=analysis.users.with_columns(**extra))


def test_user_rows_are_the_value_by_value_conversion_byte_for_byte() -> None:
    analysis = analyse(COLUMNS, config=CONFIG, table=DEFAULT_TABLE)
    for a in (analysis, _with_edge_values(analysis)):
        fast = list(a.user_rows())
        assert orjson.dumps(fast, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
            _reference_user_rows(a), option=orjson.OPT_SORT_KEYS
        )
        assert json.dumps(fast) == json.dumps(_reference_user_rows(a))  # key order too


def _demo_bar(analysis: Analysis) -> None:
    by_name = {m.mechanic: m for m in analysis.mechanics}
    slots, daily, quests = by_name["slots"], by_name["daily_reward"], by_name["quests"]
    assert slots.schedule.kind == "variable_ratio"
    assert "variable-ratio-reward" in [f.rule_id for f in slots.findings]
    assert daily.schedule.kind == "fixed_interval"
    assert all(SEVERITIES.index(f.severity) <= SEVERITIES.index("info") for f in quests.findings)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_demo_product_reads_as_designed(seed: int) -> None:
    _demo_bar(analyse(simulate_demo(seed).events, config=AnalysisConfig(), table=DEFAULT_TABLE))


def columns_from_native(events: list[dict[str, Any]]) -> EventColumns:
    """Native JSON events → columns, by the conventions the service follows."""
    props = [e.get("properties") or {} for e in events]
    return EventColumns.from_arrays(
        user_id=[e["user_id"] for e in events],
        mechanic=[e["mechanic"] for e in events],
        kind=[RESPONSE if e["kind"] == "response" else REWARD for e in events],
        t=[
            dt.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp()
            for e in events
        ],
        value=[float(e.get("value", 0.0)) for e in events],
        cost=[float(e.get("cost", 0.0)) for e in events],
        option=[e.get("option") for e in events],
        session_id=[e.get("session_id") for e in events],
        utc_offset_s=[int(p.get("utc_offset_s", OFFSET_UNKNOWN)) for p in props],
        delay_s=[float(p.get("delay_s", math.nan)) for p in props],
    )


def test_the_demo_posted_as_native_events_reads_the_same() -> None:
    events = json.loads(json.dumps(demo_native_events(seed=0)))
    from_json = analyse(columns_from_native(events), config=AnalysisConfig(), table=DEFAULT_TABLE)
    _demo_bar(from_json)
    direct = analyse(simulate_demo(0).events, config=AnalysisConfig(), table=DEFAULT_TABLE)
    _close(from_json.as_dict(), direct.as_dict())


def test_too_little_data_is_reported_not_fitted() -> None:
    cols = EventColumns.from_arrays(
        user_id=["a", "a", "b"],
        mechanic=["m", "m", "m"],
        kind=[RESPONSE, REWARD, RESPONSE],
        t=[0.0, 1.0, 5.0],
        value=[0.0, 3.0, 0.0],
    )
    analysis = analyse(cols, config=AnalysisConfig(), table=DEFAULT_TABLE)
    (mech,) = analysis.mechanics
    assert mech.schedule.kind == "insufficient_data"
    assert mech.findings == ()
    assert set(analysis.users["fit_status"]) == {"insufficient_data"}
    json.dumps(analysis.as_dict(), allow_nan=False)


def test_no_events_no_mechanics() -> None:
    cols = EventColumns.from_arrays(user_id=[], mechanic=[], kind=[], t=[])
    analysis = analyse(cols, config=AnalysisConfig(), table=DEFAULT_TABLE)
    assert analysis.as_dict() == {"mechanics": [], "findings": [], "glossary": {}}
    assert list(analysis.user_rows()) == []


def test_progress_reports_every_stage() -> None:
    seen: list[tuple[str, int, int]] = []
    analyse(
        COLUMNS, config=CONFIG, table=DEFAULT_TABLE, progress=lambda s, d, t: seen.append((s, d, t))
    )
    stages = [s for s, _, _ in seen]
    assert {"fits", "schedules", "markers"} <= set(stages)
    assert all(0 <= d <= t for _, d, t in seen)
    assert seen[-1] == ("markers", 5, 5)


def test_config_round_trips_through_json() -> None:
    config = AnalysisConfig(session_gap_s=600.0, min_responses_fit=80, observed_until=1.5e9)
    assert AnalysisConfig.from_dict(json.loads(json.dumps(config.as_dict()))) == config
    assert AnalysisConfig.from_dict({}) == AnalysisConfig()


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"session_gap": 10}, "session_gap"),
        ({"session_gap_s": "long"}, "session_gap_s"),
        ({"min_responses_fit": 2.5}, "min_responses_fit"),
        ({"alpha_min": 0.995}, "alpha_min"),
        ({"session_gap_s": -1}, "session_gap_s"),
        ({"beta_max": float("inf")}, "beta_max"),
        ({"min_responses_fit": True}, "min_responses_fit"),
    ],
)
def test_bad_config_names_the_key(mapping: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        AnalysisConfig.from_dict(mapping)


def test_partitions_of_grouped_events_are_runs_of_the_same_users() -> None:
    order = np.argsort(COLUMNS.user, kind="stable")
    grouped = COLUMNS.take(order)
    by_runs = split_by_user(grouped, 3)
    by_gathers = split_by_user(COLUMNS, 3)
    assert len(by_runs) == len(by_gathers) == 3
    for run, gathered in zip(by_runs, by_gathers, strict=True):
        assert run.user.base is not None  # a view of the grouped arrays: nothing copied
        np.testing.assert_array_equal(np.unique(run.user), np.unique(gathered.user))
        np.testing.assert_array_equal(np.sort(run.t), np.sort(gathered.t))
