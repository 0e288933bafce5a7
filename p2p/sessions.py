"""Running a session: the group's current session, the facilitator's run page, a countdown everyone sees, and
discussion boards: one for each scenario of a `scenarios` block, and any a facilitator opens in a session, with a
prompt of their own (models.Discussion says how each is kept).

Live parts work like the board (see board.py): each screen follows them through its stream (p2p/stream.py),
which sends it only what changed on it (a discussion's followers below: DiscussionFollower); without one, it
polls with the version number it shows, kept in the database, and gets 204 No Content while nothing has changed.
The timer stores only its end time; a screen is told how many seconds are left and counts down by its own clock
(static/js/timer.js), so a phone whose clock is wrong still shows the right time left.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import ClassVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from . import permissions, sending, stream
from .access import membership_or_404, running_or_404
from .answers import place_of
from .auth import my_pseudonyms
from .content import FreeText, Module, PickN, Programme, Scenario, Scenarios, Session, Spectrum, Story
from .db import db
from .models import CodeVersion, CurrentSession, Discussion, Group, Membership, SentRequest, Thought, Timer, one_line
from .web import content, is_fragment_request, log, redirect_to, safe_next, seen_already, whole_number

bp = Blueprint("sessions", __name__)

THOUGHT_LIMIT = (20, 300)   # thoughts per person per 5 minutes: plenty for a person, a brake for a script
THOUGHTS = sending.Words(
    "thought", Thought.TEXT_MAX, THOUGHT_LIMIT, "Please write your thought first.",
    lambda text: (f"Please keep a thought to {Thought.TEXT_MAX} characters (this one has {len(text)}). "
                  "Your words are still here to shorten."),
    "That is a lot of thoughts at once. Please wait a moment and try again.")
QUICK_MINUTES = (1, 2, 3, 5, 10)
# The pages that show the group's timer (in base.html, above the content): the facilitator starts it on the run
# page, and everyone sees it wherever they are in the group's session, the projector included.
TIMER_PAGES = {"board.page", "board.projector", "board.code", "groups.show", "programme.module", "programme.session",
               "sessions.run", "sessions.discussion", "sessions.timer_projector", "sessions.discussion_projector"}
AGENDA_KINDS = {"reading": "Read", "free_text": "Reflect", "ladder": "Exercise", "spectrum": "Exercise",
                "table_notes": "Exercise", "pick_n": "Exercise", "yes_no": "Check", "story": "Write",
                "scenarios": "Discuss"}


# ---------------------------------------------------------------------------------------------------
# Where the group is: its programme's sessions in order, and the one it is in now.


@dataclass(frozen=True)
class ProgrammeSession:
    """A session of the group's programme, with its module and its place (programme/module/session)."""

    programme: Programme
    module: Module
    session: Session

    @property
    def place(self) -> str:
        return place_of(self.programme.id, self.module.id, self.session.id)


def all_sessions(programme: Programme) -> list[ProgrammeSession]:
    return [ProgrammeSession(programme, module, session) for module in programme.modules for session in module.sessions]


def current_spot(group: Group) -> ProgrammeSession | None:
    """The group's current session, or None if none is chosen (or the content no longer has it)."""
    programme, place = content().programme(group.programme), CurrentSession.place_of(group)
    if programme is None or not place:
        return None
    return next((spot for spot in all_sessions(programme) if spot.place == place), None)


def _next_spot(group: Group, spot: ProgrammeSession | None) -> ProgrammeSession | None:
    spots = all_sessions(content().programme(group.programme))
    if spot is None:   # the group's first session: its own, not the reading each person does before it meets
        return next((s for s in spots if not s.module.before_the_group), spots[0] if spots else None)
    index = [s.place for s in spots].index(spot.place)
    return spots[index + 1] if index + 1 < len(spots) else None


@bp.app_template_global()
def current_session(group: Group) -> ProgrammeSession | None:
    """For the home and group pages: "Now: <session>"."""
    return current_spot(group)


def agenda(session: Session) -> list[dict]:
    """What happens in the session, from its blocks: a kind ("Read", "Reflect", …) and a name for each."""
    items = []
    for block in session.blocks:
        name = getattr(block, "title", None) or getattr(block, "prompt", None) or block.id.replace("-", " ").capitalize()
        if isinstance(block, Scenarios):
            name = f"{name}: {len(block.scenarios)} scenario{'s' if len(block.scenarios) != 1 else ''} to discuss"
        items.append({"kind": AGENDA_KINDS.get(block.type, "Exercise"), "name": name, "anchor": block.id})
    return items


def scenario_places(spot: ProgrammeSession) -> list[tuple[Scenarios, list[tuple[Scenario, str]]]]:
    """The session's `scenarios` blocks, each with its scenarios and their discussion places."""
    return [(block, [(scenario, place_of(spot.programme.id, spot.module.id, spot.session.id, block.id, scenario.id))
                     for scenario in block.scenarios])
            for block in spot.session.blocks if isinstance(block, Scenarios)]


# ---------------------------------------------------------------------------------------------------
# The facilitator's run page.


@bp.get("/groups/<int:group_id>/run")
@login_required
def run(group_id: int):
    group, membership = running_or_404(group_id)
    programme = content().programme(group.programme)
    if programme is None:
        abort(404)
    spot = current_spot(group)
    blocks = scenario_places(spot) if spot else []
    counts = Discussion.counts(group, [place for _, scenarios in blocks for _, place in scenarios])
    timer = Timer.of(group)
    return render_template(
        "sessions/run.html", group=group, programme=programme, spot=spot, next_spot=_next_spot(group, spot),
        spots=all_sessions(programme), agenda=agenda(spot.session) if spot else [], scenario_blocks=blocks,
        counts=counts, has_code=CodeVersion.of_group(group) is not None, timer=timer, running=bool(timer and timer.remaining),
        quick_minutes=QUICK_MINUTES, minutes_max=Timer.MINUTES_MAX,
    )


@bp.post("/groups/<int:group_id>/run/current")
@login_required
def choose(group_id: int):
    group, _ = running_or_404(group_id)
    programme = content().programme(group.programme) or abort(404)
    place = request.form.get("place", "")
    spot = next((s for s in all_sessions(programme) if s.place == place), None)
    if spot is None:
        flash("Please choose a session from the list.")
    else:
        CurrentSession.choose(group, spot.place)
        log.info("current-session-set group=%s by=%s", group.id, current_user.id)
        flash(f"Now: {spot.session.title}. Everyone in the group sees it on their home page.")
    return redirect(url_for("sessions.run", group_id=group.id))


# ---------------------------------------------------------------------------------------------------
# The timer.


def _read_seconds() -> int | None:
    """The length asked for, in whole seconds: a quick button's minutes, or the number typed (0.5 is half a minute)."""
    raw = (request.form.get("minutes") or request.form.get("length") or "").strip().replace(",", ".")
    try:
        seconds = round(float(raw) * 60)
    except (ValueError, OverflowError):
        return None
    return seconds if 1 <= seconds <= Timer.MINUTES_MAX * 60 else None


@bp.post("/groups/<int:group_id>/timer")
@login_required
def timer(group_id: int):
    group, _ = running_or_404(group_id)
    if request.form.get("action") == "stop":
        with db.atomic():
            Timer.stop(group)
        flash("The timer is stopped.")
    else:
        seconds = _read_seconds()
        if seconds is None:
            flash(f"Please give the timer a number of minutes, up to {Timer.MINUTES_MAX} (half a minute is 0.5).")
        else:
            label = one_line(request.form.get("label", ""))[:80]
            with db.atomic():
                Timer.start(group, seconds, label)
            log.info("timer-started group=%s seconds=%s", group.id, seconds)
            flash(f"The timer is running: {minutes_text(seconds)}. Everyone in the group sees it.")
    return redirect(url_for("sessions.run", group_id=group.id) + "#timer")


def minutes_text(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    parts = [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else []
    if rest:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " and ".join(parts) or "0 seconds"


def timer_context(group: Group) -> dict:
    timer = Timer.of(group)
    return {"group": group, "timer": timer, "version": timer.version if timer else 0,
            "remaining": timer.remaining if timer else 0, "length": minutes_text(timer.seconds) if timer else ""}


@bp.app_context_processor
def _group_timer():
    """The group's timer on the pages of a group's session (TIMER_PAGES). Those routes have checked membership,
    but an error page on the same address has not: so check again here, and show nothing to non-members."""
    if request.endpoint not in TIMER_PAGES or not current_user.is_authenticated:
        return {}
    group_id = (request.view_args or {}).get("group_id")
    group = Group.by_id(group_id) if group_id else None
    if group is None or Membership.of(current_user, group) is None:
        return {}
    return {"group_timer": timer_context(group)}


@bp.get("/groups/<int:group_id>/timer/live")
@login_required
def timer_live(group_id: int):
    """Polled by every screen showing the timer. 204 while it is unchanged; the screen counts down by itself."""
    group, _ = membership_or_404(group_id)
    if seen_already(Timer.version_of(group)):
        return "", 204
    return render_template("sessions/_timer.html", fresh=True, group_timer=timer_context(group))


@stream.follows("sessions.timer_live")
class TimerFollower:
    """A screen's timer, followed by its stream (p2p/stream.py): sent again whole when it starts or stops."""

    def __init__(self, group: Group, membership: Membership, view_args: dict, args) -> None:
        self.topic = ("timer", group.id, "")
        self.version = whole_number(args.get("v")) or 0

    def version_now(self, group: Group) -> int:
        return Timer.version_of(group)

    def update(self, group: Group, membership: Membership, known: int) -> str | None:
        if known == self.version:
            return None
        state = timer_context(group)
        self.version = state["version"]
        return render_template("sessions/_timer.html", fresh=True, oob=True, group_timer=state)


# ---------------------------------------------------------------------------------------------------
# Discussion boards: one per scenario, per group (and those a facilitator opens in a session: below).


@dataclass(frozen=True)
class ScenarioPlace:
    spot: ProgrammeSession
    block: Scenarios
    scenario: Scenario

    @property
    def place(self) -> str:
        return place_of(self.spot.programme.id, self.spot.module.id, self.spot.session.id, self.block.id,
                        self.scenario.id)

    @property
    def title(self) -> str:
        return self.scenario.title

    @property
    def thought_label(self) -> str:
        return f"Your thought on {self.scenario.title}"

    def url_args(self, group: Group) -> dict:
        return {"group_id": group.id, "module_id": self.spot.module.id, "session_id": self.spot.session.id,
                "block_id": self.block.id, "scenario_id": self.scenario.id}


def spot_or_404(group: Group, module_id: str, session_id: str) -> ProgrammeSession:
    programme = content().programme(group.programme) or abort(404)
    module = programme.module(module_id) or abort(404)
    session = module.session(session_id) or abort(404)
    return ProgrammeSession(programme, module, session)


def scenario_or_404(group: Group, module_id: str, session_id: str, block_id: str, scenario_id: str) -> ScenarioPlace:
    spot = spot_or_404(group, module_id, session_id)
    block = spot.session.block(block_id)
    if not isinstance(block, Scenarios):
        abort(404)
    scenario = next((s for s in block.scenarios if s.id == scenario_id), None) or abort(404)
    return ScenarioPlace(spot, block, scenario)


@dataclass
class Discussed:
    """A discussion at one version, the same for everyone: read once per version in each process, not once per
    screen (a room's 30 phones after a new thought would otherwise each read it, and render each thought, again;
    as the board's Snapshot). Each screen's view is picked out of it (thoughts_state), and each thought's HTML made
    once per kind of screen (thought_html). Correct with several worker processes: the version comes from the
    database, and what it holds was read at that version or after."""

    version: int
    thoughts: list[Thought]   # every thought, oldest first, hidden ones too (their authors still see them)
    closed: bool
    # Each thought's HTML as one kind of screen shows it, the list's outline, its poller, its announcements.
    made_once: stream.MadeOnce = field(default_factory=stream.MadeOnce)


_reading_discussions = threading.Lock()
MOST_DISCUSSIONS = 100   # kept read in each process (more than its rooms have open); one let go is read again


def discussed(group: Group, place: str, known: int | None = None) -> Discussed:
    """The discussion at `place` as the database has it now or, given the version `known` (a stream that heard of
    it), at that version or newer: after a change, one screen reads it while the others wait for it."""
    cache = stream.shared("discussions")
    wanted = Discussion.version_of(group, place) if known is None else known
    found = cache.get((group.id, place))
    if found is not None and found.version >= wanted:
        return found
    with _reading_discussions:
        found = cache.get((group.id, place))
        if found is not None and found.version >= wanted:
            return found
        # Its version first: each later read may see newer changes, never older ones, so a screen never holds a
        # version whose change it lacks.
        discussion = Discussion.find(group, place)
        found = Discussed(discussion.version if discussion else 0, discussion.every_thought() if discussion else [],
                          bool(discussion and discussion.closed))
        cache.pop((group.id, place), None)   # the last read last: those unchanged longest go first
        cache[group.id, place] = found
        while len(cache) > MOST_DISCUSSIONS:
            cache.pop(next(iter(cache)))
        return found


class Mine:
    """Which thoughts are this person's, as only their own session can tell (MadeBySomeone): worked out once per
    thought, and kept by a stream from one change to the next. The room's screen is nobody's (no pseudonyms)."""

    def __init__(self, pseudonyms: bytes | None) -> None:
        self.pseudonyms = pseudonyms
        self._found: dict[int, bool] = {}

    def __call__(self, thought: Thought) -> bool:
        found = self._found.get(thought.id)
        if found is None:
            found = self._found[thought.id] = thought.made_by(self.pseudonyms)
        return found


def thoughts_state(group: Group, membership: Membership, where: ScenarioPlace | SessionBoard, seen: int | None = None,
                   view: str = "page", mine: Mine | None = None, shared: Discussed | None = None) -> dict:
    """What the discussion's live list shows this person (or, `view` "projector", the room's screen); with `seen`
    (the newest thought id their screen showed), also what to announce to screen readers: thoughts by others that
    arrived since. `mine` and `shared`: a stream's, kept from one change to the next, and the version it sends."""
    projector = view == "projector"
    facilitator = permissions.can_run_session(membership) and not projector
    shared = shared or discussed(group, where.place)
    mine = Mine(None) if projector else mine or Mine(my_pseudonyms())
    # Thought.shown_to, this screen's own thoughts kept: one a facilitator hid is still on its author's screen and
    # the facilitators', on nobody else's.
    thoughts = [t for t in shared.thoughts if not t.kept_from_group or facilitator or mine(t)]
    own = {t.id for t in thoughts if mine(t)}
    new = [t for t in thoughts if seen is not None and t.id > seen and t.id not in own and not t.hidden]
    state = {"group": group, "where": where, "view": view, "facilitator": facilitator, "thoughts": thoughts,
             "own": own, "version": shared.version, "newest": max((t.id for t in thoughts), default=0),
             "new_thoughts": new, "closed": shared.closed, "shared": shared}
    state["thought_html"] = lambda thought: thought_html(state, thought)
    return state


def thought_html(state: dict, thought: Thought) -> Markup:
    """One thought as this screen shows it. What varies between people is in the key (the kind of screen, whether
    it is theirs); everything else (its words, its name, whether it is hidden) is the same for everyone at this
    version."""
    mine = thought.id in state["own"]
    if state["view"] == "projector":
        return state["shared"].made_once(("projector", thought.id), lambda: stream.shared_html(
            "sessions/_projector_thought.html", thought=thought))
    return state["shared"].made_once((state["facilitator"], mine, thought.id), lambda: stream.shared_html(
        "sessions/_thought.html", group=state["group"], thought=thought, mine=mine, facilitator=state["facilitator"]))


def _render(template: str, **context) -> str:
    """A page or an answer that shows the discussion: its thoughts' shared HTML made this person's."""
    return stream.for_this_person(render_template(template, **context))


_ROUTE = "/groups/<int:group_id>/discuss/<module_id>/<session_id>/<block_id>/<scenario_id>"


@bp.get(_ROUTE)
@login_required
def discussion(group_id: int, module_id: str, session_id: str, block_id: str, scenario_id: str):
    group, membership = membership_or_404(group_id)
    where = board_or_404(group, module_id, session_id, block_id, scenario_id)
    pseudonyms, discussion = my_pseudonyms(), Discussion.find(group, where.place)
    if pseudonyms is not None and discussion is not None and Thought.adopt_named(
            Thought.discussion == discussion, current_user.id, pseudonyms):
        discussion.changed()
    return _discussion_page(group, membership, where)


def _discussion_page(group, membership, where, text: str = "", anonymous: bool = False, problem: str | None = None):
    if isinstance(where, SessionBoard):
        return _session_board_page(group, membership, where, text, anonymous, problem)
    scenarios = where.block.scenarios
    index = scenarios.index(where.scenario)
    return _render(
        "sessions/discussion.html", **thoughts_state(group, membership, where), text=text, anonymous=anonymous,
        problem=problem, text_max=Thought.TEXT_MAX,
        previous=scenarios[index - 1] if index > 0 else None,
        next=scenarios[index + 1] if index + 1 < len(scenarios) else None,
    ), 200


@bp.get(_ROUTE + "/live")
@login_required
def discussion_live(group_id: int, module_id: str, session_id: str, block_id: str, scenario_id: str):
    """Polled by every screen on the discussion. Membership is checked on every poll."""
    group, membership = membership_or_404(group_id)
    where = board_or_404(group, module_id, session_id, block_id, scenario_id)
    if seen_already(Discussion.version_of(group, where.place)):
        return "", 204
    return _render("sessions/_thoughts_live.html",
                   **thoughts_state(group, membership, where, request.args.get("last", 0, type=int)))


class DiscussionFollower(stream.ListFollower):
    """A screen following a discussion board through its stream (p2p/stream.py), as the board's are followed:
    each change worked out once per kind of screen (the thoughts' HTML, the list's outline: Discussed), and each
    screen sent only what differs from what it shows (new thoughts added to the end of the list, one hidden or
    shown again replaced where it is, the list whole when it changed any other way), with what to announce."""

    announcement = "thought-announce"
    view = "page"

    def __init__(self, group: Group, membership: Membership, view_args: dict, args) -> None:
        super().__init__()
        self.where = board_or_404(group, *(view_args[key] for key in _PLACE))
        self.topic = ("discussion", group.id, self.where.place)
        self.version = whole_number(args.get("v")) or 0
        self.last = whole_number(args.get("last")) or 0   # the newest thought it shows: what is new is after it
        self.mine = Mine(None if self.view == "projector" else my_pseudonyms())
        self.csrf_token = generate_csrf()

    def version_now(self, group: Group) -> int:
        return Discussion.version_of(group, self.where.place)

    def update(self, group: Group, membership: Membership, known: int) -> str | None:
        """What to send this screen now (None: nothing), from the discussion at version `known` or newer. The
        first time, if its page shows the version it asks from, only what it shows is noted."""
        shared = discussed(group, self.where.place, known)
        if self.sent is not None and shared.version == self.version:
            return None
        state = thoughts_state(group, membership, self.where, self.last, self.view, self.mine, shared)
        changed = self.changes(*self._regions(state), up_to_date=self.version == shared.version)
        self.version, self.last = shared.version, state["newest"]
        return stream.for_this_person("".join(changed), self.csrf_token) if changed else None

    def _regions(self, state: dict):
        """The live regions' HTML for this screen (rendered once per version and kind of screen), the list's
        outline and its thoughts."""
        shared, view, facilitator = state["shared"], state["view"], state["facilitator"]
        shown = tuple(t.id for t in state["thoughts"])
        context = {**state, "oob": True}
        regions = [("thought-poller", shared.made_once(("poller", view, state["newest"]), lambda: stream.shared_html(
            "sessions/_thought_poller.html", **context)))]
        if view != "projector":   # (the room's screen has no one to tell)
            regions.append(("thought-announce", shared.made_once(("announce", tuple(t.id for t in state["new_thoughts"])),
                                                                 lambda: stream.shared_html("sessions/_thought_announce.html", **context))))
        outline = shared.made_once(("outline", view, facilitator, shown), lambda: stream.shared_html(
            "sessions/_projector_thoughts.html" if view == "projector" else "sessions/_thoughts.html",
            **{**context, "thought_html": lambda thought: Markup(stream.placeholder(thought.id))}))
        lists = {"thought-items": list(shown)} if shown else {}
        return regions, lists, outline, {t.id: thought_html(state, t) for t in state["thoughts"]}


_PLACE = ("module_id", "session_id", "block_id", "scenario_id")
stream.follows("sessions.discussion_live")(DiscussionFollower)


@bp.post(_ROUTE + "/thoughts")
@login_required
def add_thought(group_id: int, module_id: str, session_id: str, block_id: str, scenario_id: str):
    group, membership = membership_or_404(group_id)
    where = board_or_404(group, module_id, session_id, block_id, scenario_id)
    text = one_line(request.form.get("text", ""))
    anonymous = bool(request.form.get("anonymous"))

    def add(pseudonyms: bytes) -> None:
        board = Discussion.for_place(group, where.place)
        Thought.create(discussion=board, author=None if anonymous else current_user.id, text=text,
                       anonymous=anonymous, **Thought.new_owner(pseudonyms))
        board.changed()
    problem = sending.send(THOUGHTS, group.id, text, add, closed=closed_problem(where))
    if is_fragment_request():   # the form answers in place, with the list (out of band) so the author sees it at once
        return _render("sessions/_thought_form.html", **thoughts_state(group, membership, where),
                       text=text if problem else "", anonymous=anonymous, problem=problem,
                       just_sent=not problem, text_max=Thought.TEXT_MAX, oob_list=not problem)
    if problem:
        return _discussion_page(group, membership, where, text=text, anonymous=anonymous, problem=problem)
    flash("Added, without your name." if anonymous else "Added. Everyone in the group can see it now.")
    return redirect(url_for("sessions.discussion", **where.url_args(group)) + "#thoughts-heading")


def _thought_or_404(group: Group, thought_id: int) -> tuple[Thought, ScenarioPlace | SessionBoard]:
    thought = (Thought.select(Thought, Discussion).join(Discussion)
               .where(Thought.id == thought_id, Discussion.group == group).first()) or abort(404)
    programme_id, module_id, session_id, block_id, scenario_id = (thought.discussion.place.split("/") + [""] * 5)[:5]
    if programme_id != group.programme:
        abort(404)
    return thought, board_or_404(group, module_id, session_id, block_id, scenario_id)


def _after_change(group, membership, where):
    if is_fragment_request():
        return _render("sessions/_thoughts_live.html", **thoughts_state(group, membership, where))
    return redirect(url_for("sessions.discussion", **where.url_args(group)) + "#thoughts-heading")


@bp.post("/groups/<int:group_id>/thoughts/<int:thought_id>")
@login_required
def shape_thought(group_id: int, thought_id: int):
    """A facilitator hides a thought from the group (its author still sees it), or shows it again."""
    group, membership = running_or_404(group_id)
    thought, where = _thought_or_404(group, thought_id)
    action = request.form.get("action", "")
    if action not in ("hide", "show"):
        abort(400)
    thought.hide(action == "hide")
    log.info("thought-%s group=%s", action, group.id)
    return _after_change(group, membership, where)


@bp.post("/groups/<int:group_id>/thoughts/<int:thought_id>/take-back")
@login_required
def take_back(group_id: int, thought_id: int):
    """Its author takes a thought back: it goes from every screen. Sharing stays a choice that can be undone."""
    group, membership = membership_or_404(group_id)
    thought, where = _thought_or_404(group, thought_id)
    if not permissions.can_take_back(membership, thought.made_by(my_pseudonyms())):
        abort(404)
    thought.take_back()
    log.info("thought-taken-back group=%s", group.id)
    return _after_change(group, membership, where)


# ---------------------------------------------------------------------------------------------------
# Discussion boards a facilitator opens in any session, with a prompt of their own. Their addresses are the
# scenarios' with `_board` for the block and their number for the scenario (models.Discussion keeps them so), so
# the routes above serve both kinds: the page, its live list, adding thoughts, hiding one, taking one back.

BOARD_PROMPT_EMPTY = "Please write a question or prompt for the board first."
BOARD_CLOSED = ("The facilitator has closed this board, so nothing more can be added to it. Your words are still "
                "here, to keep for yourself.")
bp.add_app_template_global(Discussion.PROMPT_MAX, "board_prompt_max")   # the prompt box says it, and keeps to it


def board_prompt_too_long(prompt: str) -> str:
    return (f"Please keep the prompt to {Discussion.PROMPT_MAX} characters (this one has {len(prompt)}). "
            "Your words are still here to shorten.")


@dataclass(frozen=True)
class SessionBoard:
    """A discussion board a facilitator opened in a session of the group's programme."""

    spot: ProgrammeSession
    discussion: Discussion
    thought_label: ClassVar[str] = "Your thought"   # the page's heading is the prompt itself

    @property
    def place(self) -> str:
        return self.discussion.place

    @property
    def title(self) -> str:
        return self.discussion.prompt

    @property
    def closed(self) -> bool:
        return self.discussion.closed

    def url_args(self, group: Group) -> dict:
        return {"group_id": group.id, "module_id": self.spot.module.id, "session_id": self.spot.session.id,
                "block_id": Discussion.OPENED, "scenario_id": self.place.rsplit("/", 1)[1]}


def board_or_404(group: Group, module_id: str, session_id: str, block_id: str,
                 scenario_id: str) -> ScenarioPlace | SessionBoard:
    """The discussion board at this address: a scenario's, or one a facilitator opened in the session. Both kinds
    answer what the discussion pages ask of a board: its `place`, `title`, `thought_label` and `url_args`."""
    if block_id != Discussion.OPENED:
        return scenario_or_404(group, module_id, session_id, block_id, scenario_id)
    spot = spot_or_404(group, module_id, session_id)
    if not (scenario_id.isascii() and scenario_id.isdigit()):   # a board's number; nothing else is looked up
        abort(404)
    discussion = Discussion.find(group, f"{spot.place}/{Discussion.OPENED}/{scenario_id}") or abort(404)
    return SessionBoard(spot, discussion)


def closed_problem(where: ScenarioPlace | SessionBoard) -> str | None:
    """Why the board takes no thoughts now, if it does not: a facilitator closed it. (A scenario's never closes.)"""
    return BOARD_CLOSED if isinstance(where, SessionBoard) and where.closed else None


def _session_board_page(group: Group, membership: Membership, where: SessionBoard, text: str, anonymous: bool,
                        problem: str | None):
    boards = Discussion.opened_in(group, where.spot.place)
    index = [board.id for board in boards].index(where.discussion.id)
    return _render(
        "sessions/session_board.html", **thoughts_state(group, membership, where), text=text, anonymous=anonymous,
        problem=problem, text_max=Thought.TEXT_MAX,
        previous=SessionBoard(where.spot, boards[index - 1]) if index > 0 else None,
        next=SessionBoard(where.spot, boards[index + 1]) if index + 1 < len(boards) else None,
    ), 200


@bp.app_template_global()
def discussion_boards(group: Group, module: Module, session: Session) -> list[tuple[SessionBoard, int]]:
    """The boards the group's facilitators opened in this session, oldest first, each with the number of thoughts
    the group sees: for the run page, the session page, and (the open ones) members' home and group pages."""
    programme = content().programme(group.programme)
    if programme is None:
        return []
    spot = ProgrammeSession(programme, module, session)
    boards = [SessionBoard(spot, discussion) for discussion in Discussion.opened_in(group, spot.place)]
    counts = Discussion.counts(group, [board.place for board in boards])
    return [(board, counts.get(board.place, 0)) for board in boards]


@bp.app_template_global()
def session_questions(session: Session) -> list[str]:
    """The session's own questions, to open a board with one: its reflections, its exercises' prompts, its story's
    questions and its scenarios' questions, in the session's order, each once, if short enough for a prompt."""
    found: list[str] = []
    for block in session.blocks:
        if isinstance(block, FreeText):
            found.append(block.question)
        elif isinstance(block, (Spectrum, PickN)):
            found.append(block.prompt)
        elif isinstance(block, Story):
            found += [question.prompt for section in block.sections for question in section.questions]
        elif isinstance(block, Scenarios):
            found += block.questions
    return [question for question in dict.fromkeys(found) if len(question) <= Discussion.PROMPT_MAX]


@bp.post("/groups/<int:group_id>/run/boards")
@login_required
def open_board(group_id: int):
    """A facilitator opens a discussion board in a session of the group's programme (the run page offers the
    group's current one), with a prompt of their own or one of the session's questions. Sent again (a lost answer,
    a double tap), it opens one board."""
    group, _ = running_or_404(group_id)
    programme = content().programme(group.programme) or abort(404)
    place = request.form.get("place", "")
    spot = next((s for s in all_sessions(programme) if s.place == place), None)
    if spot is None:
        flash("Please choose the group’s session first: a board opens in a session.")
        return redirect_to(url_for("sessions.run", group_id=group.id))
    key = request.form.get("request_key")
    sent, url = SentRequest.result_of(key)
    if sent:
        return redirect_to(url)
    prompt = one_line(request.form.get("prompt", ""))
    problem = BOARD_PROMPT_EMPTY if not prompt else (
        board_prompt_too_long(prompt) if len(prompt) > Discussion.PROMPT_MAX else None)
    if problem:   # the words are kept, and the problem said beside them: in place, or on a page of its own
        template = "sessions/_open_board.html" if is_fragment_request() else "sessions/open_board.html"
        return render_template(template, group=group, spot=spot, prompt=prompt, problem=problem)

    def make() -> str:
        board = SessionBoard(spot, Discussion.open_in(group, spot.place, prompt))
        return url_for("sessions.discussion", **board.url_args(group))
    made, url = SentRequest.once(key, make)
    if made:
        log.info("board-opened group=%s", group.id)   # never its words: the log is no place for what a group discusses
    flash("The board is open. Everyone in the group finds it on their home page, the group page and the session page.")
    return redirect_to(url)


@bp.post(_ROUTE + "/state")
@login_required
def board_state(group_id: int, module_id: str, session_id: str, block_id: str, scenario_id: str):
    """A facilitator closes a board they opened (everyone still reads it; nobody adds to it), or opens it again."""
    group, _ = running_or_404(group_id)
    where = board_or_404(group, module_id, session_id, block_id, scenario_id)
    action = request.form.get("action", "")
    if not isinstance(where, SessionBoard) or action not in ("close", "open"):
        abort(404)
    where.discussion.close(action == "close")
    log.info("board-%s group=%s", "closed" if action == "close" else "reopened", group.id)
    flash("The board is closed. Everyone can still read it." if action == "close"
          else "The board is open again: everyone can add their thoughts.")
    return redirect(safe_next(request.form.get("back"), url_for("sessions.discussion", **where.url_args(group))))


# ---------------------------------------------------------------------------------------------------
# The room's screen: a discussion board and the timer, large (app.css "The wall display"), for a facilitator of the
# group to put on the projector. Like the board's projector view, never a name, and only what the group sees.


@bp.get("/groups/<int:group_id>/run/projector")
@login_required
def timer_projector(group_id: int):
    """The group's timer as large as the screen allows, under the session's title (base.html brings the timer)."""
    group, _ = running_or_404(group_id)
    return render_template("sessions/projector_timer.html", group=group, spot=current_spot(group))


@bp.get(_ROUTE + "/projector")
@login_required
def discussion_projector(group_id: int, module_id: str, session_id: str, block_id: str, scenario_id: str):
    group, membership = running_or_404(group_id)
    where = board_or_404(group, module_id, session_id, block_id, scenario_id)
    return _render("sessions/projector_discussion.html", **thoughts_state(group, membership, where, view="projector"))


@stream.follows("sessions.discussion_projector_live")
class DiscussionProjectorFollower(DiscussionFollower):
    """The room's screen on a discussion: a facilitator's, as its poll is. Every room's screen is sent the same
    bytes: the thoughts the group sees, and never a name (_projector_thought.html)."""

    view = "projector"

    def __init__(self, group: Group, membership: Membership, view_args: dict, args) -> None:
        if not permissions.can_run_session(membership):
            abort(404)
        super().__init__(group, membership, view_args, args)


@bp.get(_ROUTE + "/projector/live")
@login_required
def discussion_projector_live(group_id: int, module_id: str, session_id: str, block_id: str, scenario_id: str):
    """Polled by the room's screen, which stays a facilitator's: checked on every poll, as the members' list is."""
    group, membership = running_or_404(group_id)
    where = board_or_404(group, module_id, session_id, block_id, scenario_id)
    if seen_already(Discussion.version_of(group, where.place)):
        return "", 204
    return _render("sessions/_thoughts_live.html", **thoughts_state(group, membership, where, view="projector"))
