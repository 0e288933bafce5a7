"""Fixtures: an app on a temporary database, clients, and the people of a small group."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest

from p2p import create_app
from p2p.db import db
from p2p.models import FACILITATOR, PARTICIPANT, Group, Membership, User

PASSWORD = "a calm long password"

# Argon2 at its lowest cost: the tests check behaviour, not hashing strength.
FAST_HASHING = {"ARGON2_MEMORY_KIB": 8, "ARGON2_TIME_COST": 1}
NO_TIMED_BACKUPS = {"BACKUP_EVERY_HOURS": 0}  # tests of the timed backups start them themselves


def make_app(tmp_path, **overrides):
    config = {"TESTING": True, "SECRET_KEY": "test", "INSTANCE_PATH": str(tmp_path / "instance"),
              "DATABASE": str(tmp_path / "test.sqlite3"), **FAST_HASHING, **NO_TIMED_BACKUPS,
              **overrides}
    return create_app(config)


@pytest.fixture
def app(tmp_path):
    # No app context is held open here: requests must each get their own, as on a real server
    # (a shared one would carry Flask-Login's user from one test client to the next).
    app = make_app(tmp_path)
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


def text(response) -> str:
    """The page as a person reads it: entities such as &#39; turned back into characters."""
    return html.unescape(response.get_data(as_text=True))


def csrf_token(client, path="/"):
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client, path, data=None, *, token_from="/", **kwargs):
    """POST as the browser would: with the CSRF token the page carries."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, token_from))
    return client.post(path, data=data, **kwargs)


def login(client, name, password=PASSWORD):
    response = post(client, "/login", {"name": name, "password": password}, token_from="/login")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@dataclass
class Room:
    """A group with a facilitator and two participants, plus a second group for cross-group checks."""

    group: Group
    facilitator: User
    alice: User
    bob: User
    other_group: Group
    other_facilitator: User
    outsider: User


@pytest.fixture
def room(app) -> Room:
    facilitator = User.create_account("Fran", PASSWORD, role=FACILITATOR)
    alice = User.create_account("Alice", PASSWORD)
    bob = User.create_account("Bob", PASSWORD)
    group = Group.create_for(facilitator, 14, name="Tuesday group", programme="p2p")
    Membership.join(alice, group)
    Membership.join(bob, group)
    other_facilitator = User.create_account("Oona", PASSWORD, role=FACILITATOR)
    outsider = User.create_account("Olly", PASSWORD)
    other_group = Group.create_for(other_facilitator, 14, name="Other group", programme="p2p")
    Membership.join(outsider, other_group)
    return Room(group, facilitator, alice, bob, other_group, other_facilitator, outsider)


@pytest.fixture
def as_user(app):
    """as_user(user) -> a test client logged in as that person."""
    def make(user):
        c = app.test_client()
        login(c, user.name)
        return c
    return make


__all__ = ["PASSWORD", "post", "login", "csrf_token", "make_app", "text", "PARTICIPANT"]
