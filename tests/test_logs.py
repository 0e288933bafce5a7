"""The activity log says who did what, with ids only: never text people wrote, passwords, cookies or codes."""

import logging

from conftest import PASSWORD, login, post
from test_sharing import share
from test_workbook import S1, autosave


def test_a_whole_flow_logs_events_but_no_secrets_or_text(app, room, as_user, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="p2p")
    client = app.test_client()
    path = f"/join/{room.group.join_code}"
    post(client, path, {"name": "Dana", "password": "PASSWORD-MARKER-1", "confirm": "PASSWORD-MARKER-1"},
         token_from=path)
    autosave(client, f"{S1}/positive-about-p2p", "WORKBOOK-MARKER-2")
    alice = as_user(room.alice)
    autosave(alice, f"{S1}/behaviours-help-you-feel-safe", "SHARED-MARKER-3")
    share(alice, room, "share")
    post(app.test_client(), "/login", {"name": "Alice", "password": "WRONG-MARKER-4"}, token_from="/login")
    alice.get("/workbook/download.md")
    fran = as_user(room.facilitator)
    fran.get(f"/groups/{room.other_group.id}")       # not theirs: a denial
    post(fran, f"/groups/{room.group.id}/members/{room.alice.id}/reset-code", token_from="/")
    post(alice, "/workbook/delete", token_from="/workbook/delete")
    lines = "\n".join(r.getMessage() for r in caplog.records)
    for event in ("joined group=", "sign-in user=", "sign-in-failed", "answer-shared", "workbook-exported",
                  "denied status=404", "reset-code-issued", "workbook-deleted"):
        assert event in lines, event
    for secret in ("MARKER", room.group.join_code, PASSWORD, "p2p_session", "Kindness"):
        assert secret not in lines, secret
    log_file = (tmp_path / "instance" / "logs" / "p2p.log").read_text()
    assert "sign-in user=" in log_file and "MARKER" not in log_file
