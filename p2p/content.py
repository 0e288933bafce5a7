"""The programme as data: load `content/` and the host's own files in `instance/content/`, validate them, and
hand out frozen objects.

Content is validated like configuration (see content/README.md): every mistake is a ContentError naming
the file and the place inside it, raised at start-up, so a facilitator's typo never reaches a group as a
half-rendered page. Everything returned is immutable and shared by all requests.

A host adapts the programme in `instance/content/` (same layout), never in `content/` itself: `content/` is
the app's own and an update replaces it, while `instance/` is the host's: `make update` only merges the
shipped file's new lines into a host's copy of it, keeping what they wrote (deploy/update.sh).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, ClassVar

from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML off: a content file can format text but never inject markup or script into a page.
_markdown = MarkdownIt("commonmark", {"html": False})

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ContentError(Exception):
    """A mistake in a content file, with the file and the place inside it."""

    def __init__(self, file: Path | str, where: str, message: str):
        self.file, self.where, self.message = str(file), where, message
        super().__init__(f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}")


def render_markdown(text: str) -> Markup:
    # Safe to mark up: html=False escapes any raw HTML and markdown-it refuses javascript: links.
    return Markup(_markdown.render(text))


# A link from a content text to a session of the same programme: `[text](session:session-2)` (same module),
# `[text](session:module-1/session-2)`, either with `#block-id` to land on one part of it. Written without a group
# (one content file serves every group), so it opens the session through a group-free address that redirects to the
# reader's group following the programme (programme.open_session). Checked once the programme is read: a link to
# a session or block that is not there stops start-up like any other content mistake.
SESSION_LINK = re.compile(r"^session:(?:(?P<module>[a-z0-9-]+)/)?(?P<session>[a-z0-9-]+)(?:#(?P<anchor>[a-z0-9-]+))?$")


def session_link_path(programme_id: str, module_id: str, session_id: str) -> str:
    """The group-free address a session link opens (the route in programme.py redirects it into a group)."""
    return f"/programmes/{programme_id}/modules/{module_id}/sessions/{session_id}"


# Words that point at a paper workbook's layout, which a screen does not have: "over the next few pages", "on page
# 6", "the 4 columns", "the table above", "mark them on the diagram", "overleaf". The shipped content has none (a
# test keeps it so); `p2p check-content` lists any in a host's own files, to reword.
PAPER_REFERENCE = re.compile(
    r"\b(?:(?<!this )pages?|overleaf|columns?|the table (?:above|below)|the diagram)\b", re.IGNORECASE)


def paper_references(text: str) -> list[str]:
    return list(dict.fromkeys(found.group(0) for found in PAPER_REFERENCE.finditer(text)))


# ---------------------------------------------------------------------------------------------------
# The model. Attribute names match the TOML keys, so content/README.md documents both.


@dataclass(frozen=True)
class ContentNote:
    """A calm note before a hard part (trauma, the lowest point of a story): what is coming, a link to Support, and
    a link that skips ahead to `skip_to` (an id on the session page) named `skip_label`."""
    text: Markup
    skip_to: str = ""
    skip_label: str = ""


# Where "skip ahead" lands when the hard part is the last of its session: the session page's pager.
SESSION_END = "after-this-session"

# What a block is called where it has no title of its own (as its template heads it).
_UNTITLED = {"story": "Your story", "yes_no": "Check for yourself", "scenarios": "Scenarios"}


@dataclass(frozen=True)
class Block:
    type: ClassVar[str]
    answerable: ClassVar[bool] = True
    id: str
    content_note: ContentNote | None = field(default=None, kw_only=True)

    @property
    def template(self) -> str:
        return f"programme/blocks/_{self.type}.html"

    @property
    def heading(self) -> str:
        return (getattr(self, "title", None) or getattr(self, "prompt", None) or _UNTITLED.get(self.type)
                or "the next part")


@dataclass(frozen=True)
class Reading(Block):
    type: ClassVar[str] = "reading"
    answerable: ClassVar[bool] = False
    title: str | None
    text: Markup


@dataclass(frozen=True)
class FreeText(Block):
    type: ClassVar[str] = "free_text"
    prompt: str
    help: Markup | None
    to_board: bool = False   # its answer can be proposed to the group's code of behaviour board
    # What the question is about, when the same question is asked of several things ("Parent states"): said with
    # it wherever the answer is shown, so that two such answers are never two identical questions.
    about: str | None = None

    @property
    def question(self) -> str:
        return f"{self.about}: {self.prompt}" if self.about else self.prompt


@dataclass(frozen=True)
class Statement:
    number: int
    text: str


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    reflection: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Ladder(Block):
    type: ClassVar[str] = "ladder"
    title: str | None
    intro: Markup | None
    stages: tuple[Stage, ...]

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(s for stage in self.stages for s in stage.statements)


@dataclass(frozen=True)
class Spectrum(Block):
    type: ClassVar[str] = "spectrum"
    title: str | None
    intro: Markup | None
    left: str
    right: str
    pairs: tuple[tuple[str, str], ...]
    prompt: str


@dataclass(frozen=True)
class Row:
    id: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class TableNotes(Block):
    type: ClassVar[str] = "table_notes"
    title: str | None
    intro: Markup | None
    columns: tuple[str, ...]
    notes_label: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    text: str | None


@dataclass(frozen=True)
class OptionGroup:
    id: str
    title: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class PickN(Block):
    type: ClassVar[str] = "pick_n"
    title: str | None
    prompt: str
    count: int
    note_label: str | None
    free: bool
    groups: tuple[OptionGroup, ...]

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(o for group in self.groups for o in group.options)


@dataclass(frozen=True)
class Item:
    id: str
    text: str


@dataclass(frozen=True)
class YesNo(Block):
    type: ClassVar[str] = "yes_no"
    title: str | None
    intro: Markup | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str


@dataclass(frozen=True)
class StorySection:
    id: str
    title: str
    intro: Markup | None
    questions: tuple[Question, ...]
    content_note: ContentNote | None = None


@dataclass(frozen=True)
class Story(Block):
    type: ClassVar[str] = "story"
    title: str | None
    intro: Markup | None
    sections: tuple[StorySection, ...]


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    text: Markup
    discussion: Markup | None


@dataclass(frozen=True)
class Scenarios(Block):
    type: ClassVar[str] = "scenarios"
    answerable: ClassVar[bool] = False
    title: str | None
    intro: Markup | None
    questions: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    closing: Markup | None


# The group's live activities a session can open from the facilitator's run page (see sessions.py).
ACTIVITIES = {
    "code-board": "the code of behaviour board, where the group makes its code",
    "reaffirm-round": "a re-affirm round of the group's code of behaviour",
}


@dataclass(frozen=True)
class Session:
    id: str
    title: str
    aim: Markup | None
    learning_intentions: tuple[str, ...]
    facilitator_notes: Markup | None
    blocks: tuple[Block, ...]
    activities: tuple[str, ...] = ()   # keys of ACTIVITIES, in the order the run page offers them

    def block(self, block_id: str) -> Block | None:
        return next((b for b in self.blocks if b.id == block_id), None)

    @property
    def exercises(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.answerable)


@dataclass(frozen=True)
class Module:
    id: str
    order: int
    title: str
    subtitle: str | None
    status: str
    intro: Markup | None
    facilitator_notes: Markup | None
    sessions: tuple[Session, ...]
    file: str = field(compare=False, repr=False)
    # Each person works through it on their own before the group meets (Preparing): the group's own sessions
    # begin after it, so "the first session" of a group is the first session of a module without this.
    before_the_group: bool = False

    def session(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    @property
    def is_outline(self) -> bool:
        return self.status == "outline"


@dataclass(frozen=True)
class Notice:
    """Something worth rewording that does not stop start-up: a text that points at a paper page."""
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


@dataclass(frozen=True)
class Programme:
    id: str
    title: str
    summary: str
    intro: Markup | None
    facilitator_notes: Markup | None
    modules: tuple[Module, ...]
    notices: tuple[Notice, ...] = field(default=(), compare=False, repr=False)

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.id == module_id), None)


@dataclass(frozen=True)
class HostFile:
    """A file of the host's own in instance/content/, and the shipped file it is used in place of (if any)."""
    path: Path
    replaces: Path | None


@dataclass(frozen=True)
class Library:
    programmes: dict[str, Programme]
    host_files: tuple[HostFile, ...] = ()
    notices: tuple[Notice, ...] = ()

    def programme(self, programme_id: str) -> Programme | None:
        return self.programmes.get(programme_id)

    def choices(self) -> list[tuple[str, str]]:
        return [(p.id, p.title) for p in self.programmes.values()]


# ---------------------------------------------------------------------------------------------------
# Reading TOML tables with the place always known.


@dataclass
class _Reading:
    """What the reader of one programme knows as it goes: where it is (for links written without a module), the
    links to check once every module is read, and the notices found."""
    programme_id: str
    module_id: str | None = None
    session_id: str | None = None
    links: list[tuple[Path, str, str, str | None, str | None]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class _Table:
    """One TOML table being read. Every accessor names the place on error; `close()` refuses leftovers."""

    def __init__(self, data: object, file: Path, where: str, reading: _Reading | None = None):
        self.file, self.where = file, where
        self.reading = reading or _Reading(programme_id=Path(file).parent.name)
        if not isinstance(data, dict):
            self.fail("", f"expected a table, found {_describe(data)}")
        self.data: dict = data
        self.used: set[str] = set()

    def place(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where and key else (self.where or key)

    def fail(self, key: str, message: str):
        raise ContentError(self.file, self.place(key), message)

    def _notice_paper(self, key: str, value: str):
        phrases = paper_references(value) if key not in ("id", "type", "status") else []
        if phrases:
            words = ", ".join(f"“{phrase}”" for phrase in phrases)
            self.reading.notices.append(Notice(str(self.file), self.place(key), f"{words} points at a paper "
                                               "workbook's layout; on a screen, name the part or link to it"))

    def _get(self, key: str, required: bool):
        self.used.add(key)
        if key not in self.data:
            if required:
                self.fail(key, "is missing")
            return None
        return self.data[key]

    def text(self, key: str, required: bool = True) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f"should be text, found {_describe(value)}")
        value = value.strip()
        if required and not value:
            self.fail(key, "is empty")
        self._notice_paper(key, value)
        return value or None

    def markdown(self, key: str, required: bool = False) -> Markup | None:
        value = self.text(key, required)
        return self._render(key, value) if value else None

    def _render(self, key: str, text: str) -> Markup:
        """Markdown, with session links made into addresses and every link to a session or a part of this page
        noted for checking once the whole programme is read."""
        env: dict = {}
        tokens = _markdown.parse(text, env)
        for token in tokens:
            for child in token.children or ():
                href = child.attrGet("href") if child.type == "link_open" else None
                if not href:
                    continue
                if href.startswith("session:"):
                    link = SESSION_LINK.match(href)
                    if not link:
                        self.fail(key, f"the link {href!r} should be session:<session-id> or "
                                       "session:<module-id>/<session-id>, optionally with #<block-id>")
                    module_id = link["module"] or self.reading.module_id
                    if module_id is None:
                        self.fail(key, f"the link {href!r} should name its module: session:<module-id>/<session-id>")
                    child.attrSet("href", session_link_path(self.reading.programme_id, module_id, link["session"])
                                  + (f"#{link['anchor']}" if link["anchor"] else ""))
                    self.reading.links.append((self.file, self.place(key), href, module_id, link["session"]))
                elif href.startswith("#"):
                    self.reading.links.append((self.file, self.place(key), href, self.reading.module_id,
                                               self.reading.session_id))
        return Markup(_markdown.renderer.render(tokens, _markdown.options, env))

    def id(self) -> str:
        value = self.text("id")
        if not ID_PATTERN.match(value):
            self.fail("id", f"{value!r} should use lower-case letters, digits and single hyphens only")
        return value

    def integer(self, key: str, minimum: int = 0) -> int:
        value = self._get(key, True)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"should be a whole number, found {_describe(value)}")
        if value < minimum:
            self.fail(key, f"should be at least {minimum}")
        return value

    def flag(self, key: str) -> bool:
        value = self._get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(key, f"should be true or false, found {_describe(value)}")
        return value

    def texts(self, key: str, required: bool = True) -> tuple[str, ...]:
        value = self._get(key, required)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(key, "should be a list of non-empty texts")
        if required and not value:
            self.fail(key, "is empty")
        for i, v in enumerate(value):
            self._notice_paper(f"{key}[{i}]", v)
        return tuple(v.strip() for v in value)

    def tables(self, key: str, required: bool = True) -> list[_Table]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list) or (required and not value):
            self.fail(key, "should be a non-empty list of tables ([[...]])")
        return [_Table(item, self.file, f"{self.where}.{key}[{i}]".lstrip("."), self.reading)
                for i, item in enumerate(value)]

    def close(self):
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            self.fail(unknown[0], "is not a key this place knows (a typo?)")


def _describe(value: object) -> str:
    return {str: "text", int: "a number", bool: "true/false", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


def _unique(items, table: _Table, key: str, what: str = "id"):
    seen: set = set()
    for i, item in enumerate(items):
        value = getattr(item, what)
        if value in seen:
            table.fail(f"{key}[{i}].{what}", f"{value!r} is used twice here")
        seen.add(value)
    return tuple(items)


def _read(table: _Table, build: Callable[[_Table], object]):
    value = build(table)
    table.close()
    return value


# ---------------------------------------------------------------------------------------------------
# One reader per block type. Adding a type: a dataclass above, a reader here, a template in
# templates/programme/blocks/_<type>.html (a test checks every type has one).


def _reading(t: _Table) -> Reading:
    return Reading(id=t.id(), title=t.text("title", False), text=t.markdown("text", True))


def _free_text(t: _Table) -> FreeText:
    return FreeText(id=t.id(), prompt=t.text("prompt"), help=t.markdown("help"), to_board=t.flag("to_board"),
                    about=t.text("about", False))


def _ladder(t: _Table) -> Ladder:
    stages = [
        _read(s, lambda s: Stage(
            id=s.id(), title=s.text("title"), reflection=s.text("reflection"),
            statements=tuple(
                _read(st, lambda st: Statement(number=st.integer("number", 1), text=st.text("text")))
                for st in s.tables("statements")
            ),
        ))
        for s in t.tables("stages")
    ]
    ladder = Ladder(id=t.id(), title=t.text("title", False), intro=t.markdown("intro"),
                    stages=_unique(stages, t, "stages"))
    _unique(ladder.statements, t, "stages[*].statements", "number")
    return ladder


def _spectrum(t: _Table) -> Spectrum:
    pairs = t._get("pairs", True)
    if not isinstance(pairs, list) or not pairs or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x.strip() for x in p) for p in pairs
    ):
        t.fail("pairs", "should be a list of [left text, right text] pairs")
    return Spectrum(id=t.id(), title=t.text("title", False), intro=t.markdown("intro"), left=t.text("left"),
                    right=t.text("right"), pairs=tuple((a.strip(), b.strip()) for a, b in pairs),
                    prompt=t.text("prompt"))


def _table_notes(t: _Table) -> TableNotes:
    columns = t.texts("columns")
    rows = []
    for r in t.tables("rows"):
        row = _read(r, lambda r: Row(id=r.id(), cells=r.texts("cells")))
        if len(row.cells) != len(columns):
            r.fail("cells", f"has {len(row.cells)} cells but the table has {len(columns)} columns")
        rows.append(row)
    return TableNotes(id=t.id(), title=t.text("title", False), intro=t.markdown("intro"), columns=columns,
                      notes_label=t.text("notes_label"), rows=_unique(rows, t, "rows"))


def _pick_n(t: _Table) -> PickN:
    free = t.flag("free")
    groups = [
        _read(g, lambda g: OptionGroup(
            id=g.id(), title=g.text("title"),
            options=tuple(
                _read(o, lambda o: Option(id=o.id(), name=o.text("name"), text=o.text("text", False)))
                for o in g.tables("options")
            ),
        ))
        for g in t.tables("groups", required=not free)
    ]
    if free and groups:
        t.fail("groups", "a free pick (free = true) lets people name their own, so it has no groups")
    pick = PickN(id=t.id(), title=t.text("title", False), prompt=t.text("prompt"), count=t.integer("count", 1),
                 note_label=t.text("note_label", False), free=free, groups=_unique(groups, t, "groups"))
    _unique(pick.options, t, "groups[*].options")
    if groups and pick.count > len(pick.options):
        t.fail("count", f"asks for {pick.count} but there are only {len(pick.options)} options")
    return pick


def _yes_no(t: _Table) -> YesNo:
    items = [_read(i, lambda i: Item(id=i.id(), text=i.text("text"))) for i in t.tables("items")]
    return YesNo(id=t.id(), title=t.text("title", False), intro=t.markdown("intro"),
                 items=_unique(items, t, "items"))


def _story(t: _Table) -> Story:
    sections = []
    for s in t.tables("sections"):
        questions = [_read(q, lambda q: Question(id=q.id(), prompt=q.text("prompt"))) for q in s.tables("questions")]
        sections.append(_read(s, lambda s: StorySection(
            id=s.id(), title=s.text("title"), intro=s.markdown("intro"),
            questions=_unique(questions, s, "questions"), content_note=_content_note(s),
        )))
    return Story(id=t.id(), title=t.text("title", False), intro=t.markdown("intro"),
                 sections=_unique(sections, t, "sections"))


def _scenarios(t: _Table) -> Scenarios:
    scenarios = [
        _read(s, lambda s: Scenario(id=s.id(), title=s.text("title"), text=s.markdown("text", True),
                                    discussion=s.markdown("discussion")))
        for s in t.tables("scenarios")
    ]
    return Scenarios(id=t.id(), title=t.text("title", False), intro=t.markdown("intro"),
                     questions=t.texts("questions", required=False), scenarios=_unique(scenarios, t, "scenarios"),
                     closing=t.markdown("closing"))


BLOCK_READERS: dict[str, Callable[[_Table], Block]] = {
    "reading": _reading,
    "free_text": _free_text,
    "ladder": _ladder,
    "spectrum": _spectrum,
    "table_notes": _table_notes,
    "pick_n": _pick_n,
    "yes_no": _yes_no,
    "story": _story,
    "scenarios": _scenarios,
}
BLOCK_TYPES = tuple(BLOCK_READERS)


def _content_note(t: _Table) -> ContentNote | None:
    text = t.markdown("content_note")
    return ContentNote(text) if text else None


def _block(t: _Table) -> Block:
    kind = t.text("type")
    if kind not in BLOCK_READERS:
        t.fail("type", f"{kind!r} is not a block type; use one of: {', '.join(BLOCK_TYPES)}")
    block = BLOCK_READERS[kind](t)
    note = _content_note(t)
    return replace(block, content_note=note) if note else block


def _skips_ahead(blocks: list[Block]) -> list[Block]:
    """Each content note's "skip ahead" goes to the part after the one it stands before: the next section of a
    story, else the next block, else the end of the session."""
    done = []
    for i, block in enumerate(blocks):
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        skip_to, skip_label = (after.id, after.heading) if after else (SESSION_END, "the end of this session")
        if isinstance(block, Story):
            sections = list(block.sections)
            for j, section in enumerate(sections):
                if section.content_note:
                    later = sections[j + 1] if j + 1 < len(sections) else None
                    to, label = (f"{block.id}-{later.id}", later.title) if later else (skip_to, skip_label)
                    sections[j] = replace(section, content_note=replace(section.content_note, skip_to=to,
                                                                          skip_label=label))
            block = replace(block, sections=tuple(sections))
        if block.content_note:
            block = replace(block, content_note=replace(block.content_note, skip_to=skip_to, skip_label=skip_label))
        done.append(block)
    return done


def _session(t: _Table) -> Session:
    t.reading.session_id = session_id = t.id()
    blocks = _skips_ahead([_read(b, _block) for b in t.tables("blocks", required=False)])
    activities = t.texts("activities", required=False)
    for i, activity in enumerate(activities):
        if activity not in ACTIVITIES:
            t.fail(f"activities[{i}]", f"{activity!r} is not an activity; use one of: {', '.join(ACTIVITIES)}")
    session = Session(id=session_id, title=t.text("title"), aim=t.markdown("aim"),
                      learning_intentions=t.texts("learning_intentions", required=False),
                      facilitator_notes=t.markdown("facilitator_notes"), blocks=_unique(blocks, t, "blocks"),
                      activities=activities)
    t.reading.session_id = None
    return session


def _module(t: _Table) -> Module:
    t.reading.module_id = module_id = t.id()
    status = t.text("status", False) or "ready"
    if status not in ("ready", "outline"):
        t.fail("status", f"should be \"ready\" or \"outline\", found {status!r}")
    sessions = [_read(s, _session) for s in t.tables("sessions", required=status == "ready")]
    if status == "outline" and sessions:
        t.fail("sessions", "an outline module has no sessions yet; set status = \"ready\" to add them")
    module = Module(id=module_id, order=t.integer("order"), title=t.text("title"), subtitle=t.text("subtitle", False),
                    status=status, intro=t.markdown("intro"), facilitator_notes=t.markdown("facilitator_notes"),
                    sessions=_unique(sessions, t, "sessions"), file=str(t.file),
                    before_the_group=t.flag("before_the_group"))
    t.reading.module_id = None
    return module


def _anchors(session: Session) -> set[str]:
    """The ids on a session's page that a link may land on: its blocks and the sections of its stories."""
    found = {SESSION_END}
    for block in session.blocks:
        found.add(block.id)
        if isinstance(block, Story):
            found.update(f"{block.id}-{section.id}" for section in block.sections)
    return found


def _check_links(programme: Programme, reading: _Reading):
    for file, where, href, module_id, session_id in reading.links:
        if href.startswith("#"):
            module = programme.module(module_id) if module_id else None
            session = module.session(session_id) if module and session_id else None
            if session is None:
                raise ContentError(file, where, f"the link {href!r} goes to a part of this page, which only a "
                                                "session's texts can do; to link to a session use session:<id>")
            if href[1:] not in _anchors(session):
                raise ContentError(file, where, f"the link {href!r} goes to no part of this session; its parts "
                                                f"are: {', '.join(sorted(_anchors(session) - {SESSION_END}))}")
            continue
        link = SESSION_LINK.match(href)
        module = programme.module(module_id)
        if module is None:
            raise ContentError(file, where, f"the link {href!r} goes to module {module_id!r}, which is not in "
                                            f"this programme; its modules are: "
                                            f"{', '.join(m.id for m in programme.modules)}")
        session = module.session(link["session"])
        if session is None:
            raise ContentError(file, where, f"the link {href!r} goes to session {link['session']!r}, which is not in "
                                            f"module {module.id!r}; its sessions are: "
                                            f"{', '.join(s.id for s in module.sessions) or 'none yet'}")
        if link["anchor"] and link["anchor"] not in _anchors(session):
            raise ContentError(file, where, f"the link {href!r} goes to no part of that session; its parts are: "
                                            f"{', '.join(sorted(_anchors(session) - {SESSION_END}))}")


def _load_toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ContentError(path, "", f"is not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ContentError(path, "", f"is not UTF-8 text: {e}") from None


# The host's own programme files, in the instance folder: an update never touches them.
HOST_CONTENT = "content"


def host_content_folder(instance_path: Path) -> Path:
    return Path(instance_path) / HOST_CONTENT


def _programme_files(root: Path) -> dict[str, dict[str, Path]]:
    """Each programme folder's name (its id) → its .toml files by name."""
    if not root.is_dir():
        raise ContentError(root, "", "should be a folder of programme folders")
    stray = sorted(root.glob("*.toml"))
    if stray:
        raise ContentError(stray[0], "", f"belongs in its programme's folder, for example "
                                         f"{root / 'p2p' / stray[0].name}")
    programmes = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        if not ID_PATTERN.match(folder.name):
            raise ContentError(folder, "", "a programme folder's name is its id: use lower-case letters, digits "
                                           "and hyphens")
        programmes[folder.name] = {path.name: path for path in sorted(folder.glob("*.toml"))}
    return programmes


def _refuse_second_module(module_id: str, first: Path, second: Path, host_paths: frozenset[Path]):
    if (first in host_paths) != (second in host_paths):
        # Most likely a host's copy of a shipped module under another name: say how to make it a replacement.
        own, shipped = (first, second) if first in host_paths else (second, first)
        raise ContentError(own, "id", f"{module_id!r} is already the id of a module in {shipped}; to use your file "
                                      f"in place of that one, give it the same name: {shipped.name}")
    raise ContentError(second, "id", f"{module_id!r} is already the id of a module in {first}")


def load_programme(programme_id: str, folder: Path, files: dict[str, Path],
                   host_paths: frozenset[Path] = frozenset()) -> Programme:
    """One programme from its files by name (`folder` is where they are, named when none is found;
    `host_paths` are those of the host's own)."""
    head_file = files.get("programme.toml")
    if head_file is None:
        raise ContentError(folder / "programme.toml", "", "is missing: every programme folder needs one")
    reading = _Reading(programme_id)
    head = _Table(_load_toml(head_file), head_file, "", reading)
    modules: dict[str, Module] = {}
    for _, path in sorted(files.items()):
        if path == head_file:
            continue
        module = _read(_Table(_load_toml(path), path, "", reading), _module)
        if module.id in modules:
            _refuse_second_module(module.id, Path(modules[module.id].file), path, host_paths)
        modules[module.id] = module
    programme = _read(head, lambda t: Programme(
        id=programme_id, title=t.text("title"), summary=t.text("summary"), intro=t.markdown("intro"),
        facilitator_notes=t.markdown("facilitator_notes"),
        modules=tuple(sorted(modules.values(), key=lambda m: (m.order, m.id))),
    ))
    if not programme.modules:
        raise ContentError(folder, "", "has no module files beside programme.toml")
    _check_links(programme, reading)
    return replace(programme, notices=tuple(reading.notices))


def load_library(root: Path, host_root: Path | None = None) -> Library:
    """The programmes in `root` (content/). A file in `host_root` (instance/content/, optional) with the same
    relative path is used in place of the shipped one; any other file or folder there is added."""
    root = Path(root)
    if not root.is_dir():
        raise ContentError(root, "", "the content folder does not exist")
    shipped = _programme_files(root)
    own = _programme_files(Path(host_root)) if host_root is not None and Path(host_root).exists() else {}
    programmes, host_files = {}, []
    for programme_id in sorted(shipped.keys() | own.keys()):
        shipped_files, own_files = shipped.get(programme_id, {}), own.get(programme_id, {})
        host_files += [HostFile(path, shipped_files.get(name)) for name, path in own_files.items()]
        folder = root / programme_id if programme_id in shipped else Path(host_root) / programme_id
        programmes[programme_id] = load_programme(programme_id, folder, {**shipped_files, **own_files},
                                                  frozenset(own_files.values()))
    if not programmes:
        raise ContentError(root, "", "holds no programme folders")
    return Library(programmes=programmes, host_files=tuple(host_files),
                   notices=tuple(n for p in programmes.values() for n in p.notices))
