"""The workbook as a document: the programme's exercises with the owner's answers, in the programme's order.

One structure feeds the overview's quiet progress, the print view, the Markdown and JSON downloads and the
recovery story read as one piece, so they always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .answers import DONE_FOR_NOW, Progress, Saved, Snapshot, Workbook, fields_of, locate, place_of, progress, where_from
from .content import Block, Ladder, Library, Module, PickN, Programme, Session, Spectrum, Story
from .web import local_time


@dataclass
class Entry:
    place: str
    label: str
    kind: str
    value: str          # as a person reads it ("Yes", "Planner, Empathy")
    raw: str            # as stored
    updated_at: datetime | None
    chosen: list[str] = field(default_factory=list)   # for a choice of several: what each one chosen reads


@dataclass
class BlockDoc:
    block: Block
    title: str
    entries: list[Entry]
    snapshots: list[Snapshot] = field(default_factory=list)   # oldest first

    @property
    def started(self) -> bool:
        return bool(self.snapshots) or any(e.raw.strip() for e in self.entries)


@dataclass
class SessionDoc:
    session: Session
    place: str
    blocks: list[BlockDoc]
    progress: Progress | None = None   # how far its owner is, by questions (None: a blank workbook)


@dataclass
class ModuleDoc:
    programme: Programme
    module: Module
    sessions: list[SessionDoc]

    @property
    def place(self) -> str:
        return f"{self.programme.id}/{self.module.id}"


@dataclass
class WorkbookDoc:
    owner: str
    modules: list[ModuleDoc]
    earlier: list[Entry]        # answers whose question is no longer in the programme: still the owner's

    def only(self, module_place: str | None) -> WorkbookDoc:
        if not module_place:
            return self
        return WorkbookDoc(self.owner, [m for m in self.modules if m.place == module_place], [])


def block_title(block: Block) -> str:
    """The exercise's heading, as on its page."""
    if block.type == "spectrum" and not block.title:
        return f"{block.left} or {block.right}"
    return block.question if block.type == "free_text" else (
        getattr(block, "title", None) or getattr(block, "prompt", None) or block.id.replace("-", " ").capitalize())


def build(library: Library, workbook: Workbook | None, programme_ids: set[str]) -> WorkbookDoc:
    """The workbook with its owner's answers; without a workbook, blank, to be printed and filled in by hand."""
    saved = workbook.all() if workbook else {}
    snapshots = workbook.all_snapshots() if workbook else {}
    # Programmes of the person's groups, and any other they wrote in before (they may have left a group).
    wanted = set(programme_ids) | {place.split("/", 1)[0] for place in saved}
    used: set[str] = set()
    modules = []
    for programme in library.programmes.values():
        if programme.id not in wanted:
            continue
        for module in programme.modules:
            sessions = []
            for session in module.sessions:
                base = place_of(programme.id, module.id, session.id)
                blocks = []
                for block in session.exercises:
                    entries = []
                    for part, answer_field in fields_of(block).items():
                        place = place_of(programme.id, module.id, session.id, block.id, part)
                        used.add(place)
                        answer: Saved | None = saved.get(place)
                        raw = answer.value if answer else ""
                        label = "" if block.type == "free_text" else answer_field.label
                        if isinstance(block, PickN) and block.free and part.endswith("/note"):
                            named = saved.get(place.removesuffix("/note") + "/name")   # the value it is about
                            label = f"{label}: {named.value.strip()}" if named and named.value.strip() else label
                        entries.append(Entry(place, label, answer_field.kind, answer_field.display(raw), raw,
                                             answer.updated_at if answer else None,
                                             answer_field.chosen(raw) if answer_field.kind == "choices" else []))
                    blocks.append(BlockDoc(block, block_title(block), entries,
                                           snapshots.get(f"{base}/{block.id}", [])))
                if blocks:
                    sessions.append(SessionDoc(session, base, blocks, progress(session, saved, base) if workbook else None))
            if sessions:
                modules.append(ModuleDoc(programme, module, sessions))
    earlier = [Entry(place, earlier_label(library, place), "text", answer.value, answer.value, answer.updated_at)
               for place, answer in sorted(saved.items())
               if place not in used and answer.value.strip() and not place.endswith(f"/{DONE_FOR_NOW}")]
    return WorkbookDoc(workbook.user.name if workbook else "", modules, earlier)


def earlier_label(library: Library, place: str) -> str:
    """What a person reads for an answer kept aside: its question if still there, else where it was."""
    if place.startswith("earlier/"):   # an earlier workbook's answer to a question answered again since
        place = place.split("/", 2)[2]
    spot, where = locate(library, place), where_from(library, place)
    if spot and spot.field:
        return f"{spot.field.label} (an earlier answer{f', {where}' if where else ''})"
    return f"A question no longer in the programme{f' ({where})' if where else ''}"


@dataclass(frozen=True)
class Moment:
    """One snapshot in a ladder's history, newest first, with what moved since the one before it (the next older)."""

    snapshot: Snapshot
    when: str                       # "30 November 2026 at 09:05", told apart from another in the same minute
    short: str                      # "30 Nov 2026, 09:05": a column heading
    before: Moment | None           # the one before it
    new: tuple[int, ...]            # statements marked here and not in the one before
    no_longer: tuple[int, ...]      # marked in the one before, and not here


def ladder_history(snapshots: list[Snapshot], zone: str) -> list[Moment]:
    """A ladder's snapshots (oldest first, as stored) as people compare them: newest first, each dated and timed in
    the host's time zone (with seconds only where two fall in the same minute), and what moved since the one before."""
    local = [local_time(s.taken_at, zone) for s in snapshots]
    minutes = [moment.strftime("%Y%m%d%H%M") for moment in local]
    moments: list[Moment] = []
    for snapshot, moment, minute in zip(snapshots, local, minutes):
        seconds = f":{moment:%S}" if minutes.count(minute) > 1 else ""
        before = moments[-1] if moments else None
        marked_before = before.snapshot.marked if before else frozenset()
        moments.append(Moment(snapshot, f"{moment:%-d %B %Y at %H:%M}{seconds}", f"{moment:%-d %b %Y, %H:%M}{seconds}",
                              before, tuple(sorted(snapshot.marked - marked_before)) if before else (),
                              tuple(sorted(marked_before - snapshot.marked))))
    return moments[::-1]


def statement_lines(ladder: Ladder, numbers) -> list[str]:
    """The statements with these numbers, as a person reads them, in the ladder's order."""
    return [f"{s.number}. {s.text}" for s in ladder.statements if s.number in numbers]


def find_story(doc: WorkbookDoc, place: str) -> tuple[SessionDoc, BlockDoc] | None:
    for module in doc.modules:
        for session in module.sessions:
            for block in session.blocks:
                if isinstance(block.block, Story) and f"{session.place}/{block.block.id}" == place:
                    return session, block
    return None


# ---------------------------------------------------------------------------------------------------
# Downloads.


def snapshot_reflections(ladder: Ladder, snapshot: Snapshot) -> list[tuple[str, str, str]]:
    """What a snapshot kept of the stages' reflections: (stage title, its question, the words then), in the
    ladder's order; a stage since removed from the programme keeps its words, under its id."""
    stages = {stage.id: stage for stage in ladder.stages}
    kept = [(stages[s].title, stages[s].reflection, snapshot.reflections[s]) for s in stages if s in snapshot.reflections]
    return kept + [(stage_id, "", text) for stage_id, text in snapshot.reflections.items() if stage_id not in stages]


def _between_sessions_lines(group: str, record) -> list[str]:
    """What a facilitator recorded between sessions, in the words the participant's home page uses."""
    lines = [f"### {group}", ""]
    if record.finish_by:
        lines += [f"- You agreed to finish your reflection by {record.finish_by:%-d %B %Y}."]
    if record.talked_on:
        who = record.talked_with.name if record.talked_with else "your facilitator"
        lines += [f"- You talked with {who} on {record.talked_on:%-d %B %Y}."
                  + (f" Next step: {' '.join(record.next_step.split())}" if record.next_step else "")]
    return lines + [""]


def _options(block: Block, e: Entry) -> list[tuple[str, bool]]:
    """Every option of a one-choice answer (yes / not sure yet / no, a place on the line), and whether chosen."""
    field_ = fields_of(block)[e.place.split("/", 4)[4]]
    return [(name, choice == e.raw) for choice, name in zip(field_.choices, field_.names)]


def _by_group(block: PickN, e: Entry) -> list[tuple[str, list[str]]]:
    """The options chosen, under their groups (the strengths finder's four domains)."""
    chosen = set(e.raw.split(","))
    return [(group.title, [o.name for o in group.options if o.id in chosen]) for group in block.groups]


def _markdown_note(note) -> list[str]:
    """A content note before a hard part (content: `content_note`), as a quote: on paper and in a file too."""
    if note is None:
        return []
    return [f"> **Content note.** {note.text.striptags()} Go at your own pace, and stop whenever you need to.",
            ""]


def _markdown_answer(block: Block, e: Entry, quote: Callable[[str], str]) -> list[str]:
    if e.kind in ("yesno", "stop"):   # every option, so that it reads (and can be answered) like the page
        return [f"- [{'x' if chosen else ' '}] {name}" for name, chosen in _options(block, e)] + [""]
    if e.kind == "choices" and isinstance(block, PickN) and block.groups:
        return [f"- {title}: {', '.join(names) if names else '—'}" for title, names in _by_group(block, e)] + [""]
    if e.kind == "choices":   # one line each: a ladder statement is a sentence of its own
        return ([f"- {name}" for name in e.chosen] or ["_(none chosen)_"]) + [""]
    return [quote(e.value), ""]


def as_json(doc: WorkbookDoc, exported_at: datetime, between_sessions=()) -> str:
    def entry(e: Entry, block: Block | None = None) -> dict:
        return {"place": e.place, "question": e.label or None, "answer": e.value, "stored_value": e.raw,
                **({"chosen": e.chosen} if e.kind == "choices" else {}),
                **({"options": [name for name, _ in _options(block, e)]} if e.kind in ("yesno", "stop") else {}),
                **({"chosen_by_group": dict(_by_group(block, e))}
                   if e.kind == "choices" and isinstance(block, PickN) and block.groups else {}),
                "updated_at": e.updated_at.isoformat() + "Z" if e.updated_at else None}

    data = {
        "exported_at": exported_at.isoformat() + "Z",
        "name": doc.owner,
        "modules": [{
            "programme": m.programme.title, "module": m.module.title,
            "sessions": [{
                "session": s.session.title,
                "exercises": [{
                    "exercise": b.title,
                    "answers": [entry(e, b.block) for e in b.entries if e.raw],
                    # Newest first, as on screen and in print; times in UTC, as everywhere in this file.
                    **({"ladder_snapshots": [{
                        "taken_at": m.snapshot.taken_at.isoformat() + "Z",
                        "statements_marked": statement_lines(b.block, m.snapshot.marked),
                        "new_since_the_one_before": statement_lines(b.block, m.new),
                        "no_longer_marked": statement_lines(b.block, m.no_longer),
                        "reflections": [{"stage": stage, "question": question or None, "answer": text}
                                        for stage, question, text in snapshot_reflections(b.block, m.snapshot)],
                    } for m in ladder_history(b.snapshots, "UTC")]} if b.snapshots else {}),
                } for b in s.blocks],
            } for s in m.sessions],
        } for m in doc.modules],
        "earlier_answers": [entry(e) for e in doc.earlier],
        # Not part of the workbook, but about its owner: what facilitators recorded between sessions.
        "between_sessions": [{
            "group": group, "finish_reflection_by": r.finish_by.isoformat() if r.finish_by else None,
            "talked_on": r.talked_on.isoformat() if r.talked_on else None,
            "talked_with": r.talked_with.name if r.talked_with else None, "next_step": r.next_step or None,
            "recorded_by": r.recorded_by.name if r.recorded_by else None,
            "recorded_at": r.recorded_at.isoformat() + "Z",
        } for group, r in between_sessions],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def as_markdown(doc: WorkbookDoc, exported_at: datetime, zone: str = "UTC", between_sessions=()) -> str:
    """For people to read: dates in the host's time zone, as on screen (the JSON keeps UTC, for programs)."""
    def local(moment: datetime) -> datetime:
        return local_time(moment, zone)

    def quote(text: str) -> str:
        return "\n".join(f"> {line}" if line else ">" for line in text.splitlines()) if text.strip() else "_(not answered)_"

    lines = [f"# Workbook of {doc.owner}", "", f"Downloaded on {local(exported_at):%-d %B %Y at %H:%M}.", ""]
    for m in doc.modules:
        lines += [f"## {m.module.title}", ""]
        for s in m.sessions:
            lines += [f"### {s.session.title}", ""]
            for b in s.blocks:
                lines += _markdown_note(b.block.content_note) + [f"#### {b.title}", ""]
                if isinstance(b.block, Spectrum):   # the table its question asks about
                    lines += [f"| {b.block.left} | {b.block.right} |", "| --- | --- |",
                              *(f"| {left} | {right} |" for left, right in b.block.pairs), ""]
                notes = {x.id: x.content_note for x in b.block.sections} if isinstance(b.block, Story) else {}
                for e in b.entries:
                    section = e.place.split("/")[-2]
                    if section in notes:   # the first question of a story section: its note, if it has one
                        lines += _markdown_note(notes.pop(section))
                    if e.label:
                        lines += [f"**{e.label}**", ""]
                    lines += _markdown_answer(b.block, e, quote)
                if b.snapshots:
                    lines += ["Your snapshots, newest first.", ""]
                for m in ladder_history(b.snapshots, zone):
                    lines += [f"##### Snapshot of {m.when}", "", "Statements that felt real then:", ""]
                    lines += [f"- {line}" for line in statement_lines(b.block, m.snapshot.marked)] or ["- (none marked)"]
                    lines += [""]
                    if m.before and (m.new or m.no_longer):
                        lines += [f"Since {m.before.when}:", ""]
                        lines += [f"- New: {line}" for line in statement_lines(b.block, m.new)]
                        lines += [f"- No longer: {line}" for line in statement_lines(b.block, m.no_longer)]
                        lines += [""]
                    for stage, question, text in snapshot_reflections(b.block, m.snapshot):
                        lines += [f"**{stage}{f': {question}' if question else ''}**", "", quote(text), ""]
    if doc.earlier:
        lines += ["## Earlier answers", "", "Answers to questions that are no longer in the programme.", ""]
        for e in doc.earlier:
            lines += [f"**{e.label}**", "", quote(e.value), ""]
    if between_sessions:
        lines += ["## Between sessions", "", "What your facilitators recorded with you (not part of the workbook).", ""]
        for group, record in between_sessions:
            lines += _between_sessions_lines(group, record)
    return "\n".join(lines)
