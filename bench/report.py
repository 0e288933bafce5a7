"""The benchmark's one table and its JSON: figures in, text out. No load generator here, so the test suite can
check the keys without installing locust (tests/test_bench_report.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

# The JSON's keys, in the order the table prints them (milliseconds unless the name says otherwise).
KEYS = (
    "board_150_propagation_p50_ms",
    "board_150_propagation_p95_ms",
    "board_150_server_p95_ms",
    "board_150_errors",
    "cpu_ms_per_participant_minute",
    "board_150_pg_propagation_p50_ms",
    "board_150_pg_propagation_p95_ms",
    "board_150_pg_server_p95_ms",
    "board_150_pg_errors",
    "board_push_propagation_p50_ms",
    "board_push_propagation_p95_ms",
    "board_push_server_p95_ms",
    "board_push_errors",
    "board_propagation_p50_ms",
    "board_propagation_p95_ms",
    "board_server_p95_ms",
    "board_errors",
    "idle_cpu_percent",
    "idle_requests_per_screen_second",
    "idle_polling_cpu_percent",
    "autosave_p95_ms",
    "autosave_errors",
    "login_30_seconds",
    "join_12_seconds",
    "heaviest_page_kb",
    "repeat_visit_requests",
    "live_vs_bare_ratio",
    "workbook_vs_bare_ratio",
    "rss_mb",
    "rss_busy_mb",
    "startup_seconds",
)


def _at_most(limit):
    return lambda value: value <= limit


NONE = ("0", lambda value: value == 0)
# Each room's rows: (label, target as text, check). The push transport's targets are issue 14's; today's polling
# keeps the targets it had (it is what a screen falls back to when it cannot hold a stream).
PUSHED = {"propagation_p50_ms": ("  write on every screen of its group, p50", "≤ 50", _at_most(50)),
          "propagation_p95_ms": ("  write on every screen of its group, p95", "≤ 200", _at_most(200)),
          "server_p95_ms": ("  server latency, p95", "≤ 50", _at_most(50)),
          "errors": ("  errors, and writes missing from a screen", *NONE)}
POLLED = {**PUSHED, "propagation_p50_ms": (PUSHED["propagation_p50_ms"][0], None, None),
          "propagation_p95_ms": (PUSHED["propagation_p95_ms"][0], "≤ 2000", _at_most(2000)),
          "server_p95_ms": (PUSHED["server_p95_ms"][0], "≤ 100", _at_most(100))}
ROOMS = {"board_150": PUSHED, "board_150_pg": PUSHED, "board_push": PUSHED, "board": POLLED}
# Printed above the row of that key: what the rows under it measured.
HEADINGS = {
    "board_150_propagation_p50_ms": "150 in 5 groups of 30, with each group's facilitator and projector, pushed:",
    "board_150_pg_propagation_p50_ms": "the same on gunicorn (3 workers) + PostgreSQL:",
    "board_push_propagation_p50_ms": "a room of 12 (one group, its facilitator's screen and projector), pushed:",
    "board_propagation_p50_ms": "the same room of 12 with today's polling:",
    "idle_cpu_percent": "the 150's screens open, nobody writing:",
    "autosave_p95_ms": "the 150 typing in their workbooks, every screen open:",
    "login_30_seconds": "arriving:",
    "heaviest_page_kb": "over the room's Wi-Fi:",
    "live_vs_bare_ratio": "the server:",
}

# (label, unit, target as text, check) — the targets for this 2-core machine; None: no target.
ROWS = {
    **{f"{prefix}_{figure}": (label, "" if figure == "errors" else "ms", target, check)
       for prefix, figures in ROOMS.items() for figure, (label, target, check) in figures.items()},
    "cpu_ms_per_participant_minute": ("  server CPU a participant-minute", "ms", None, None),
    "idle_cpu_percent": ("  pushed: server CPU, % of one core", "%", "≤ 2", _at_most(2)),
    "idle_requests_per_screen_second": ("  pushed: requests a screen a second", "", "0", lambda v: v < 0.01),
    "idle_polling_cpu_percent": ("  today's polling: server CPU, % of one core", "%", None, None),
    "autosave_p95_ms": ("  autosave: save latency, p95", "ms", "≤ 50", _at_most(50)),
    "autosave_errors": ("  autosave: errors", "", *NONE),
    "login_30_seconds": ("  30 logins within 5 s: last one in after", "s", "≤ 10", _at_most(10)),
    "join_12_seconds": ("  12 joining at once: last one on the board after", "s", "≤ 10", _at_most(10)),
    "heaviest_page_kb": ("  heaviest page, first visit, with its files", "KB", "≤ 40", _at_most(40)),
    "repeat_visit_requests": ("  requests on a repeat visit", "", "1", lambda v: v == 1),
    "live_vs_bare_ratio": ("  live endpoint (nothing new) ÷ bare route, req/s", "×", None, None),
    "workbook_vs_bare_ratio": ("  workbook session page ÷ bare route, req/s", "×", None, None),
    "rss_mb": ("  resident memory after the run, once quiet", "MB", "≤ 80", _at_most(80)),
    "rss_busy_mb": ("  … the moment the run ended", "MB", None, None),
    "startup_seconds": ("  start-up", "s", None, None),
}
WHOLE = ("_errors", "_requests")   # counted, not measured: shown and written as whole numbers


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
        if key.endswith(WHOLE):
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
        if key in HEADINGS:
            lines.append(HEADINGS[key])
        label, unit, target, _ = ROWS[key]
        value = figures[key]
        shown = "—" if value is None else (f"{value:,.0f}" if unit == "ms" else f"{value:g}")
        lines.append(f"{label:<52}{shown:>10} {unit:<3}{target or '':<8} {verdict(key, value)}".rstrip())
    lines += [f"  {note}" for note in notes]
    return "\n".join(lines)


def write_json(path: str | Path, figures: dict) -> dict:
    """Write the figures as one JSON object with exactly KEYS (P2P_BENCH_JSON names the file)."""
    data = summary(figures)
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data
