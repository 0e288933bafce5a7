"""The privacy page and the delete pages say what the server's own backups keep, true to its settings."""

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from conftest import text

from p2p.backup import KEEP_APART_DAYS


@pytest.mark.sqlite_only
def test_the_privacy_page_says_what_the_configuration_does(app, client):
    app.config["IDLE_MINUTES"] = 45
    words = " ".join(text(client.get("/privacy")).split())
    assert "signed out after 45 minutes without using the app" in words
    assert "kept as a plain copy (not locked), because you chose to show it" in words
    assert "the app keeps no record of whose it is" in words
    assert "which questions you have written something for and when" in words   # what the file shows, said


@pytest.mark.sqlite_only   # about the pages' words; nothing here depends on the database
@pytest.mark.parametrize("keep, every_hours, said", [
    (14, 24, "one made every day (the newest 14 are kept) and one made before each update (kept for"),
    (30, 168, "one made every day (the newest 30 are kept)"), (14, 0, "goes wrong: one made before each update, kept")])
def test_the_pages_say_how_long_deleted_data_lives_on_in_backups(app, room, as_user, keep, every_hours, said):
    app.config.update(BACKUP_KEEP=keep, BACKUP_EVERY_HOURS=every_hours)
    longest = max(-(-keep * every_hours // 24), KEEP_APART_DAYS)
    alice = as_user(room.alice)
    for page in ("/privacy", "/workbook/delete", "/account/delete"):
        words = " ".join(text(alice.get(page)).split())
        assert said in words and f"kept for {KEEP_APART_DAYS} days" in words, (page, words)
        assert f"for up to {longest} days" in words, page
        assert "keeps no backups" not in words


@pytest.mark.sqlite_only
def test_while_backups_from_before_pseudonyms_are_kept_the_privacy_page_says_so(app, client):
    """Backups made before the upgrade to pseudonyms still name who wrote anonymous words then: the page says so,
    for as long as any is kept, whatever the backup is called (a daily one outlives the before-upgrade one on a Pi
    switched on once a week), and says nothing otherwise."""
    assert "used to keep who wrote them" not in text(client.get("/privacy"))
    backups = Path(app.instance_path) / "backups"
    backups.mkdir(exist_ok=True)

    def backup_at(name: str, version: int) -> None:
        with closing(sqlite3.connect(backups / name)) as copy:
            copy.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, step TEXT)")
            copy.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            copy.commit()
    backup_at("p2p-20261201-100000-000000-daily.sqlite3", 14)   # made since: says nothing
    (backups / "p2p-20261202-100000-000000-daily.sqlite3").write_bytes(b"not a database")   # passed over
    assert "used to keep who wrote them" not in text(client.get("/privacy"))
    backup_at("p2p-20260829-100000-000000-daily.sqlite3", 6)
    words = " ".join(text(client.get("/privacy")).split())
    assert "Copies of the database made before that update still say it" in words
    assert "the newest was made on 29 August 2026" in words
