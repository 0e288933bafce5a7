"""The benchmark's summary and JSON carry exactly the figures the issue names (no timing is asserted here)."""

import json

from bench import report

KEYS = {"board_propagation_p50_ms", "board_propagation_p95_ms", "board_server_p95_ms", "board_errors",
        "autosave_p95_ms", "autosave_errors", "login_30_seconds", "join_12_seconds", "live_vs_bare_ratio", "workbook_vs_bare_ratio",
        "rss_mb", "startup_seconds"}


def test_the_json_has_exactly_the_named_keys(tmp_path):
    figures = {key: 1.234 for key in KEYS} | {"board_errors": 0, "an_extra_figure": 5}
    path = tmp_path / "bench.json"
    report.write_json(path, figures)
    data = json.loads(path.read_text())
    assert set(data) == KEYS
    assert data["board_errors"] == 0 and data["board_server_p95_ms"] == 1.2


def test_a_figure_not_measured_is_null_and_the_table_says_so():
    summary = report.summary({"rss_mb": float("nan")})
    assert set(summary) == KEYS and summary["rss_mb"] is None and summary["autosave_p95_ms"] is None
    table = report.table({"rss_mb": 42.0, "board_errors": 3})
    assert table.count("\n") >= len(KEYS)
    assert "MISSED" in table and "not measured" in table


def test_percentile_is_nearest_rank():
    assert report.percentile(range(1, 101), 0.95) == 95
    assert report.percentile([7], 0.5) == 7
