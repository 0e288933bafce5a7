"""Upgrades keep everything: a database made at any schema that ever shipped on main, upgraded by today's app,
still holds every row, every link between rows and every workbook answer its owner can open, in today's schema.

The fixtures in tests/fixtures/schemas/ were each made by the code of the commit they name, with rows in every
table that version has (tests/fixtures/schemas/make.py; its `survey` finds the shapes). The shapes on main:

    v1  187d2f9..05ef322   accounts, groups, memberships, one-time tokens, throttles
    v2  29f5601            + workbook keys, answers (unique per person and place), ladder snapshots, earlier keys
    v2  40551f7..e67066d   answers unique per person, place and key generation
    v2  a7c5dfb..110df8c   + shares (step 2's model list grew after step 2 had shipped)
    v3  25ffe66..5c9b0a3   + the code of behaviour board
    v4  a7fadf7..320bc84   + proposals held back and themed
    v5  8c25c8f            + follow-ups between sessions
    v6  0d44a29..0ad0385   + current session, timer, discussions, thoughts (on PostgreSQL too from e5e7aab)
    v7  f368c00            the v6 shape (step 7 completes what step 2's first hours left out): no fixture of its own
    v8  bfcd564..2289666   + sent requests (from here the fixtures are filled through the routes)
    v9  1cdef6f..ad39559   the v8 shape; throttle keys hashed, so no later step empties them
    v10 1d0eefa..4e395a2   + a throttle's next attempt
    v11 4f29e10..505c95d   + pseudonyms: owners' salts and tags on proposals and thoughts, voters, responders
    v13 92fa7f4..          + password resets, memberships on hold, sign-ins (on PostgreSQL too; v12 was never on
                           main: the merge brought steps 12 and 13 together)
    v15 2f08dbb..          + when each board's round began (v14, 8ce5352), what `p2p demo` made; the Tuesday board
                           in a re-affirm round (made from v14 on)

The demo's step (15, demo_parts: what `p2p demo` made, recorded) is also checked on its own, at the end: it
recognises a demo made before it.
The session boards' step (17, session_boards: a discussion board's prompt and closed mark) is checked on every
fixture holding a discussion: its boards stay the scenario boards they were.
The signatures' step (18) is checked on its own too, at the end: the fixtures' boards all name nobody.
The ids' step (19, ids_never_reused: SQLite's behaviours and thoughts made anew with AUTOINCREMENT) is checked by
every test here (rows, links, the schema a fresh database gets), and on its own at the end: an id is not handed
out again after it.

Each fixture is copied and upgraded once (the app upgrades at start); each test then checks one promise. The
tests that sign people in come last: signing in and opening a board write to the database.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import schemas
from conftest import FAST_HASHING, database_url, login, make_app, text
from peewee import fn

from p2p import crypto
from p2p.answers import Workbook
from p2p.db import close_all, db
from p2p.models import (
    Board,
    BoardResponse,
    CodeVersion,
    DemoPart,
    Discussion,
    EarlierKey,
    Group,
    Membership,
    Proposal,
    Responder,
    Thought,
    User,
)
from p2p.models.schema import UPGRADES

FIXTURES = Path(__file__).parent / "fixtures" / "schemas"
S1 = "p2p/module-1/session-1"


def fixture_files(suffix: str, mark) -> list:
    in_order = sorted(FIXTURES.glob(f"*{suffix}"), key=lambda path: (int(path.stem.split("-")[0][1:]), path.stem))
    return [pytest.param(path.stem, id=path.stem, marks=mark) for path in in_order]   # v2 before v10


SQLITE = fixture_files(".sqlite3", pytest.mark.sqlite_only)
POSTGRESQL = fixture_files(".sql", pytest.mark.postgres_only)


def made_where(wanted) -> list:
    """The fixtures whose manifest `wanted` (its schema version, its accounts) accepts."""
    found = []
    for param in SQLITE + POSTGRESQL:
        manifest = json.loads((FIXTURES / f"{param.values[0]}.json").read_text())
        if wanted(manifest["schema_version"], manifest["accounts"], manifest["references"]):
            found.append(param)
    return found


# From v11 each manifest says what only each person's pseudonyms find (make.py: `theirs`).
PSEUDONYMOUS = made_where(lambda version, accounts, references: any("theirs" in a for a in accounts))
# Before v11, responses belonged to accounts; step 11 leaves them there until their person opens the board.
RESPONSES_BY_ACCOUNT = made_where(lambda version, accounts, references: version < 11 and references.get("response"))
# Before v11, proposals and thoughts had an author each; step 11 keeps only the named ones' (their name shows).
AUTHORED = made_where(lambda version, accounts, references: version < 11 and references.get("proposal"))


@dataclass
class Upgraded:
    """A fixture after today's app started on it: its manifest, the app, and a connection of our own to read
    the database as it is (sqlite3 or psycopg)."""

    name: str
    manifest: dict
    app: object
    connection: object
    fresh_schema: dict    # what today's code makes on an empty database of the same kind

    @property
    def on_postgresql(self) -> bool:
        return bool(self.app.config["DATABASE_URL"])

    def schema(self) -> dict:
        return (schemas.postgresql_schema if self.on_postgresql else schemas.sqlite_schema)(self.connection)


@pytest.fixture(scope="module")
def fresh_sqlite_schema(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fresh")
    make_app(folder)
    close_all()
    with closing(sqlite3.connect(folder / "test.sqlite3")) as connection:
        return schemas.sqlite_schema(connection)


@pytest.fixture(scope="module", params=SQLITE + POSTGRESQL)
def upgraded(request, tmp_path_factory):
    name = request.param
    manifest = json.loads((FIXTURES / f"{name}.json").read_text())
    # Wrapped workbook keys depend on the Argon2 settings they were made with: the suite's fast ones.
    assert manifest["argon2"] == {"memory_kib": FAST_HASHING["ARGON2_MEMORY_KIB"],
                                  "time_cost": FAST_HASHING["ARGON2_TIME_COST"]}
    folder = tmp_path_factory.mktemp(name)
    if manifest["database"] == "postgresql":
        yield from upgraded_on_postgresql(request, name, manifest, folder)
        return
    fresh = request.getfixturevalue("fresh_sqlite_schema")
    shutil.copyfile(FIXTURES / f"{name}.sqlite3", folder / "test.sqlite3")
    app = make_app(folder)   # starts on the copy, so upgrades it
    connection = sqlite3.connect(folder / "test.sqlite3")
    yield Upgraded(name, manifest, app, connection, fresh)
    connection.close()
    close_all()


def upgraded_on_postgresql(request, name: str, manifest: dict, folder: Path):
    """The fixture's SQL loaded into a new database on the test server, then the app started on it."""
    import psycopg
    server = request.getfixturevalue("postgres_server")
    server.database()   # the server's fresh database, made by today's code: the schema to compare with
    fresh = schemas.postgresql_schema(server.connection)
    database = f"p2p_upgrade_{uuid.uuid4().hex[:12]}"
    server.admin.execute(f'CREATE DATABASE "{database}"')
    url = database_url(server.url, database)
    try:
        with psycopg.connect(url, autocommit=True) as loader:
            loader.execute((FIXTURES / f"{name}.sql").read_text())
        app = make_app(folder, DATABASE_URL=url)
        with psycopg.connect(url, autocommit=True) as connection:
            yield Upgraded(name, manifest, app, connection, fresh)
    finally:
        close_all()
        server.admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------------


def emptied_on_purpose(upgraded) -> set[str]:
    """Tables a later step empties as its purpose (short-lived counters that held what was typed): `empties`."""
    return {table for step in UPGRADES[upgraded.manifest["schema_version"]:] for table in getattr(step, "empties", ())}


def unlinked_on_purpose(upgraded) -> set[tuple[str, str]]:
    """Links a later step cuts as its purpose (an anonymous proposal's author, a private objector): `unlinks`."""
    return {(table, column) for step in UPGRADES[upgraded.manifest["schema_version"]:]
            for table, columns in getattr(step, "unlinks", {}).items() for column in columns}


def test_an_upgrade_keeps_every_row(upgraded):
    tables = upgraded.schema()
    now = schemas.row_counts(upgraded.connection, {t: tables[t] for t in upgraded.manifest["rows"] if t in tables})
    lost = [f"{table}: {count} → {now.get(table, 'table gone')}" for table, count in upgraded.manifest["rows"].items()
            if now.get(table, -1) < count and table not in emptied_on_purpose(upgraded)]
    assert not lost, f"upgrading {upgraded.name} lost rows in " + "; ".join(lost)


def test_every_row_keeps_its_links(upgraded):
    """Whom a membership, response, commitment or share belongs to, and what a merged proposal was merged
    into: an upgrade that cut a link (ON DELETE SET NULL while a table was rebuilt) keeps the row count."""
    tables = upgraded.schema()
    now = schemas.references(upgraded.connection, {t: tables[t] for t in upgraded.manifest["references"]
                                                   if t in tables})
    cut = []
    for table, rows in upgraded.manifest["references"].items():
        if table in emptied_on_purpose(upgraded):
            continue
        for row_id, links in rows.items():
            found = now.get(table, {}).get(row_id)
            if found is None:
                cut.append(f"{table} {row_id}: row gone")
                continue
            cut += [f"{table} {row_id}: {column} was {value}, now {found.get(column)}"
                    for column, value in links.items() if found.get(column) != value
                    and not ((table, column) in unlinked_on_purpose(upgraded) and found.get(column) is None)]
    assert not cut, f"upgrading {upgraded.name} changed links:\n" + "\n".join(cut)


@pytest.mark.parametrize("upgraded", SQLITE, indirect=True)   # PostgreSQL checks every foreign key as it is written
def test_the_upgraded_file_is_sound(upgraded):
    dangling = upgraded.connection.execute("PRAGMA foreign_key_check").fetchall()
    assert dangling == [], f"rows pointing at nothing after upgrading {upgraded.name} (table, row, parent): {dangling}"
    assert upgraded.connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_the_upgraded_schema_is_the_one_a_fresh_database_gets(upgraded):
    found = schemas.differences(upgraded.schema(), upgraded.fresh_schema)
    assert not found, f"{upgraded.name} upgraded is not today's schema:\n" + "\n".join(found)


def test_proposals_waiting_to_be_revealed_stay_held_back(upgraded):
    waiting = upgraded.manifest["proposals_held_back"]
    shown = [p.id for p in Proposal.select(Proposal.id, Proposal.held).where(Proposal.id.in_(waiting)) if not p.held]
    assert shown == [], f"proposals the group should not see yet after upgrading {upgraded.name}: {shown}"


def test_commitments_from_before_signatures_name_people_only_where_the_code_did(upgraded):
    """Step 18: signed where the board names people (the code page showed their names), counted elsewhere."""
    from p2p.models import CodeVersion, Commitment
    found = [(c.signed, c.version.board.named) for c in Commitment.select(Commitment.signed, CodeVersion.id, Board.named)
             .join(CodeVersion).join(Board)]
    assert all(signed == named for signed, named in found), f"{upgraded.name}: {found}"


def test_every_answer_opens_with_its_owners_password(upgraded):
    for account in upgraded.manifest["accounts"]:
        user = User.authenticate(account["name"], account["password"])
        assert user, f"{account['name']} cannot log in after upgrading {upgraded.name}"
        if not user.has_workbook_key:   # an account from before workbooks: its key is made at its next login
            assert not account["answers"] and not account["earlier_workbooks"]
            continue
        workbook = Workbook(user, user.unlock_with_password(account["password"]))
        assert opened(workbook) == written(account), f"{account['name']}'s workbook after upgrading {upgraded.name}"
        for earlier in account["earlier_workbooks"]:
            # Locked away by a reset without the recovery code: that code still opens it.
            key = EarlierKey.get(user=user, generation=earlier["generation"]).unlock(earlier["recovery_code"])
            then = User.get_by_id(user.id)
            then.key_generation = earlier["generation"]
            assert opened(Workbook(then, key)) == written(earlier), \
                f"{account['name']}'s earlier workbook (generation {earlier['generation']}) after upgrading"


@pytest.mark.parametrize("upgraded", PSEUDONYMOUS, indirect=True)
def test_each_person_still_finds_what_is_theirs_on_the_boards(upgraded):
    """From v11 only a person's own session can tell what on a board is theirs (pseudonyms made with a key from
    their workbook key): after the upgrade each still finds exactly the proposals and thoughts they made, their
    responses (a private objection among them), and the boards that count them as having responded."""
    for account in upgraded.manifest["accounts"]:
        user = User.authenticate(account["name"], account["password"])
        pseudonyms = crypto.pseudonym_key(user.unlock_with_password(account["password"]))
        found = {"proposals": sorted(p.id for p in Proposal.select() if p.made_by(pseudonyms)),
                 "thoughts": sorted(t.id for t in Thought.select() if t.made_by(pseudonyms)),
                 "responses": {str(r.proposal_id): [r.kind, r.private] for r in BoardResponse.select()
                               if r.voter == BoardResponse.voter_for(pseudonyms, r.proposal_id)},
                 "responded_on": sorted(b.id for b in Board.select() if Responder.select().where(
                     Responder.board == b.id, Responder.tag == Responder.tag_for(pseudonyms, b.id)).exists())}
        assert found == account["theirs"], f"what is {account['name']}'s on the boards after upgrading {upgraded.name}"


# From v6 the fixtures hold a scenario's discussion board with thoughts on it.
DISCUSSED = made_where(lambda version, accounts, references: bool(references.get("thought")))


@pytest.mark.parametrize("upgraded", DISCUSSED, indirect=True)
def test_discussions_from_before_stay_the_scenario_boards_they_were(upgraded):
    """Step 17 (session_boards) gives discussion boards a prompt and a closed mark, for those a facilitator opens in
    any session. Every board from before is a scenario's: no prompt of its own (its words are in content/), open, at
    its scenario's place, with its thoughts."""
    boards = list(Discussion.select())
    assert boards, f"no discussion board after upgrading {upgraded.name}"
    for board in boards:
        assert (board.prompt, board.closed) == ("", False), f"discussion {board.id} after upgrading {upgraded.name}"
        assert len(board.place.split("/")) == 5 and Discussion.OPENED not in board.place.split("/")
    kept = {str(t.id): t.discussion_id for t in Thought.select()}
    assert kept == {row_id: links["discussion_id"]
                    for row_id, links in upgraded.manifest["references"]["thought"].items()}


def opened(workbook: Workbook) -> dict:
    return {"answers": {place: saved.value for place, saved in workbook.all().items()},
            "ladder_snapshots": {place: [sorted(snapshot.marked) for snapshot in taken]
                                 for place, taken in workbook.all_snapshots().items()}}


def written(record: dict) -> dict:
    return {"answers": record["answers"], "ladder_snapshots": record["ladder_snapshots"]}


def test_a_participant_logs_in_and_finds_their_group_and_answers(upgraded):
    alice = next(a for a in upgraded.manifest["accounts"] if a["name"] == "Alice")
    client = upgraded.app.test_client()
    login(client, alice["name"], alice["password"])
    home = text(client.get("/"))
    missing = [group for group in alice["groups"] if group not in home]
    assert not missing, f"Alice's home page does not list {missing} after upgrading {upgraded.name}"
    tuesday = Group.get(Group.name == "Tuesday group")
    page = text(client.get(f"/groups/{tuesday.id}/modules/module-1/sessions/session-1"))
    missing = [place for place, value in alice["answers"].items()
               if place.startswith(S1 + "/") and f">\n{value}</textarea>" not in page]
    assert not missing, f"Alice's answers at {missing} are not on her Session 1 page after upgrading {upgraded.name}"
    # Her ladder snapshots, made by that version, are in the comparison on their page, newest first.
    for place, taken in alice["ladder_snapshots"].items():
        programme, module, session, block = place.split("/")
        page = text(client.get(f"/groups/{tuesday.id}/modules/{module}/sessions/{session}"))
        table = page[page.index("Your snapshots, newest first</caption>"):page.index("</table>")]
        assert table.count('class="snapshots__when"') == len(taken), f"{place} after upgrading {upgraded.name}"
        newest = [int(n) for n in re.findall(r'statement-number">(\d+)\.</span>(?:(?!</th>).)*</th>\s*'
                                             r'<td class="mark[^"]*"><span aria-hidden="true">●', table, re.S)]
        assert newest == taken[-1], f"{place}'s newest snapshot after upgrading {upgraded.name}"


# Last: these sign people in and open their boards, which writes (sign-ins; responses moved to pseudonyms).


@pytest.mark.parametrize("upgraded", PSEUDONYMOUS, indirect=True)
def test_each_person_sees_their_own_proposals_on_their_boards(upgraded):
    """A proposal the facilitator hid, or one held back until the reveal, shows only to whoever made it (and the
    facilitators): after the upgrade its maker still sees it on the board page (Bob his hidden one, Alice her held
    one)."""
    for account in upgraded.manifest["accounts"]:
        own = list(Proposal.select().where(Proposal.id.in_(account["theirs"]["proposals"]),
                                           Proposal.merged_into.is_null(), Proposal.hidden | Proposal.held))
        if not own:
            continue
        client = upgraded.app.test_client()
        login(client, account["name"], account["password"])
        for board in {proposal.board for proposal in own}:
            page = text(client.get(f"/groups/{board.group_id}/board"))
            missing = [p.text for p in own if p.board_id == board.id and p.text not in page]
            assert not missing, f"{account['name']} does not see {missing} after upgrading {upgraded.name}"


@pytest.mark.parametrize("upgraded", RESPONSES_BY_ACCOUNT, indirect=True)
def test_responses_from_before_pseudonyms_are_still_theirs_once_they_open_the_board(upgraded):
    """Step 11 leaves a response made before pseudonyms on its person's account until they next open the board
    (board.page calls Board.adopt_responses), which moves it to their pseudonym for it: still theirs, shown as their
    choice and theirs to change. A private objection is nobody's from step 11 on (it `unlinks` them), and stays
    counted. (Called as the page calls it, in a request of that person's: rendering the board for everyone
    would double this file's time.)"""
    rows: dict[int, list[int]] = {}
    for row_id, links in upgraded.manifest["references"]["response"].items():
        rows.setdefault(links["user_id"], []).append(int(row_id))
    for account in upgraded.manifest["accounts"]:
        user = User.authenticate(account["name"], account["password"])
        theirs = list(BoardResponse.select().where(BoardResponse.id.in_(rows.get(user.id, []))))
        if not theirs:
            continue
        pseudonyms = crypto.pseudonym_key(user.unlock_with_password(account["password"]))
        for board in {r.proposal.board for r in theirs}:
            board.adopt_responses(pseudonyms, user.id)
        for before in theirs:
            now = BoardResponse.get_by_id(before.id)
            mine = BoardResponse.voter_for(pseudonyms, now.proposal_id)
            if before.private:
                assert now.user_id is None and now.voter != mine, f"{account['name']}'s private objection {now.id}"
            else:
                assert now.voter == mine and now.kind == before.kind, \
                    f"{account['name']}'s response {now.id} after upgrading {upgraded.name}"


@pytest.mark.parametrize("upgraded", AUTHORED, indirect=True)
def test_named_proposals_and_thoughts_from_before_pseudonyms_are_theirs_once_they_open_them(upgraded):
    """Step 11 keeps a named proposal's or thought's author (their name shows) but cannot make its pseudonym:
    the first time its maker opens the board or the discussion, their session takes it as theirs
    (MadeBySomeone.adopt_named), so they read "(you)" or "Yours" again and may take a thought back. Not after a
    reset that started a fresh workbook: a fresh workbook owns nothing from before."""
    references = upgraded.manifest["references"]
    for account in upgraded.manifest["accounts"]:
        user = User.authenticate(account["name"], account["password"])
        reset_at = EarlierKey.select(fn.MAX(EarlierKey.replaced_at)).where(EarlierKey.user == user.id).scalar()

        def made_by_them(model, table):
            ids = [int(row_id) for row_id, links in references.get(table, {}).items() if links["author_id"] == user.id]
            named = model.named if model is Proposal else ~model.anonymous
            return [row for row in model.select().where(model.id.in_(ids), named)
                    if reset_at is None or row.created_at > reset_at]

        proposals, thoughts = made_by_them(Proposal, "proposal"), made_by_them(Thought, "thought")
        if not proposals and not thoughts:
            continue
        client = upgraded.app.test_client()
        login(client, account["name"], account["password"])
        for group_id in {p.board.group_id for p in proposals}:
            assert f"Proposed by {user.name} (you)" in text(client.get(f"/groups/{group_id}/board"))
        for discussion in {t.discussion for t in thoughts}:
            path = discussion.place.split("/", 1)[1]   # the place after the programme
            page = text(client.get(f"/groups/{discussion.group_id}/discuss/{path}"))
            assert "Yours" in page, f"{account['name']} does not find their thought after upgrading {upgraded.name}"
        pseudonyms = crypto.pseudonym_key(user.unlock_with_password(account["password"]))
        for row in proposals + thoughts:
            assert type(row).get_by_id(row.id).made_by(pseudonyms), f"{account['name']}'s {row} is not theirs"


# From v14 the Tuesday board is in a re-affirm round of version 1 (make.py), as one was before rounds were kept.
IN_A_REAFFIRM_ROUND = made_where(lambda version, accounts, references: version >= 14)


@pytest.mark.parametrize("upgraded", IN_A_REAFFIRM_ROUND, indirect=True)
def test_a_board_upgraded_in_a_reaffirm_round_goes_on_with_it_and_its_next_round_keeps_it(upgraded):
    """Step 16 (rounds): the round under way stays the board's round 1, its responses in it under the pseudonyms
    they were made with (each person still finds theirs, see above), and the version it re-affirms is earlier
    (round 0), so the code's behaviours are still asked "Still agree". The next round asks about the code only,
    and deletes nothing. (That round is undone after: the other tests see the board as upgraded.)"""
    board = Board.get(Board.phase == "respond")
    version = CodeVersion.get(CodeVersion.board == board)
    assert (board.round, version.round) == (1, 0)
    assert {r.round for r in BoardResponse.select()} == {1} and {r.round for r in Responder.select()} == {1}
    alice = next(a for a in upgraded.manifest["accounts"] if a["name"] == "Alice")
    client = upgraded.app.test_client()
    login(client, alice["name"], alice["password"])
    page = text(client.get(f"/groups/{board.group_id}/board"))
    in_code = page[page.index("In our code, version 1"):page.index("New this round")]
    assert all(behaviour in in_code for behaviour in version.behaviours) and "Still agree" in in_code
    responses = sorted(BoardResponse.select().tuples())
    with db.atomic() as transaction:
        Board.get_by_id(board.id).start_round()
        assert sorted(BoardResponse.select().tuples()) == responses
        carried = sorted(p.text for p in Proposal.select().where(Proposal.board == board, Proposal.round == 2))
        assert carried == sorted(version.behaviours)
        transaction.rollback()


def test_an_upgraded_file_never_hands_out_a_gone_behaviours_or_thoughts_id_again(upgraded):
    """Step 19 (ids_never_reused): the newest row deleted, the next one made gets an id of its own. Undone after
    (a savepoint): the other tests find the rows as the upgrade left them."""
    if upgraded.on_postgresql:
        pytest.skip("PostgreSQL's sequences never hand out an id twice: the step does nothing there")
    connection = upgraded.connection
    connection.execute("SAVEPOINT trying")
    try:
        for table in ("proposal", "thought"):
            top = connection.execute(f'SELECT max(id) FROM "{table}"').fetchone()[0]
            if top is None:
                continue   # (a fixture from before the table, or with none in it)
            columns = ", ".join(f'"{name}"' for _, name, *_ in connection.execute(f'PRAGMA table_info("{table}")')
                                if name != "id")
            connection.execute(f'DELETE FROM "{table}" WHERE id = ?', (top,))
            made = connection.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{table}" '
                                      f'ORDER BY id LIMIT 1').lastrowid
            assert made > top, f"{table}: the gone row's id {top} was handed out again"
    finally:
        connection.execute("ROLLBACK TO trying")
        connection.execute("RELEASE trying")


# ---------------------------------------------------------------------------------------------------
# The demo's step (demo_parts) on a database holding a demo made before it, by `p2p demo` as it was then.

OLD_DEMO = [("facilitator", "Robin (demo)"), ("participant", "Alex (demo)"), ("participant", "Sam (demo)"),
            ("participant", "Jo (demo)")]


def old_demo(name: str = "Demo group") -> tuple[Group, list[User]]:
    """What `p2p demo` made before step 15: the accounts, then the group, in one go; nothing recorded."""
    accounts = [User.create_account(person, "a-random-password", role=role) for role, person in OLD_DEMO]
    group = Group.create_for(accounts[0], 14, name=name, programme="p2p")
    for user in accounts[1:]:
        Membership.join(user, group)
    return group, accounts


def test_the_demo_step_records_a_demo_made_before_it_so_that_it_can_be_removed(app):
    from p2p.models.schema import _demo_parts
    real = User.create_account("Fran", "a calm long password", role="facilitator")
    Group.create_for(real, 14, name="Demo group", programme="p2p")   # a real group may have that name too
    group, accounts = old_demo()
    _demo_parts()
    assert DemoPart.groups() == [group]
    assert [user.id for user in DemoPart.accounts()] == [user.id for user in accounts]


def test_the_demo_step_leaves_alone_a_demo_it_cannot_be_sure_of(app):
    from p2p.models.schema import _demo_parts
    group, accounts = old_demo()
    # "Alex (demo)" came long after the group: someone who chose that name, not the command.
    User.update(created_at=group.created_at + timedelta(hours=1)).where(User.id == accounts[1].id).execute()
    _demo_parts()
    assert not DemoPart.exists()


# ---------------------------------------------------------------------------------------------------
# The signatures' step (signatures) on commitments made before it, on a board that names people and one that does not.

def test_the_signatures_step_keeps_what_the_code_showed_of_each_commitment(app):
    from p2p.models import CodeVersion, Commitment
    from p2p.models.schema import _signatures
    people = [User.create_account(name, "a calm long password") for name in ("Fran", "Alice", "Bob")]
    committed = {}
    for named in (True, False):
        group = Group.create_for(people[0], 14, name=f"Named {named}", programme="p2p")
        board = Board.for_group(group)
        Board.update(named=named).where(Board.id == board.id).execute()
        version = CodeVersion.create(board=board, number=1, items='["Be kind"]')
        committed[named] = [Commitment.create(version=version, user=user) for user in people[1:]]
    Commitment.update(signed=False).execute()   # as the rows were: no choice made
    _signatures()
    for named, rows in committed.items():
        assert [Commitment.get_by_id(row.id).signed for row in rows] == [named, named]
