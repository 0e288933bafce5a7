"""The benchmark's summary and JSON carry exactly the figures the issue names, and the bench reads the app's answers
as a screen would: a board's behaviours and counts, server-sent events over a chunked body (no timing is asserted
here, and nothing here needs the load generator)."""

import io
import json

from bench import pages, parse, report

KEYS = {"board_propagation_p50_ms", "board_propagation_p95_ms", "board_server_p95_ms", "board_errors",
        "board_push_propagation_p50_ms", "board_push_propagation_p95_ms", "board_push_server_p95_ms",
        "board_push_errors",
        "board_150_propagation_p50_ms", "board_150_propagation_p95_ms", "board_150_server_p95_ms", "board_150_errors",
        "board_150_pg_propagation_p50_ms", "board_150_pg_propagation_p95_ms", "board_150_pg_server_p95_ms",
        "board_150_pg_errors",
        "idle_cpu_percent", "idle_requests_per_screen_second", "idle_polling_cpu_percent",
        "cpu_ms_per_participant_minute", "heaviest_page_kb", "repeat_visit_requests",
        "autosave_p95_ms", "autosave_errors", "login_30_seconds", "join_12_seconds", "live_vs_bare_ratio",
        "workbook_vs_bare_ratio", "rss_mb", "rss_busy_mb", "startup_seconds"}


def test_the_json_has_exactly_the_named_keys(tmp_path):
    figures = {key: 1.234 for key in KEYS} | {"board_errors": 0, "repeat_visit_requests": 1.0, "an_extra_figure": 5}
    path = tmp_path / "bench.json"
    report.write_json(path, figures)
    data = json.loads(path.read_text())
    assert set(data) == KEYS
    assert data["board_errors"] == 0 and data["board_server_p95_ms"] == 1.2 and data["repeat_visit_requests"] == 1


def test_every_figure_has_a_row_and_the_push_targets_are_the_issues():
    assert set(report.ROWS) == set(report.KEYS) == KEYS
    assert set(report.HEADINGS) <= KEYS
    for prefix in ("board_150", "board_150_pg", "board_push"):
        assert report.verdict(f"{prefix}_propagation_p95_ms", 200) == "ok"
        assert report.verdict(f"{prefix}_propagation_p95_ms", 201) == "MISSED"
        assert report.verdict(f"{prefix}_propagation_p50_ms", 51) == "MISSED"
        assert report.verdict(f"{prefix}_server_p95_ms", 50) == "ok"
    assert report.verdict("idle_cpu_percent", 2.5) == "MISSED" and report.verdict("heaviest_page_kb", 40) == "ok"
    assert report.verdict("rss_mb", 81) == "MISSED" and report.verdict("autosave_p95_ms", 51) == "MISSED"


def test_a_figure_not_measured_is_null_and_the_table_says_so():
    summary = report.summary({"rss_mb": float("nan")})
    assert set(summary) == KEYS and summary["rss_mb"] is None and summary["autosave_p95_ms"] is None
    table = report.table({"rss_mb": 92.0, "board_errors": 3})
    assert table.count("\n") >= len(KEYS)
    assert "MISSED" in table and "not measured" in table


def test_percentile_is_nearest_rank():
    assert report.percentile(range(1, 101), 0.95) == 95
    assert report.percentile([7], 0.5) == 7


def proposal(n, text, tally=None, oob=False):
    counts = f'<p class="tally">Agree {tally[0]} · Unsure {tally[1]} · Object {tally[2]}</p>' if tally else ""
    swap = 'data-hx-swap-oob="true" ' if oob else ""
    return (f'<li {swap}id="proposal-{n}" class="proposal">'
            f'<p class="proposal__text">{text}</p><p class="meta proposal__meta"></p>{counts}</li>')


def test_a_board_view_follows_a_whole_list_and_pushed_pieces():
    view = parse.BoardView()
    view.update('<div id="board-list" class="board-list"><ul class="proposals">'
                + proposal(1, "Listen &amp; wait") + proposal(2, "Be kind") + "</ul></div>")
    assert view.texts() == {"Listen & wait", "Be kind"} and view.total() == 0
    # A changed behaviour alone (out of band, as board.Follower marks it), then a new one appended: the rest stays.
    view.update(proposal(2, "Be kind", (2, 1, 0), oob=True))
    view.update(f'<ul data-hx-swap-oob="beforeend:#part-0">{proposal(3, "Phones away", (0, 0, 1))}</ul>')
    assert view.texts() == {"Listen & wait", "Be kind", "Phones away"} and view.total() == 4
    # The whole list again (its shape changed): what it leaves out is gone.
    view.update('<div id="board-list" data-hx-swap-oob="true"><ul>' + proposal(3, "Phones away", (1, 0, 1)) + "</ul></div>")
    assert view.texts() == {"Phones away"} and view.total() == 2


def test_server_sent_events_are_read_from_a_chunked_body():
    stream = ("event: hello\ndata: \n\n: still here\n\nevent: update\nid: 7\ndata: <li id=\"proposal-1\">\n"
              "data: <p class=\"proposal__text\">Be kind</p></li>\n\n").encode()
    # Chunks cut wherever the server's writes fell, even inside a line.
    cuts = [stream[:13], stream[13:40], stream[40:]]
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in cuts) + b"0\r\n\r\n"
    reader, events = parse.EventReader(), []
    for line in parse.body_lines(io.BytesIO(body), chunked=True):
        event = reader.feed(line)
        if event:
            events.append(event)
    assert [event.name for event in events] == ["hello", "update"]
    assert events[1].data == '<li id="proposal-1">\n<p class="proposal__text">Be kind</p></li>'
    assert reader.last_id == "7" and reader.comments == 1
    plain = list(parse.body_lines(io.BytesIO(b"event: hello\n\n"), chunked=False))
    assert plain == ["event: hello\n", "\n"]


def test_the_stream_is_asked_for_as_live_js_asks_for_it():
    page = ('<link rel="stylesheet" href="/static/css/app.css?v=abc"><script src="/static/js/htmx.min.js?v=1" defer>'
            '</script><div id="group-timer" class="group-timer" data-live-feed="timer" data-poll="/groups/3/timer/live?v=2">'
            '<img src="/groups/3/invite/qr?v=CODE" alt="QR code"><a href="/groups/3">Back</a>'
            '<div id="board-poller" data-live-feed="board" data-hx-get="/groups/3/board/live?v=4&amp;view=page" '
            'data-hx-trigger="every 1500ms"></div><div id="live-stream" data-live-stream="/groups/3/stream" hidden></div>')
    assert parse.assets(page) == ["/static/css/app.css?v=abc", "/static/js/htmx.min.js?v=1", "/groups/3/invite/qr?v=CODE"]
    feeds = parse.feeds(page)
    assert feeds == {"timer": "/groups/3/timer/live?v=2", "board": "/groups/3/board/live?v=4&view=page"}
    # An update carries the pollers with the version the screen now shows: the next stream starts from there.
    feeds.update(parse.feeds('<div id="board-poller" data-hx-swap-oob="true" data-live-feed="board" '
                             'data-hx-get="/groups/3/board/live?v=5&amp;view=page"></div>'))
    assert parse.stream_address(parse.attribute(parse.STREAM, page), feeds) == (
        "/groups/3/stream?feed=%2Fgroups%2F3%2Ftimer%2Flive%3Fv%3D2&feed=%2Fgroups%2F3%2Fboard%2Flive%3Fv%3D5%26view%3Dpage")
    assert pages.kept_for_good({"cache-control": "public, max-age=31536000, immutable"})
    assert not pages.kept_for_good({"cache-control": "no-cache"})
