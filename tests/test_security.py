"""Requests and pages: headers, CSRF, escaping, no other origins, calm errors, fuzzed forms."""

import re
from html.parser import HTMLParser

import pytest
from conftest import PASSWORD, database_bytes, login, post, text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from p2p.models import NAME_MAX, Group, User, normalise_name


def test_security_headers_on_every_response(client, room, as_user):
    for response in (client.get("/"), client.get("/static/css/app.css"), client.get("/nowhere"),
                     as_user(room.alice).get(f"/groups/{room.group.id}")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "HX-Request" in response.headers["Vary"]


def test_signed_in_pages_are_not_stored_by_the_browser(room, as_user):
    assert as_user(room.alice).get(f"/groups/{room.group.id}").headers["Cache-Control"] == "no-store"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "Strict-Transport-Security" in client.get("/", base_url="https://localhost").headers


def test_a_post_without_csrf_token_is_refused_calmly(client, room):
    response = client.post("/login", data={"name": "Alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "That form had gone stale" in text(response)
    assert "Traceback" not in text(response)


def test_htmx_sends_the_csrf_token_as_a_header(room, as_user):
    fran = as_user(room.facilitator)
    # The token the page gives htmx (a token carries its time, so one from another request can differ).
    found = re.search(r'data-hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', fran.get("/").get_data(as_text=True))
    assert found
    token = found.group(1)
    response = fran.post(f"/groups/{room.group.id}/invite/new-code",
                         headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200


def test_no_get_changes_state(app, room, as_user):
    """Every rule that changes something accepts POST only (GET shows a form or a confirmation)."""
    state_changing = {"auth.logout", "groups.new_code", "groups.close_code", "groups.add_facilitator",
                      "auth.new_recovery_code", "workbook.save", "workbook.revisions", "workbook.ladder_snapshot",
                      "workbook.share"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in state_changing:
            assert "GET" not in rule.methods, rule


def test_a_get_of_a_confirming_page_changes_nothing(room, as_user):
    from p2p.models import OneTimeToken
    fran = as_user(room.facilitator)
    page = text(fran.get(f"/groups/{room.group.id}/members/{room.alice.id}/reset-code"))
    assert "Make a reset code for Alice" in page and "recovery code" in page
    assert OneTimeToken.select().where(OneTimeToken.purpose == OneTimeToken.RESET).count() == 0


def test_too_large_a_request_gets_a_calm_page(client):
    response = client.post("/login", data={"name": "x" * 1_100_000})
    assert response.status_code == 413
    assert "more than the app can take" in text(response)


def test_errors_never_show_a_traceback(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in text(response) and "secret internals" not in text(response)


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "data-hx-get", "data-hx-post", "hx-get", "hx-post", "srcset") and value:
                self.urls.append((tag, name, value))


def pages_of_every_type(room, as_user):
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    g = room.group.id
    anonymous = alice.application.test_client()
    yield from (anonymous.get(p) for p in ["/", "/login", "/join", "/reset", "/privacy", "/nowhere",
                                           f"/join/{room.group.join_code}"])
    yield from (fran.get(p) for p in ["/", f"/groups/{g}", f"/groups/{g}/invite", "/groups/new",
                                      f"/groups/{g}/edit", "/account", "/account/password", "/facilitators/invite",
                                      f"/groups/{g}/members/{room.alice.id}/remove"])
    yield from (alice.get(p) for p in [f"/groups/{g}", f"/groups/{g}/modules/module-1"])
    library = alice.application.extensions["p2p.content"]
    for module in library.programme("p2p").modules:
        for session in module.sessions:
            yield fran.get(f"/groups/{g}/modules/{module.id}/sessions/{session.id}")


def test_no_page_references_another_origin(room, as_user):
    checked = 0
    for response in pages_of_every_type(room, as_user):
        parser = _References()
        parser.feed(response.get_data(as_text=True))
        for tag, attribute, url in parser.urls:
            # Nothing is loaded from elsewhere. A link a person may choose to follow is another matter: the values
            # assessment online (its text says it needs the internet), or a helpline's number to call or text.
            followed_by_choice = tag == "a" and attribute == "href" and url.startswith(("https://", "tel:", "sms:"))
            assert url.startswith(("/", "#", "http://localhost/")) or followed_by_choice, (tag, attribute, url)
            checked += 1
    assert checked > 50
    for css in ("css/app.css",):
        body = room.group and as_user(room.alice).get(f"/static/{css}").get_data(as_text=True)
        assert not re.search(r"url\((?!['\"]?(data:|/))", body) and "@import" not in body


def test_htmx_is_vendored_pinned_and_locked_down(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<script src="/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]{12}" defer></script>', page)
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', page).group(1)
    for setting in ('"selfRequestsOnly": true', '"allowEval": false', '"allowScriptTags": false',
                    '"historyCacheSize": 0'):
        assert setting in config
    assert "<script>" not in page and " style=" not in page  # nothing inline: the CSP would refuse it


def test_user_text_is_escaped_everywhere_it_appears(app, room, as_user):
    evil = '<img src=x onerror=alert(1)> data-hx-get="/x"'
    fran = as_user(room.facilitator)
    post(fran, f"/groups/{room.group.id}/edit", {"name": evil, "programme": "p2p"},
         token_from=f"/groups/{room.group.id}/edit")
    User.update(name=evil[:NAME_MAX]).where(User.id == room.alice.id).execute()
    for path in ("/", f"/groups/{room.group.id}", f"/groups/{room.group.id}/invite",
                 f"/groups/{room.group.id}/members/{room.alice.id}/remove"):
        body = fran.get(path).get_data(as_text=True)
        assert "<img src=x" not in body, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, path


# Fuzzing: any text in any field gives a calm answer, is stored as typed (normalised), and is shown escaped.

awkward_text = st.text(st.characters(codec="utf-8"), max_size=120) | st.sampled_from([
    "<script>alert(1)</script>", 'data-hx-post="/logout"', "\x00", "a\x00b", "💜" * 50, "x" * 5000,
    "Ünïcödé Ñame", "   ", "' OR 1=1 --", "{{ 7*7 }}", "\u202egnp.exe",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=awkward_text, password=awkward_text)
def test_fuzz_joining(app, room, name, password):
    client = app.test_client()
    path = f"/join/{room.group.join_code}"
    response = post(client, path, {"name": name, "password": password, "confirm": password}, token_from=path)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        user = User.by_name(name)
        assert user.name == normalise_name(name)
        page = client.get(f"/groups/{room.group.id}").get_data(as_text=True)
        if any(ch in user.name for ch in "<>&\"'"):
            assert str(escape(user.name)) in page  # shown, and shown escaped


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=awkward_text, start=awkward_text, code=awkward_text)
def test_fuzz_group_form_and_join_code(app, room, name, start, code):
    fran = app.test_client()
    login(fran, "Fran")
    response = post(fran, f"/groups/{room.group.id}/edit", {"name": name, "programme": "p2p", "starts_on": start},
                    token_from="/")
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert Group.get_by_id(room.group.id).name == " ".join(name.replace("\x00", "").split())
    assert post(fran, "/join", {"code": code}, token_from="/").status_code in (200, 302)
    # From an address of its own: 40 made-up names in a row slow that address down (Throttle.take), not Fran's.
    assert post(app.test_client(), "/login", {"name": name, "password": code}, token_from="/login",
                environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 200


def test_forwarded_headers_are_believed_only_from_a_configured_proxy(tmp_path):
    from conftest import make_app
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    lan = make_app(tmp_path / "lan").test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" not in lan.headers   # on a LAN anyone could send that header
    vps = make_app(tmp_path / "vps", TRUSTED_PROXIES=1).test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" in vps.headers


def test_the_session_cookie_is_secure_whenever_the_request_came_over_https(app, room):
    def session_cookie(**kwargs):
        response = post(app.test_client(), "/login", {"name": "Alice", "password": PASSWORD}, token_from="/login",
                        **kwargs)
        return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("p2p_session="))
    plain = session_cookie()   # a LAN over plain HTTP: a Secure cookie would never come back
    assert "Secure" not in plain and "HttpOnly" in plain
    assert "Secure" in session_cookie(base_url="https://localhost")


def test_the_deploy_examples_match_the_settings_they_name():
    from p2p.config import DEFAULTS, PROJECT_ROOT
    unit = (PROJECT_ROOT / "deploy" / "p2p.service").read_text()
    caddy = (PROJECT_ROOT / "deploy" / "Caddyfile").read_text()
    for file_text in (unit, caddy):
        for name in re.findall(r"P2P_([A-Z_]+)=", file_text):
            assert name in DEFAULTS, name
    assert "ExecStart=/home/pi/peer2peer/.venv/bin/p2p serve" in unit
    assert f"reverse_proxy 127.0.0.1:{DEFAULTS['PORT']}" in caddy


def test_caddy_compresses_what_the_app_would_and_never_a_stream_or_an_answer_to_another_site():
    """Caddy's gzip held a stream's events back (up to 3 s), and compressing an answer to another site's request
    would undo the app's guard against BREACH (p2p/delivery.py)."""
    from p2p.config import PROJECT_ROOT
    from p2p.delivery import COMPRESSED_TYPES
    caddy = (PROJECT_ROOT / "deploy" / "Caddyfile").read_text()
    encode = re.search(r"^\s*encode (@\w+) gzip \{\n\s*match \{\n(.*?)\n\s*\}\n\s*\}$", caddy, re.M | re.S)
    assert encode, "encode with a request matcher and a match block of its own (Caddy's default list has text/*)"
    assert re.findall(r"header Content-Type (\S+)\*", encode.group(2)) == COMPRESSED_TYPES
    assert f"{encode.group(1)} not header Sec-Fetch-Site cross-site" in caddy
    assert "event-stream" not in encode.group(0) and len(re.findall(r"^\s*encode ", caddy, re.M)) == 1


def test_the_units_gunicorn_workers_hold_every_stream_and_stop_in_time():
    from p2p.config import DEFAULTS, PROJECT_ROOT
    unit = (PROJECT_ROOT / "deploy" / "p2p.service").read_text()
    gunicorn = re.search(r"^# ExecStart=\S+/gunicorn (.*)$", unit, re.M).group(1)
    option = dict(re.findall(r"(--[a-z-]+) (\d+|\w+)", gunicorn))
    assert option["--worker-class"] == "gthread"   # a sync worker would serve one screen's stream and nothing else
    # Per worker, as `p2p serve` runs them: a thread for each stream and THREADS more for everything else.
    assert int(option["--threads"]) == DEFAULTS["THREADS"] + DEFAULTS["LIVE_STREAMS"]
    # Streams never end by themselves: a stop cuts them well before systemd would kill the service.
    assert int(option["--graceful-timeout"]) < int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1)) / 2
    # glibc's malloc: two arenas, no per-thread caches; `make run` the same.
    malloc = re.findall(r"^Environment=((?:MALLOC|GLIBC)_\w+=\S+)$", unit, re.M)
    assert malloc == ["MALLOC_ARENA_MAX=2", "GLIBC_TUNABLES=glibc.malloc.tcache_count=0"]
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^MALLOC_SETTINGS := (.*)$", makefile, re.M).group(1).split() == malloc
    assert re.search(r"^\t\$\(MALLOC_SETTINGS\) \$\(BIN\)/p2p serve$", makefile, re.M)


def test_throttle_counters_keep_no_typed_text_and_are_forgotten(app, room, client, tmp_path):
    from p2p.models import Throttle
    for _ in range(2):   # a password typed into the name box, as once happened
        post(client, "/login", {"name": "my secret password 42", "password": "x"}, token_from="/login")
    with app.app_context():
        key = Throttle.hashed("login:my secret password 42")
        assert Throttle.get(Throttle.key == key).count == 2 and "secret" not in key
        Throttle.update(window_start=Throttle.window_start - 2 * Throttle.FORGET_AFTER).execute()
        Throttle.fail("join:203.0.113.9", 900)   # any later failure forgets counters a day past their window
        assert Throttle.get_or_none(Throttle.key == key) is None
    assert b"my secret password 42" not in database_bytes(app, tmp_path)


@pytest.mark.parametrize("path", ["/groups/99999999999999999999", "/groups/9223372036854775808/board",
                                  "/groups/2147483648/code", "/groups/%C2%B2", "/groups/%D9%A1"])
def test_ids_too_large_or_not_plain_digits_are_not_found_rather_than_errors(room, as_user, path):
    assert as_user(room.facilitator).get(path).status_code == 404


def test_a_form_s_number_too_large_or_not_plain_digits_is_nothing_rather_than_an_error(room, as_user):
    from test_workbook import S1, autosave
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    for number in ("99999999999999999999", "²", "١٢", "-1"):
        answer = post(fran, f"/groups/{room.group.id}/facilitators", {"user_id": number},
                      token_from=f"/groups/{room.group.id}")
        assert answer.status_code < 500
        assert autosave(alice, f"{S1}/positive-about-p2p", "Words", revision=number).status_code < 500
        answer = post(alice, "/workbook/share", {"place": f"{S1}/positive-about-p2p", "action": "share",
                                                 "group_id": number})
        assert answer.status_code < 500


def test_free_attempts_go_whatever_moment_each_process_thought_it_was(app, monkeypatch):
    """Seven people logging in at once behind one address, in several worker processes: each computes `now` a
    little apart, and one whose `now` fell just before another's saved moment was told to wait, on its first try."""
    import time as clock

    from p2p.models import Throttle
    with app.app_context():
        monkeypatch.setattr(clock, "time", lambda: 1_000_000.0)
        assert Throttle.take("login-from:10.1.1.1", 30, 900) == 0
        monkeypatch.setattr(clock, "time", lambda: 999_999.99)   # a request that started a moment earlier
        assert Throttle.take("login-from:10.1.1.1", 30, 900) == 0


def test_no_template_writes_an_inline_style():
    """The Content-Security-Policy allows styles from app.css only: a style="…" attribute would be refused in the
    browser (and only a browser test would see it)."""
    from pathlib import Path
    templates = Path(__file__).resolve().parent.parent / "templates"
    found = [str(path.relative_to(templates)) for path in templates.rglob("*.html") if ' style="' in path.read_text()]
    assert not found, found
