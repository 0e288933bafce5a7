"""The benchmark's one table and its JSON: figures in, text out. No load generator here, so the test suite can
check the keys without installing locust (tests/test_bench_report.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

# The JSON's keys, in the order the table prints them (milliseconds unless the name says otherwise).
KEYS = (
    "board_propagation_p50_ms",
    "board_propagation_p95_ms",
    "board_server_p95_ms",
    "board_errors",
    "autosave_p95_ms",
    "autosave_errors",
    "login_30_seconds",
    "join_12_seconds",
    "live_vs_bare_ratio",
    "workbook_vs_bare_ratio",
    "rss_mb",
    "startup_seconds",
)

# (label, unit, target as text, check) — the targets for this 2-core machine; None: no target.
ROWS = {
    "board_propagation_p50_ms": ("live board: write on every screen, p50", "ms", None, None),
    "board_propagation_p95_ms": ("live board: write on every screen, p95", "ms", "≤ 2000", lambda v: v <= 2000),
    "board_server_p95_ms": ("live board: server latency, p95", "ms", "≤ 100", lambda v: v <= 100),
    "board_errors": ("live board: errors", "", "0", lambda v: v == 0),
    "autosave_p95_ms": ("workbook autosave: save latency, p95", "ms", "≤ 100", lambda v: v <= 100),
    "autosave_errors": ("workbook autosave: errors", "", "0", lambda v: v == 0),
    "login_30_seconds": ("30 logins within 5 s: last one in after", "s", "≤ 10", lambda v: v <= 10),
    "join_12_seconds": ("12 joining at once: last one on the board after", "s", "≤ 10", lambda v: v <= 10),
    "live_vs_bare_ratio": ("live endpoint (nothing new) ÷ bare route, req/s", "×", None, None),
    "workbook_vs_bare_ratio": ("workbook session page ÷ bare route, req/s", "×", None, None),
    "rss_mb": ("server resident memory after the run", "MB", "< 100", lambda v: v < 100),
    "startup_seconds": ("server start-up", "s", None, None),
}


def percentile(values, p: float) -> float:
    """The p-th percentile (0–1) by the nearest-rank method; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def summary(figures: dict) -> dict:
    """Exactly the JSON's keys, in order, rounded for reading. A figure missing from the run is None."""
    def tidy(key, value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if key.endswith("_errors"):
            return int(value)
        if key.endswith("_ms"):
            return round(float(value), 1)
        return round(float(value), 2)
    return {key: tidy(key, figures.get(key)) for key in KEYS}


def verdict(key: str, value) -> str:
    check = ROWS[key][3]
    if check is None:
        return ""
    if value is None:
        return "not measured"
    return "ok" if check(value) else "MISSED"


def table(figures: dict, notes: list[str] = ()) -> str:
    """The one table `make bench` prints: figure, value, target, whether it was met."""
    figures = summary(figures)
    lines = [f"{'figure':<52}{'value':>10}  {'target':<9}", "-" * 80]
    for key in KEYS:
        label, unit, target, _ = ROWS[key]
        value = figures[key]
        shown = "—" if value is None else (f"{value:,.0f}" if key.endswith("_ms") else f"{value:g}")
        lines.append(f"{label:<52}{shown:>10} {unit:<3}{target or '':<8} {verdict(key, value)}".rstrip())
    lines += [f"  {note}" for note in notes]
    return "\n".join(lines)


def write_json(path: str | Path, figures: dict) -> dict:
    """Write the figures as one JSON object with exactly KEYS (P2P_BENCH_JSON names the file)."""
    data = summary(figures)
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data
