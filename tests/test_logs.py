"""The activity log says who did what, with ids only: never text people wrote, passwords, cookies or codes."""

import logging
import re

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, make_app, post
from test_sharing import share
from test_workbook import S1, autosave

from p2p import backup as backups
from p2p.cli import restore_command
from p2p.db import db
from p2p.logs import LogfmtFormatter
from p2p.models import Proposal

LINE = re.compile(r'^time=\S+Z level=(info|warning|error) event=[a-z-]+( [a-z-]+(=("([^"\\]|\\.)*"|\S+))?)*$')


def board_url(room, tail=""):
    return f"/groups/{room.group.id}/board{tail}"


@pytest.fixture
def app(tmp_path):
    # Two wrong passwords are enough to see the throttle at work.
    app = make_app(tmp_path, LOGIN_THROTTLE=(2, 900))
    yield app
    if not db.is_closed():
        db.close()


def test_a_whole_flow_logs_every_event_with_ids_and_no_secret_or_text(app, room, as_user, caplog, tmp_path,
                                                                      monkeypatch):
    caplog.set_level(logging.INFO, logger="p2p")
    join_code = room.group.join_code
    # Sign up with the join code, write in the workbook, and propose to the board.
    dana = app.test_client()
    path = f"/join/{join_code}"
    post(dana, path, {"name": "NAME-MARKER-Dana", "password": "PASSWORD-MARKER-1",
                      "confirm": "PASSWORD-MARKER-1"}, token_from=path)
    recovery = re.search(r'class="recovery-code"[^>]*>([A-Z0-9-]+)<',
                         dana.get("/account/recovery-code").get_data(as_text=True)).group(1)
    autosave(dana, f"{S1}/positive-about-p2p", "WORKBOOK-MARKER-2")
    alice = as_user(room.alice)
    autosave(alice, f"{S1}/behaviours-help-you-feel-safe", "SHARED-MARKER-3")
    share(alice, room, "share")
    post(alice, board_url(room, "/proposals"), {"text": "PROPOSAL-MARKER-4"}, token_from=board_url(room))
    # Wrong passwords, then the throttle.
    for _ in range(3):
        post(app.test_client(), "/login", {"name": "Bob", "password": "WRONG-MARKER-5"}, token_from="/login")
    # Downloads: the workbook as Markdown and JSON, and the code of behaviour.
    alice.get("/workbook/download.md")
    alice.get("/workbook/download.json")
    fran = as_user(room.facilitator)
    proposal = Proposal.get(Proposal.text == "PROPOSAL-MARKER-4")
    post(fran, board_url(room, f"/proposals/{proposal.id}"), {"action": "agree"}, token_from=board_url(room))
    post(fran, board_url(room, "/version"), token_from=board_url(room))
    assert fran.get(f"/groups/{room.group.id}/code.md").status_code == 200
    # A denial, a reset code used, a stale form, deletions.
    fran.get(f"/groups/{room.group.id + 1}")
    page = post(fran, f"/groups/{room.group.id}/members/{room.bob.id}/reset-code",
                token_from=f"/groups/{room.group.id}").get_data(as_text=True)
    reset_code = re.search(r'class="join-code"[^>]*>([A-Z0-9-]+)<', page).group(1)
    post(app.test_client(), "/reset", {"name": "Bob", "code": reset_code, "password": "NEW-PASSWORD-MARKER-6",
                                       "confirm": "NEW-PASSWORD-MARKER-6", "fresh": "yes"}, token_from="/reset")
    app.test_client().post(f"/join/{join_code}", data={"csrf_token": "stale"})
    post(alice, "/workbook/delete", token_from="/workbook/delete")
    post(dana, "/account/delete", {"password": "PASSWORD-MARKER-1"}, token_from="/account/delete")
    # A backup, and a restore (which runs without the app).
    app.test_cli_runner().invoke(args=["backup"])
    made = backups.list_backups(tmp_path / "instance" / "backups")[0]
    monkeypatch.setenv("P2P_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("P2P_DATABASE", str(tmp_path / "test.sqlite3"))
    db.close()
    assert CliRunner().invoke(restore_command, [str(made), "--yes"]).exit_code == 0

    log_file = (tmp_path / "instance" / "logs" / "p2p.log").read_text()
    for event in ("event=joined group=", "event=sign-in user=", "event=answer-shared", "event=sign-in-failed",
                  "event=sign-in-throttled", "endpoint=workbook.download group=- format=md",
                  "endpoint=workbook.download group=- format=json",
                  f"endpoint=board.code_markdown group={room.group.id}", "event=proposal-added",
                  "event=denied status=404", "event=reset-code-issued", "event=password-reset",
                  "event=csrf-rejected user=- endpoint=groups.join_with_code", "event=workbook-deleted",
                  "event=account-deleted", "event=backup-made", "event=backup-restored"):
        assert event in log_file, event
    for secret in ("MARKER", join_code, reset_code, reset_code.replace("-", ""), recovery, recovery.replace("-", ""),
                   PASSWORD, "p2p_session", "Kindness", "Alice", "Dana", app.config["SECRET_KEY"]):
        assert secret not in log_file, secret
        assert secret not in caplog.text, secret
    for line in log_file.splitlines():   # one structured record per line
        assert LINE.match(line), line


def format_line(message, *args, exc_info=None):
    return LogfmtFormatter().format(logging.LogRecord("p2p", logging.INFO, __file__, 1, message, args, exc_info))


def test_a_value_cannot_forge_a_key_or_a_line_and_secret_keys_are_blanked():
    line = format_line("csrf-rejected endpoint=%s", 'x" user=1\nevent=forged')
    assert line.endswith(r'event=csrf-rejected endpoint="x\" user=1\x0aevent=forged"') and "\n" not in line
    assert format_line("odd %s words", "/join/ABC").endswith("event=odd arg=/join/ABC words")
    assert format_line("x password=%s name=%s", "hunter2", "Alice").endswith("password=[redacted] name=[redacted]")


def test_an_error_is_logged_as_its_type_and_place_without_its_message():
    try:
        raise ValueError("SOMETHING-A-PERSON-TYPED")
    except ValueError:
        import sys
        line = format_line("backup-failed", exc_info=sys.exc_info())
    assert "error=ValueError at=test_logs.py:" in line and "TYPED" not in line


def test_an_unhandled_error_names_the_endpoint_not_the_path(tmp_path):
    app = make_app(tmp_path, TESTING=False)   # as served: the error page, not the exception, reaches the client

    @app.get("/broken/<code>")
    def broken(code):
        raise RuntimeError(f"while handling {code}")

    assert app.test_client().get("/broken/JOIN-CODE-MARKER").status_code == 500
    line = (tmp_path / "instance" / "logs" / "p2p.log").read_text().strip()
    assert "event=error status=500 user=- endpoint=broken method=GET error=RuntimeError at=" in line
    assert "MARKER" not in line and "\n" not in line
