"""The "Support" page: linked from every page, showing what the host wrote in instance/support.md (Markdown, raw
HTML off), or SUPPORT_TEXT, or a calm default that says who to talk to."""

import pytest
from conftest import make_app, text

from p2p import cli
from p2p.config import ensure_instance


def support_file(app):
    from pathlib import Path
    return Path(app.instance_path) / "support.md"


@pytest.mark.parametrize("where", ["/", "/login", "/join", "/privacy", "/no/such/page"])
def test_every_page_links_to_support_signed_out(client, where):
    assert 'href="/support"' in client.get(where).get_data(as_text=True)


def test_every_page_links_to_support_signed_in(app, room, as_user):
    alice = as_user(room.alice)
    for where in ("/", f"/groups/{room.group.id}", "/workbook", "/account"):
        assert 'href="/support"' in alice.get(where).get_data(as_text=True), where


def test_the_default_says_who_to_talk_to(client):
    page = text(client.get("/support"))
    assert "<h1>Support</h1>" in page and "Your facilitator." in page and "116 123" in page
    assert "support.md" not in page   # how to set it up is for facilitators


def test_facilitators_see_how_to_set_it(app, room, as_user):
    page = text(as_user(room.facilitator).get("/support"))
    assert "Only facilitators see this." in page and "support.md" in page and "support.example.md" in page
    assert "support.md" not in text(as_user(room.alice).get("/support"))


def test_the_hosts_file_is_read_at_request_time_as_markdown_without_html(app, client):
    support_file(app).write_text("## Talk to us\n\n- Fran: **07700 900123**\n\n<script>alert(1)</script>\n",
                                 encoding="utf-8")
    body = client.get("/support").get_data(as_text=True)
    assert "<h2>Talk to us</h2>" in body and "<strong>07700 900123</strong>" in body
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
    assert "116 123" not in body   # the host's words replace the default
    support_file(app).write_text("Changed, no restart needed.", encoding="utf-8")
    assert "Changed, no restart needed." in text(client.get("/support"))


def test_support_text_from_config_and_the_file_wins(tmp_path):
    app = make_app(tmp_path, SUPPORT_TEXT="Ask **Sam** at any session.")
    client = app.test_client()
    assert "Ask <strong>Sam</strong> at any session." in client.get("/support").get_data(as_text=True)
    support_file(app).write_text("From the file.", encoding="utf-8")
    page = text(client.get("/support"))
    assert "From the file." in page and "Sam" not in page
    support_file(app).write_text("   \n", encoding="utf-8")   # an empty file counts as none
    assert "Sam" in text(client.get("/support"))


def test_an_unreadable_file_falls_back_calmly(app, client):
    support_file(app).write_bytes(b"\xff\xfe not utf-8 \xff")
    response = client.get("/support")
    assert response.status_code == 200 and "Your facilitator." in text(response)


def test_first_start_and_demo_leave_an_existing_support_file_alone(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "support.md").write_text("Ours.", encoding="utf-8")
    app = make_app(tmp_path)
    ensure_instance(instance)
    assert app.test_cli_runner().invoke(cli.demo_command).exit_code == 0
    assert (instance / "support.md").read_text(encoding="utf-8") == "Ours."
    assert (instance / "support.example.md").exists()   # a starting point, written beside it


def test_first_start_writes_an_example_but_no_support_file(tmp_path):
    app = make_app(tmp_path)
    instance = tmp_path / "instance"
    assert (instance / "support.example.md").exists() and not (instance / "support.md").exists()
    assert "Your facilitator." in text(app.test_client().get("/support"))


def test_the_projector_has_no_support_link(app, room, as_user):
    page = as_user(room.facilitator).get(f"/groups/{room.group.id}/board/projector").get_data(as_text=True)
    assert 'href="/support"' not in page


def test_the_default_numbers_are_a_tap_to_call_or_text_away(client):
    """On a phone, a helpline should be one tap: tel: for calls, sms: for Shout's text line. NHS 111's option 2 is
    the mental-health line."""
    body = client.get("/support").get_data(as_text=True)
    assert '<a href="tel:116123">116 123</a>' in body
    assert '<a href="sms:85258?body=SHOUT">85258</a>' in body and "text SHOUT to" in body
    assert '<a href="tel:111">111</a> and choose option 2 for mental health' in body
    assert '<a href="tel:999">999</a>' in body


def test_the_example_support_file_links_its_numbers_too():
    from p2p.config import EXAMPLE_SUPPORT
    assert "[116 123](tel:116123)" in EXAMPLE_SUPPORT and "(sms:85258?body=SHOUT)" in EXAMPLE_SUPPORT
    assert "[111](tel:111) and choose option 2" in EXAMPLE_SUPPORT
