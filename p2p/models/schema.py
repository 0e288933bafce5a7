"""Schema upgrades: the numbered steps that make and change the tables, and how they are applied at start.

Each step runs in its own transaction and records its number and name in `schema_version`, so an interrupted
upgrade resumes where it stopped; a step is only recorded once it has kept every row and every reference (see
`upgrade`). Append a step; never edit or reorder one that has shipped. Steps may run on a database made by any
earlier step, or on a fresh one where step 1 already created tables from today's models: so each step only adds
what is missing (safe=True, add_columns_if_missing). Every schema that ever shipped has a fixture database in
tests/fixtures/schemas/, which the suite upgrades."""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator

from flask import Flask
from peewee import fn

from ..backup import DatabaseDamaged, backup_now, check_at_start, check_postgresql_at_start
from ..db import close_all, db, is_postgresql, open_configured
from ..logs import log
from .accounts import EarlierKey, Login, OneTimeToken, Throttle, User
from .base import name_key, utcnow
from .board import Board, BoardResponse, CodeVersion, Commitment, Proposal, Responder
from .demo import DemoPart
from .follow_up import FollowUp
from .groups import Group, HeldMembership, Membership, PasswordReset
from .sent_requests import SentRequest
from .sessions import CurrentSession, Discussion, Thought, Timer
from .workbook import Answer, LadderSnapshot, Share

# The tables each step brings (today's models of them: a step creates only what is missing).
ACCOUNT_MODELS = [User, Group, Membership, OneTimeToken, Throttle]
WORKBOOK_MODELS = [EarlierKey, Answer, LadderSnapshot, Share]
BOARD_MODELS = [Board, Proposal, BoardResponse, CodeVersion, Commitment]
FOLLOW_UP_MODELS = [FollowUp]
SESSION_MODELS = [CurrentSession, Timer, Discussion, Thought]
RESET_MODELS = [PasswordReset, HeldMembership]
LOGIN_MODELS = [Login]

# Any fixed number: PostgreSQL's advisory locks are named by integers. Worker processes starting together
# take turns to upgrade the schema (concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL).
UPGRADE_LOCK = 7_221_001


def bring_up_to_date(app: Flask) -> None:
    """At start: check the database, back it up and upgrade it if the code is newer, and close what was opened.
    What the upgrade did is kept in app.extensions["p2p.upgrade"] (`p2p upgrade` reports it)."""
    config, backups = app.config, Path(app.instance_path) / "backups"
    if not config["DATABASE_URL"]:
        # Damaged, empty, or missing where there was one: stops here with what to do, never starts empty.
        check_at_start(Path(config["DATABASE"]), backups)
    open_configured(config)
    done = app.extensions["p2p.upgrade"] = {"from": None, "backup": None}

    def backed_up(version):
        made = backup_now(config, backups, f"before-upgrade-from-v{version}")
        log.info("backup-made reason=before-upgrade from=%s file=%s", version, made.name)
        done.update({"from": version, "backup": made})

    try:
        if config["DATABASE_URL"]:
            check_postgresql_at_start(db.table_exists("user"), backups)
        done["to"] = upgrade(before=backed_up)
    finally:
        close_all()   # nothing stays open from start-up: a forking server (gunicorn --preload) must not share it


def start_new(config) -> None:
    """`p2p new-database`: the tables of a new, empty database, made on purpose where the start-up check would
    refuse to (the SQLite file's earlier companions were moved aside first). Refuses a database holding data."""
    open_configured(config)
    try:
        if db.table_exists("user"):
            raise DatabaseDamaged("The database is not empty: it holds a group's work, so it is left as it is.")
        upgrade()
    finally:
        close_all()


def file_problem(connection: sqlite3.Connection) -> str | None:
    """Why a SQLite database file (a backup to restore) is not one this code can use, or None. Read-only."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"schema_version", "user"} <= tables:
        return "it is not a Peer 2 Peer database (it has no accounts or no schema version)"
    columns = {row[1] for row in connection.execute("PRAGMA table_info(schema_version)")}
    recorded = connection.execute(f"SELECT version, {'step' if 'step' in columns else 'NULL'} FROM schema_version")
    names = [step_name(step) for step in UPGRADES]
    recorded = [(version, step or (names[version - 1] if version <= NAMED_FROM_THE_START else None))
                for version, step in recorded]
    if not recorded:
        return "it has no schema version: it was never finished"
    return steps_problem(recorded, names)


# Steps may run on a database made by any earlier step, or on a fresh one where step 1 already created tables
# from today's models: so each step only adds what is missing (safe=True, add_columns_if_missing).


def add_columns_if_missing(model, *field_names: str) -> None:
    from playhouse.migrate import SchemaMigrator, migrate
    present = {column.name for column in db.get_columns(model._meta.table_name)}
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(*(migrator.add_column(model._meta.table_name, model._meta.fields[name].column_name,
                                  model._meta.fields[name])
              for name in field_names if model._meta.fields[name].column_name not in present))


def _create_index(model, *field_names: str) -> None:
    """One of a model's indexes as it declares it, if missing."""
    index = next(i for i in model._meta.fields_to_index()
                 if [getattr(e, "name", None) for e in i._expressions] == list(field_names))
    model._schema.database.execute(model._schema._create_index(index, safe=True))


def _create_tables():
    db.create_tables(ACCOUNT_MODELS, safe=True)


def _workbooks():
    add_columns_if_missing(User, "key_salt", "key_by_password", "key_by_recovery", "key_generation")
    db.create_tables(WORKBOOK_MODELS, safe=True)


def _boards():
    db.create_tables(BOARD_MODELS, safe=True)


def _board_details():
    add_columns_if_missing(Proposal, "held", "theme")
    # Proposals waiting to be revealed when this step runs stay waiting (before it, the board held them all).
    (Proposal.update(held=True)
     .where(Proposal.board.in_(Board.select(Board.id).where(
         (Board.hide_until_reveal == True) & (Board.revealed == False))))  # noqa: E712
     .execute())


def _follow_ups():
    db.create_tables(FOLLOW_UP_MODELS, safe=True)


def _sessions():
    db.create_tables(SESSION_MODELS, safe=True)


def _workbooks_completed():
    """Databases made in the first hours of step 2 lack what was added to it after it shipped (its code changed,
    its number did not): the share table, and the answers' uniqueness per key generation, which replaced one per
    person and place (that one made a fresh workbook after a reset unable to save where the old one had)."""
    db.execute_sql("DROP INDEX IF EXISTS answer_user_id_place")
    db.create_tables(WORKBOOK_MODELS, safe=True)   # missing tables and indexes only


def _sent_requests():
    db.create_tables([SentRequest], safe=True)


def _throttle_keys_hashed():
    """Throttle counters are found by a keyed hash now; the old ones held what was typed (a name, once a password
    typed into the name box). They only ever count the last 15 minutes: they go."""
    db.execute_sql("DELETE FROM throttle")


_throttle_keys_hashed.empties = ("throttle",)   # its deletion is its purpose (see _check_step)


def _throttle_back_off():
    """Throttles slow guessing down step by step (Throttle.take) instead of locking people out for 15 minutes."""
    add_columns_if_missing(Throttle, "next_at")


def _pseudonyms():
    """Anonymous means anonymous in the data too (MadeBySomeone, BoardResponse): who wrote an anonymous proposal
    or thought, and who responded, is kept as a pseudonym only its maker's session can make again. The links no
    screen showed anyone else go now, at once (no pseudonym can be made for them without their maker's key): an
    anonymous proposal's or thought's author, a private objector. So those, from before, are nobody's, their
    makers' too: a maker no longer sees their own anonymous proposal that was hidden or held back, nor takes back
    an anonymous thought, and a private objection from before stays counted until a new round. What names a
    person on a board was public already (named proposals and thoughts, named objections): their makers' sessions
    take them as theirs when they next open them (MadeBySomeone.adopt_named), as other responses move to their
    pseudonyms (board.adopt_responses)."""
    from playhouse.migrate import SchemaMigrator, migrate

    add_columns_if_missing(Proposal, "owner_salt", "owner_tag")
    add_columns_if_missing(Thought, "owner_salt", "owner_tag")
    add_columns_if_missing(BoardResponse, "voter")
    db.create_tables([Responder], safe=True)
    migrator = SchemaMigrator.from_database(db.obj)
    may_be_nobody = [(table, column) for table, column in (("proposal", "author_id"), ("thought", "author_id"),
                                                             ("response", "user_id"))
                     if not next(c for c in db.get_columns(table) if c.name == column).null]
    migrate(*(migrator.drop_not_null(table, column) for table, column in may_be_nobody))
    # One response per pseudonym per behaviour: this step's index only (today's model has others, on columns
    # later steps bring).
    _create_index(BoardResponse, "proposal", "voter")
    Proposal.update(author=None).where(Proposal.named == False).execute()  # noqa: E712
    Thought.update(author=None).where(Thought.anonymous == True).execute()  # noqa: E712
    for response in BoardResponse.select(BoardResponse.id).where(BoardResponse.private == True):  # noqa: E712
        (BoardResponse.update(user=None, voter=secrets.token_hex(20))   # counted still, and nobody's
         .where(BoardResponse.id == response.id).execute())
    for model in (Proposal, Thought):
        for row in model.select(model.id).where(model.owner_salt.is_null()):
            model.update(owner_salt=secrets.token_hex(8)).where(model.id == row.id).execute()


# The links it cuts on purpose (tests/test_upgrades.py checks every other link is kept).
_pseudonyms.unlinks = {"proposal": ("author_id",), "thought": ("author_id",), "response": ("user_id",)}


def _reset_holds():
    """Password resets made with a facilitator's code, and the memberships they put on hold until confirmed."""
    db.create_tables(RESET_MODELS, safe=True)


def _logins():
    """Each sign-in's own secret (part of the key sealing the workbook key in its cookie) and when it was last used."""
    db.create_tables(LOGIN_MODELS, safe=True)


def _round_starts():
    """When each board's round of responses began (Board.round_started_at): for a board made before, when its first
    behaviour was proposed (the round cannot have begun before), or now if none was."""
    add_columns_if_missing(Board, "round_started_at")
    for board in Board.select(Board.id).where(Board.round_started_at.is_null()):
        first = Proposal.select(fn.MIN(Proposal.created_at)).where(Proposal.board == board.id).scalar()
        Board.update(round_started_at=first or utcnow()).where(Board.id == board.id).execute()


def _demo_parts():
    """What `p2p demo` makes is recorded (DemoPart), so that `p2p demo --remove` removes it and nothing else. A demo
    made before this step is recorded too, if it is surely one: the group named "Demo group" and the four accounts
    with the names that command gave, in their roles, made in the minutes before the group (that command made
    them together, with random passwords nobody chose; a person who later picked one of those names joined after).
    Anything less certain stays as it is."""
    db.create_tables([DemoPart], safe=True)
    if DemoPart.exists():
        return
    people = (("facilitator", "Robin (demo)"), ("participant", "Alex (demo)"), ("participant", "Sam (demo)"),
              ("participant", "Jo (demo)"))
    groups = list(Group.select().where(Group.name == "Demo group"))
    found = []
    for group in groups:
        accounts = []
        for role, name in people:
            user = User.get_or_none(User.name_key == name_key(name))
            membership = user and Membership.get_or_none(Membership.user == user, Membership.group == group)
            if (membership and membership.role == role and user.role == role
                    and group.created_at - timedelta(minutes=5) <= user.created_at <= group.created_at):
                accounts.append(user)
        if len(accounts) == len(people):
            found.append((group, accounts))
    if len(found) == 1:
        DemoPart.record(*found[0])


def _rounds():
    """Every round of a board is kept (a re-affirm round used to delete the responses before it): the board's round,
    and the round each behaviour, response, responder and code version belongs to. A database from before holds one
    round's responses, those of the round its board is in: all of it is round 1, with the responses' pseudonyms as
    they were made (round 1's keep that form, BoardResponse.voter_for). Only a version agreed before that round
    began is earlier (round 0): a board whose round began after a version was agreed is in a re-affirm round of
    that version, and goes on with it, its behaviours listed as they were then (all of them: those not in the code
    under the new ones). One named objector per behaviour per round now, not one for good."""
    for model in (Board, Proposal, BoardResponse, Responder, CodeVersion):
        add_columns_if_missing(model, "round")
    db.execute_sql("DROP INDEX IF EXISTS response_proposal_id_user_id")
    _create_index(BoardResponse, "proposal", "user", "round")
    for board_id, started in Board.select(Board.id, Board.round_started_at).tuples():
        if started is not None:
            CodeVersion.update(round=0).where(CodeVersion.board == board_id, CodeVersion.made_at < started).execute()


def _session_boards():
    """Discussion boards a facilitator opens in any session (Discussion: a place ending `_board/<n>`): their prompt,
    and whether they are closed. The boards from before are scenarios' boards, whose words are in content/: no
    prompt, and open, as they always were."""
    add_columns_if_missing(Discussion, "prompt", "closed")


def _signatures():
    """Each member chooses to sign the code with their name or to be counted without it (Commitment.signed).
    Until now the code page named everyone who had committed while the board's "Show names on new proposals"
    was on, and nobody while it was off. Commitments from before keep what the code showed: signed on a board
    that names people now, counted on any other. So nobody's name appears where it did not, nor goes from a
    poster people already saw it on, until its owner chooses (each can change it on the code page)."""
    add_columns_if_missing(Commitment, "signed")
    named = CodeVersion.select(CodeVersion.id).join(Board).where(Board.named == True)  # noqa: E712
    Commitment.update(signed=True).where(Commitment.version.in_(named)).execute()


def _ids_never_reused():
    """Behaviours and thoughts get ids SQLite never hands out again (models.base.IdNeverReused): until now a new
    one could take the id of one just deleted (a merged wording split apart, a thought taken back), and a page
    still showing the deleted one could respond to, merge or hide the new one by it. SQLite gives AUTOINCREMENT
    only to a table as it is made: each is made anew, every row as it was (ids too), with its indexes.
    (PostgreSQL's sequences never hand out an id twice: nothing to do.)"""
    if is_postgresql():
        return
    for table in (Proposal._meta.table_name, Thought._meta.table_name):
        (made,) = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        if "AUTOINCREMENT" in made.upper():
            continue   # made since (step 3 or 6 makes it so now)
        anew, found = re.subn(r'^CREATE TABLE "?%s"? \(("id" INTEGER NOT NULL PRIMARY KEY)' % table,
                              rf'CREATE TABLE "{table}_anew" (\1 AUTOINCREMENT', made)
        if found != 1:
            raise UpgradeRefused(f"Upgrade step {step_name(_ids_never_reused)} found the table {table} made in a way "
                                 "it does not know, and changed nothing.")
        indexes = [sql for (sql,) in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,))]
        columns = ", ".join(f'"{column.name}"' for column in db.get_columns(table))
        db.execute_sql(anew)
        db.execute_sql(f'INSERT INTO "{table}_anew" ({columns}) SELECT {columns} FROM "{table}"')
        db.execute_sql(f'DROP TABLE "{table}"')   # (foreign keys are off: nothing pointing at it goes)
        db.execute_sql(f'ALTER TABLE "{table}_anew" RENAME TO "{table}"')
        for index in indexes:
            db.execute_sql(index)


UPGRADES: list[Callable[[], None]] = [
    _create_tables,         # 1: accounts, groups, memberships, one-time tokens, throttles
    _workbooks,             # 2: workbook keys on accounts; answers, ladder snapshots, earlier keys
    _boards,                # 3: the code of behaviour board: boards, proposals, responses
    _board_details,         # 4: proposals held back until revealed (each its own), themes
    _follow_ups,            # 5: between sessions: the agreed date for the reflection, the follow-up conversation
    _sessions,              # 6: running a session: current session, timer, discussions, thoughts
    _workbooks_completed,   # 7: what step 2 gained after it shipped: shares, answers unique per key generation
    _sent_requests,         # 8: the keys of creates already made, so a create sent again makes one
    _throttle_keys_hashed,  # 9: throttle counters keyed by a keyed hash, never by what was typed
    _throttle_back_off,     # 10: the moment a throttled key may try again
    _pseudonyms,            # 11: anonymous proposals, thoughts and responses under pseudonyms, linked to nobody
    _reset_holds,           # 12: password resets, and the groups they hold until the person is confirmed
    _logins,                # 13: sign-ins, each with its own secret and the time it was last used
    _round_starts,          # 14: when each board's round of responses began
    _demo_parts,            # 15: what `p2p demo` made, so that it can be removed
    _rounds,                # 16: every round of a board kept: the round of each behaviour, response and version
    _session_boards,        # 17: discussion boards opened in any session: their prompt, and whether closed
    _signatures,            # 18: each commitment signed with the name, or counted without it, as its person chose
    _ids_never_reused,      # 19: behaviours' and thoughts' ids never handed out again (SQLite's AUTOINCREMENT)
]


def step_name(step: Callable[[], None]) -> str:
    """A step's name, recorded beside its number: a database upgraded by other code (another branch, whose step
    7 is not ours) is recognised instead of being half-upgraded. So a shipped step is never renamed either."""
    return step.__name__.lstrip("_")


# Databases upgraded before names were recorded hold numbers only; those steps can only have been these.
NAMED_FROM_THE_START = 6


class UpgradeRefused(RuntimeError):
    """The schema could not be brought up to date without losing or breaking data, or this code does not know
    the steps the database went through. Nothing was changed; the message says what to do."""


def steps_problem(recorded: list[tuple[int, str | None]], names: list[str]) -> str | None:
    """Why this code cannot take a database whose schema went through `recorded` (version, step name) steps,
    given the names of its own steps; None if it can. Used at start and before a restore."""
    if not recorded:
        return None
    newest = max(version for version, _ in recorded)
    if newest > len(names):
        return (f"it is at schema version {newest}, newer than this code knows ({len(names)}): it was made or "
                "upgraded by a newer version of Peer 2 Peer. Update the app before using it")
    for version, name in recorded:
        if name is not None and name != names[version - 1]:
            return (f"its step {version} is \"{name}\", which is not this code's step {version} "
                    f"(\"{names[version - 1]}\"): it was upgraded by another version of Peer 2 Peer (another "
                    "branch). Use the version that made it, or a backup made by this one")
    return None


def schema_version() -> int:
    return max((version for version, _ in _recorded_steps()), default=0)


def _recorded_steps() -> list[tuple[int, str | None]]:
    db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, step TEXT)")
    if "step" not in {column.name for column in db.get_columns("schema_version")}:
        db.execute_sql("ALTER TABLE schema_version ADD COLUMN step TEXT")
    return [tuple(row) for row in db.execute_sql("SELECT version, step FROM schema_version ORDER BY version")]


@contextmanager
def _one_upgrader_at_a_time() -> Iterator[None]:
    """On PostgreSQL, several worker processes may start at once: they upgrade one after another. (SQLite is
    served by one process; its IMMEDIATE transactions serialise the steps anyway.)"""
    if not is_postgresql():
        yield
        return
    db.execute_sql(f"SELECT pg_advisory_lock({db.param})", (UPGRADE_LOCK,))
    try:
        yield
    finally:
        db.execute_sql(f"SELECT pg_advisory_unlock({db.param})", (UPGRADE_LOCK,))


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds a table to add a NOT NULL column (peewee's migrator: copy, DROP, rename). With foreign keys
    on, that DROP deletes every row pointing at the table (ON DELETE CASCADE): an upgrade once emptied the
    memberships and the board's responses that way. The pragma only takes effect outside a transaction, so it is
    set around each step's; `_check_step` then proves the step left every reference whole."""
    if is_postgresql():   # PostgreSQL alters tables in place: nothing cascades
        yield
        return
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")


def _row_counts() -> dict[str, int]:
    return {table: db.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in db.get_tables() if table != "schema_version"}


def _broken_references() -> Counter:
    if is_postgresql():   # enforces every foreign key itself, inside the step
        return Counter()
    return Counter(row[0] for row in db.execute_sql("PRAGMA foreign_key_check"))


def _check_step(number: int, step: Callable[[], None], rows_before: dict[str, int], broken_before: Counter) -> None:
    """Inside the step's transaction: raising here rolls the step back. Upgrades add; they never delete, but for
    what a step says it empties (`step.empties`: tables of short-lived counters, never people's work)."""
    rows_after, broken_after = _row_counts(), _broken_references()
    name, emptied = step_name(step), getattr(step, "empties", ())
    lost = [f"{table}: {count} → {rows_after.get(table, 0)}" for table, count in rows_before.items()
            if rows_after.get(table, 0) < count and table not in emptied]
    broken = [f"{table}: {count}" for table, count in broken_after.items() if count > broken_before[table]]
    if lost or broken:
        said = "; ".join(filter(None, [lost and "rows lost (" + ", ".join(lost) + ")",
                                       broken and "references broken (" + ", ".join(broken) + ")"]))
        raise UpgradeRefused(
            f"Upgrade step {number} ({name}) would have changed data it must keep: {said}. It was undone: the "
            f"database is as it was, at schema version {number - 1}, and the app will not start with it until "
            "this is fixed. Keep using the version of the app you had, and report this message.")


def upgrade(steps: list[Callable[[], None]] | None = None, before: Callable[[int], object] | None = None) -> int:
    """Apply the steps not yet applied; return the version the database is now at. `before(version)` runs
    first when an existing database is about to change (the app makes a backup there).

    Each step runs in its own transaction with foreign keys off (SQLite), and is recorded, with its name, only
    once it has kept every row and every reference (see `_check_step`)."""
    steps = UPGRADES if steps is None else steps
    names = [step_name(step) for step in steps]
    with _one_upgrader_at_a_time():
        recorded = _recorded_steps()
        if any(name is None for _, name in recorded):
            with db.atomic():   # numbers only, from before names were kept: name them as the steps they were
                for version, name in recorded:
                    if name is None and version <= min(NAMED_FROM_THE_START, len(names)):
                        db.execute_sql(f"UPDATE schema_version SET step = {db.param} WHERE version = {db.param}",
                                       (names[version - 1], version))
            recorded = _recorded_steps()
        problem = steps_problem(recorded, names)
        if problem:
            raise UpgradeRefused(f"This code cannot use the database: {problem}.")
        current = max((version for version, _ in recorded), default=0)
        if 0 < current < len(steps) and before is not None:
            before(current)
        for number, step in enumerate(steps[current:], start=current + 1):
            with _foreign_keys_off(), db.atomic():
                rows_before, broken_before = _row_counts(), _broken_references()
                step()
                _check_step(number, step, rows_before, broken_before)
                db.execute_sql(f"INSERT INTO schema_version (version, step) VALUES ({db.param}, {db.param})",
                               (number, names[number - 1]))
    return len(steps)
