"""What can be answered, and the sealed store of answers.

Every answerable thing in content/ has a *place*: programme/module/session/block, plus a part for blocks with
several answers (a table row, a story question). Places are made of the stable ids in content/, so an edited
question keeps its answer and a removed one leaves its answers in the store (shown as "earlier answers").
The save endpoint accepts only places listed here: the allow-list of what a workbook can hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, NamedTuple

from . import crypto
from .content import Block, FreeText, Ladder, Library, PickN, Spectrum, Story, TableNotes, YesNo
from .db import checkpoint, db, for_update
from .models import Answer, EarlierKey, LadderSnapshot, Share, User, utcnow

TEXT_MAX = 50_000          # a long reflection; far beyond any answer in the paper workbook
SHORT_TEXT_MAX = 200       # a value's name
SPECTRUM_STOPS = ("1", "2", "3", "4", "5")
# The ladder of change's ticks, as they are now: one answer for the whole ladder. Content ids have no "/", so
# this part can never be taken by a stage's reflection (whose part is the stage's id).
LADDER_MARKED = "statements/marked"

YES_NO = ("yes", "unsure", "no")


class AnswerProblem(ValueError):
    """A value that cannot be stored at a place: said kindly, shown to the person."""


@dataclass(frozen=True)
class Field:
    """One answerable spot. `kind` decides how a value is checked: text, short, yesno, stop, choices."""

    part: str
    kind: str
    label: str
    choices: tuple[str, ...] = ()
    names: tuple[str, ...] = ()     # what a person reads for each of the choices
    limit: int = 0

    def display(self, value: str) -> str:
        """A stored value as a person reads it (for print and export)."""
        if self.kind in ("yesno", "stop", "choices"):
            return ", ".join(self.chosen(value))
        return value

    def chosen(self, value: str) -> list[str]:
        """What a person reads for each of the choices in a stored value, in the content's order."""
        picked = set(value.split(","))
        return [name for choice, name in zip(self.choices, self.names) if choice in picked]

    def clean(self, value: str) -> str:
        if self.kind in ("text", "short"):
            value = value.replace("\r\n", "\n")
            maximum = TEXT_MAX if self.kind == "text" else SHORT_TEXT_MAX
            if len(value) > maximum:
                raise AnswerProblem(f"This is longer than {maximum:,} characters, so it could not be saved. "
                                    "Your text is still here; please shorten it a little.")
            return value
        if self.kind == "yesno":
            if value not in ("", *self.choices):
                raise AnswerProblem("Please choose yes, not sure yet, or no.")
            return value
        if self.kind == "stop":
            if value not in ("", *SPECTRUM_STOPS):
                raise AnswerProblem("Please choose one of the places on the line.")
            return value
        if self.kind == "choices":
            chosen = [c for c in value.split(",") if c]
            if len(set(chosen)) != len(chosen) or not set(chosen) <= set(self.choices):
                raise AnswerProblem("Please choose from the list.")
            if len(chosen) > self.limit:
                raise AnswerProblem(f"You can choose up to {self.limit}. To choose another, untick one first.")
            return ",".join(chosen)
        raise AssertionError(self.kind)


def fields_of(block: Block) -> dict[str, Field]:
    """The answerable parts of a block, by part name ("" for a block with a single answer)."""
    if isinstance(block, FreeText):
        return {"": Field("", "text", block.question)}
    if isinstance(block, Ladder):
        statements = block.statements
        return {LADDER_MARKED: Field(LADDER_MARKED, "choices", "Statements that feel real to you now",
                                     tuple(str(s.number) for s in statements),
                                     tuple(f"{s.number}. {s.text}" for s in statements), len(statements)),
                **{stage.id: Field(stage.id, "text", f"{stage.title}: {stage.reflection}") for stage in block.stages}}
    if isinstance(block, Spectrum):
        stops = (block.left, "More to the left", "In the middle", "More to the right", block.right)
        return {"position": Field("position", "stop", block.prompt, SPECTRUM_STOPS, stops),
                "reflection": Field("reflection", "text", "Your thoughts")}
    if isinstance(block, TableNotes):
        return {row.id: Field(row.id, "text", f"{block.notes_label} ({row.cells[0]})") for row in block.rows}
    if isinstance(block, PickN) and block.free:
        fields = {}
        for n in range(1, block.count + 1):
            fields[f"{n}/name"] = Field(f"{n}/name", "short", f"Value {n}")
            fields[f"{n}/note"] = Field(f"{n}/note", "text",
                                        f"{block.note_label} (value {n})" if block.note_label else f"About value {n}")
        return fields
    if isinstance(block, PickN):
        fields = {"choices": Field("choices", "choices", block.prompt, tuple(o.id for o in block.options),
                                   tuple(o.name for o in block.options), block.count)}
        if block.note_label:
            fields.update({f"note/{o.id}": Field(f"note/{o.id}", "text", f"{block.note_label} ({o.name})")
                           for o in block.options})
        return fields
    if isinstance(block, YesNo):
        # These ask whether someone is ready: "not sure yet" is an answer too, and a kind one to give.
        return {item.id: Field(item.id, "yesno", item.text, YES_NO, ("Yes", "Not sure yet", "No")) for item in block.items}
    if isinstance(block, Story):
        # A section's questions may be asked again in the next: the section says which.
        return {f"{s.id}/{q.id}": Field(f"{s.id}/{q.id}", "text", f"{s.title}: {q.prompt}")
                for s in block.sections for q in s.questions}
    return {}


# A session's "done for now", kept among its answers, sealed like them: only its owner ever knows. Its part can
# never be a block's id (ids have no "~").
DONE_FOR_NOW = "~done-for-now"


class Progress(NamedTuple):
    answered: int
    questions: int
    done: bool   # marked "done for now" by its owner (whatever the count says)


def questions_of(block: Block, answers: dict[str, Saved], base: str) -> list[str]:
    """The places of a block's questions as a person counts them: a note per option only for the options chosen,
    a note per value only for the values named (28 notes nobody was asked to write are no questions)."""
    fields = fields_of(block)

    def place(part: str) -> str:
        return "/".join(p for p in (base, block.id, part) if p)

    def given(part: str) -> bool:
        return is_answered(answers, place(part))

    if isinstance(block, PickN) and block.free:
        return [place(part) for part in fields if part.endswith("/name") or given(part.replace("/note", "/name"))]
    if isinstance(block, PickN):
        chosen = set(answers[place("choices")].value.split(",")) if given("choices") else set()
        return [place(part) for part in fields if not part.startswith("note/") or part[5:] in chosen]
    return [place(part) for part in fields]


def progress(session, answers: dict[str, Saved], base: str) -> Progress:
    """How far its owner is with a session's questions: counted, never scored."""
    places = [place for block in session.exercises for place in questions_of(block, answers, base)]
    return Progress(sum(is_answered(answers, place) for place in places), len(places),
                    is_answered(answers, f"{base}/{DONE_FOR_NOW}"))


def is_answered(answers: dict[str, Saved], place: str) -> bool:
    return bool(answers.get(place) and answers[place].value.strip())


def session_at(library: Library, place: str):
    """(programme, module, session) of a place, each None where it is not in the content."""
    programme_id, module_id, session_id = (place.split("/") + [""] * 3)[:3]
    programme = library.programme(programme_id)
    module = programme.module(module_id) if programme else None
    return programme, module, module.session(session_id) if module else None


def where_from(library: Library, place: str) -> str:
    """Where an answer's question is in the programme ("Module 1 · Session 2 · Values"), for wherever the answer is
    shown away from its page (the to-discuss list, what a facilitator sees shared, earlier answers)."""
    module, session = session_at(library, place)[1:]
    block = session and session.block((place.split("/") + [""] * 4)[3])
    block_title = getattr(block, "title", None) if block and block.type != "free_text" else None
    return " · ".join(title for title in (module and module.title, session and session.title, block_title) if title)


def place_of(programme_id: str, module_id: str, session_id: str, block_id: str = "", part: str = "") -> str:
    return "/".join(p for p in (programme_id, module_id, session_id, block_id, part) if p)


def answer_anchor(place: str) -> str:
    """The HTML id of the answer at `place` on its page (its form is `<id>-form`, its status `<id>-status`): one
    scheme for the page, the links to it and the redirects back to it."""
    return "a-" + place.replace("/", "--")


@dataclass(frozen=True)
class Spot:
    """A place found in the content: the block it belongs to, and (for an answer) the field that says what it
    may hold."""

    place: str
    programme_id: str
    module_id: str
    session_id: str
    block: Block
    part: str
    field: Field | None


def locate(library: Library, place: str) -> Spot | None:
    """Find a place in the content; None if it is not there (a typo, or an exercise since removed)."""
    parts = place.split("/")
    if len(parts) < 4:
        return None
    programme_id, module_id, session_id, block_id, part = *parts[:4], "/".join(parts[4:])
    programme = library.programme(programme_id)
    module = programme and programme.module(module_id)
    session = module and module.session(session_id)
    block = session and session.block(block_id)
    if not block:
        return None
    return Spot(place, programme_id, module_id, session_id, block, part, fields_of(block).get(part))


def resolve(library: Library, place: str) -> Spot | None:
    """A place that can hold an answer."""
    spot = locate(library, place)
    return spot if spot and spot.field else None


# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    value: str
    revision: int
    updated_at: datetime


class Outcome(NamedTuple):
    """What became of a save: the revision saved now, or, when another tab or device had saved a different
    version the writer had not seen, nothing saved and that other version (the writer chooses which to keep)."""

    revision: int
    other: Saved | None = None


@dataclass(frozen=True)
class Snapshot:
    """A ladder of change as it was at one moment: the statements that felt real then (their numbers), and what
    its owner had written about each stage then (stage id -> text; none for snapshots from before they were kept)."""

    id: int
    place: str
    taken_at: datetime
    marked: frozenset[int]
    reflections: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class SnapshotTaken:
    """What "Save today's snapshot" did: SAVED (`snapshot` is the new one), EMPTY (nothing marked or written: none
    made), UNCHANGED (the same as the latest, `snapshot`: none made)."""

    SAVED: ClassVar[str] = "saved"
    EMPTY: ClassVar[str] = "empty"
    UNCHANGED: ClassVar[str] = "unchanged"

    outcome: str
    snapshot: Snapshot | None = None


class RecoveryCardFirst(Exception):
    """Nothing is written in a workbook before its owner has seen its recovery card and said they wrote the code
    down (User.recovery_card_confirmed): someone who joined with a join code is shown the card when they first
    open their workbook, and every way of writing in it (a session page, a link from elsewhere, an old tab) meets
    this until then. workbook.card_first answers it, kindly."""


class Workbook:
    """One person's answers, opened with their data key. Nothing here is readable without that key."""

    def __init__(self, user: User, data_key: bytes):
        self.user, self.key = user, data_key

    def _context(self, kind: str, place: str) -> str:
        # Bound to owner and place: a sealed value moved to another row or person does not open.
        return f"{kind}:{self.user.id}:{place}"

    def _seal(self, kind: str, place: str, value: str) -> bytes:
        return crypto.seal(self.key, value.encode(), self._context(kind, place))

    def _open(self, kind: str, place: str, sealed: bytes) -> str:
        return crypto.open_sealed(self.key, bytes(sealed), self._context(kind, place)).decode()

    def _current(self, query):
        return query.where(query.model.user == self.user.id, query.model.key_generation == self.user.key_generation)

    def all(self, under: str = "") -> dict[str, Saved]:
        """Every answer, or those under one place (a session's prefix)."""
        query = self._current(Answer.select())
        if under:
            query = query.where(Answer.place.startswith(under + "/"))
        return {a.place: Saved(self._open("answer", a.place, a.sealed), a.revision, a.updated_at) for a in query}

    def get(self, place: str) -> Saved | None:
        row = self._current(Answer.select()).where(Answer.place == place).first()
        return row and Saved(self._open("answer", place, row.sealed), row.revision, row.updated_at)

    def _locked(self, place: str) -> Answer | None:
        return for_update(self._current(Answer.select()).where(Answer.place == place)).first()

    def save(self, place: str, value: str, base_revision: int | None) -> Outcome:
        """Store a value written on top of `base_revision`, the version the writer last saw (0: none). If another
        tab or device has saved a different value since, nothing is written: neither version is lost, and the
        writer is shown the other one. `None` replaces whatever is there (an explicit act, like a snapshot)."""
        self.writable()
        sealed = self._seal("answer", place, value)   # before taking a turn: the turn is for the database
        # (Nearly every save is one statement, _on_top: a short turn among the process's writes, db._SqlitePool.)
        return self._on_top(place, sealed, base_revision) or self._in_transaction(place, value, sealed, base_revision)

    def writable(self) -> None:
        """Raises RecoveryCardFirst before the recovery card was confirmed. Every write here starts with it."""
        if not self.user.recovery_card_confirmed:
            raise RecoveryCardFirst

    def _on_top(self, place: str, sealed: bytes, base_revision: int | None) -> Outcome | None:
        """Nearly every save: a writer's next words on the version they saw, or their first words. One statement,
        written only if the answer is still at that version (or there is none yet); None if it was not written."""
        user, generation = self.user.id, self.user.key_generation
        if base_revision and Answer.write_over(user, generation, place, sealed, base_revision):
            return Outcome(base_revision + 1)
        if base_revision == 0 and Answer.add_first(user, generation, place, sealed):
            return Outcome(1)
        return None

    def _in_transaction(self, place: str, value: str, sealed: bytes, base_revision: int | None) -> Outcome:
        """Another version came in between, or `None` (whatever is there): read the revision and write the next one
        without a race: SQLite's IMMEDIATE transaction, PostgreSQL's row lock. Two first saves at once (two tabs,
        PostgreSQL) both find no row: the unique index lets one insert, and the other then finds the row it made
        (and a version it had not seen)."""
        user, generation = self.user.id, self.user.key_generation
        with db.atomic():
            row = self._locked(place)
            if row is None:
                if Answer.add_first(user, generation, place, sealed):
                    return Outcome(1)
                row = self._locked(place)
            if base_revision is not None and base_revision != row.revision:
                current = Saved(self._open("answer", place, row.sealed), row.revision, row.updated_at)
                # The same words from two tabs (a draft sent again by a second tab) are one version, not two.
                return Outcome(row.revision) if current.value == value else Outcome(row.revision, current)
            Answer.write_over(user, generation, place, sealed, row.revision)
            return Outcome(row.revision + 1)

    # Ladder of change: dated and timed snapshots of which statements felt real, with the stages' reflections.

    def take_snapshot(self, place: str, numbers: list[int], reflections: dict[str, str] | None = None,
                      taken_at: datetime | None = None) -> SnapshotTaken:
        """A snapshot of the ladder at `place` (programme/module/session/block): the ticks `numbers` and the stages'
        reflections as they are now (`reflections`, stage id -> text; by default the saved answers of the ladder's
        stages), taken now (or at `taken_at`, UTC: `p2p demo` makes a history). The ticks are
        saved as the current ones too (they stay on the page), over whatever is there (a new revision even for the
        same ticks): an older tick's autosave still arriving then meets a version it has not seen, and is not
        written over them. No snapshot is made of nothing (no tick, no reflection), nor of exactly what the
        latest snapshot holds already: the outcome says which."""
        self.writable()
        ticks = ",".join(map(str, sorted(set(numbers))))
        self.save(f"{place}/{LADDER_MARKED}", ticks, None)
        if reflections is None:
            reflections = {p.removeprefix(place + "/"): saved.value for p, saved in self.all(under=place).items()
                           if p != f"{place}/{LADDER_MARKED}" and "/" not in p.removeprefix(place + "/")}
        reflections = {stage: text for stage, text in sorted(reflections.items()) if text.strip()}
        marked = frozenset(int(n) for n in ticks.split(",") if n)
        if not marked and not reflections:
            return SnapshotTaken(SnapshotTaken.EMPTY)
        latest = self._current(LadderSnapshot.select()).where(LadderSnapshot.place == place).order_by(
            LadderSnapshot.taken_at.desc(), LadderSnapshot.id.desc()).first()
        if latest is not None:
            before = self._snapshot(latest)
            if before.marked == marked and before.reflections == reflections:
                return SnapshotTaken(SnapshotTaken.UNCHANGED, before)
        payload = json.dumps({"marked": sorted(marked), "reflections": reflections}, ensure_ascii=False)
        row = LadderSnapshot.create(user=self.user.id, place=place, key_generation=self.user.key_generation,
                                    sealed=self._seal("ladder", place, payload), taken_at=taken_at or utcnow())
        return SnapshotTaken(SnapshotTaken.SAVED, self._snapshot(row))

    def _snapshot(self, row: LadderSnapshot) -> Snapshot:
        """A snapshot as its owner reads it. Snapshots from before reflections were kept hold the ticks alone
        ("1,3,6"); later ones, a JSON object of the ticks and the reflections."""
        opened = self._open("ladder", row.place, row.sealed)
        if opened.startswith("{"):
            data = json.loads(opened)
            return Snapshot(row.id, row.place, row.taken_at, frozenset(data.get("marked", ())),
                            dict(data.get("reflections", {})))
        return Snapshot(row.id, row.place, row.taken_at, frozenset(int(n) for n in opened.split(",") if n), {})

    def snapshots(self, place: str) -> list[Snapshot]:
        """The snapshots of the ladder at `place`, oldest first."""
        return self.all_snapshots(place).get(place, [])

    def all_snapshots(self, place: str | None = None) -> dict[str, list[Snapshot]]:
        """Every ladder's snapshots, by place, oldest first."""
        query = self._current(LadderSnapshot.select()).order_by(LadderSnapshot.taken_at, LadderSnapshot.id)
        if place is not None:
            query = query.where(LadderSnapshot.place == place)
        found: dict[str, list[Snapshot]] = {}
        for row in query:
            found.setdefault(row.place, []).append(self._snapshot(row))
        return found

    def snapshot(self, snapshot_id: int) -> Snapshot | None:
        """One of this workbook's snapshots (None for anyone else's, or one that is gone)."""
        row = self._current(LadderSnapshot.select()).where(LadderSnapshot.id == snapshot_id).first()
        return row and self._snapshot(row)

    def delete_snapshot(self, snapshot_id: int) -> bool:
        """This one snapshot goes (and out of the WAL, as deletions do); nothing else changes."""
        gone = self._current(LadderSnapshot.delete()).where(LadderSnapshot.id == snapshot_id).execute()
        if gone:
            checkpoint()
        return bool(gone)

    def adopt(self, earlier: EarlierKey, old_key: bytes) -> int:
        """Bring an earlier workbook (opened with its old recovery code) into this one. Where both have an answer
        for the same question, this workbook's stays and the earlier one is kept among the earlier answers."""
        self.writable()
        old = Workbook(self.user, old_key)
        moved = 0
        with db.atomic():
            current = set(self.all())
            for row in Answer.select().where(Answer.user == self.user.id, Answer.key_generation == earlier.generation):
                value = old._open("answer", row.place, row.sealed)
                place = row.place if row.place not in current else f"earlier/{earlier.generation}/{row.place}"
                self.save(place, value, None)
                moved += 1
            for row in LadderSnapshot.select().where(LadderSnapshot.user == self.user.id,
                                                     LadderSnapshot.key_generation == earlier.generation):
                LadderSnapshot.create(user=self.user.id, place=row.place, key_generation=self.user.key_generation,
                                      taken_at=row.taken_at,
                                      sealed=self._seal("ladder", row.place, old._open("ladder", row.place, row.sealed)))
                moved += 1
            for model in (Answer, LadderSnapshot):
                model.delete().where(model.user == self.user.id, model.key_generation == earlier.generation).execute()
            earlier.delete_instance()
        return moved


def delete_workbook(user_id: int) -> None:
    """A whole workbook, every key generation, gone; the WAL is checkpointed so no copy lingers there."""
    with db.atomic():
        for model in (Answer, LadderSnapshot, EarlierKey, Share):
            model.delete().where(model.user == user_id).execute()
    checkpoint()
