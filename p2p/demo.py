"""`p2p demo`: a group that shows the product, and `p2p demo --remove`, which takes it all away.

The demo is made the way the app makes things, through the same models and the same sealed workbooks (each
person's answers sealed with their own key, their board responses under their own pseudonyms), so it shows
exactly what a group would see. Everything it makes is recorded (DemoPart): removing it, and keeping its accounts
out of real groups' lists, never depends on a name.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import crypto
from .answers import LADDER_MARKED, AnswerProblem, Workbook, resolve
from .content import Library
from .db import checkpoint, db
from .models import (
    FACILITATOR,
    PARTICIPANT,
    Answer,
    Board,
    CodeVersion,
    CurrentSession,
    DemoPart,
    FollowUp,
    Group,
    LadderSnapshot,
    Membership,
    Proposal,
    Share,
    User,
    utcnow,
)

GROUP_NAME = "Demo group"
PEOPLE = [(FACILITATOR, "Robin"), (PARTICIPANT, "Alex"), (PARTICIPANT, "Sam"), (PARTICIPANT, "Jo")]
PROGRAMME = "p2p"
NOW = "p2p/module-1/session-2"   # the session the demo group is in: Session 2 opens with a re-affirm round

PREPARING = "p2p/preparing"
STOCKTAKE = f"{PREPARING}/personal-stocktake"
LADDER = f"{STOCKTAKE}/ladder-of-change"
STORY = f"{PREPARING}/personal-recovery-story/recovery-story"
LANGUAGE = f"{PREPARING}/personal-recovery-story/language-and-impact"
S1, S2, S3, S4 = (f"p2p/module-1/session-{n}" for n in range(1, 5))

# Sample answers, one workbook each. Places the host's own content no longer has (or asks otherwise) are left out.
ANSWERS = {
    "Alex": {
        f"{LADDER}/accepting-help": "I remember how hard it was to say yes to help the first time. I can be patient "
                                    "with someone who isn't ready yet, and let them know the door stays open.",
        f"{LADDER}/believing": "Noticing small wins kept me going when big ones felt far away. I can help others "
                               "notice theirs.",
        f"{STOCKTAKE}/what-have-you-discovered": "I've come further than I give myself credit for. Some days I'm "
                                                 "still on the middle rungs, and that's OK: it's a snapshot, not a "
                                                 "score.",
        f"{STOCKTAKE}/positive-contribution": "I know what it's like to sit in a waiting room feeling that nobody "
                                              "gets it. I can be someone who does.",
        f"{STOCKTAKE}/to-discuss-further": "How much of my story to share, and when. I'd like to talk this through "
                                           "with Robin before we start.",
        f"{STORY}/introduction-to-you/who-are-you": "A dad, a keen allotment grower and a volunteer at our "
                                                    "community café. I've lived with anxiety and low mood for most "
                                                    "of my adult life.",
        f"{STORY}/introduction-to-you/what-matters-to-you": "My family, being outdoors, and being useful to other "
                                                            "people.",
        f"{STORY}/introduction-to-you/what-do-you-love-doing": "Growing things. There is something hopeful about "
                                                               "planting seeds and waiting.",
        f"{STORY}/introduction-to-you/what-are-you-good-at": "Listening, making tea for a room full of people, and "
                                                             "staying calm when others aren't.",
        f"{STORY}/the-turning-point/first-steps": "Going back to the allotment for an hour a week with a friend. "
                                                  "Then joining a peer group where someone said \"me too\" and "
                                                  "meant it.",
        f"{STORY}/surviving-and-thriving/vision-for-the-future": "Running a walk-and-talk peer group from the "
                                                                 "café, and still growing the best runner beans "
                                                                 "on the site.",
        f"{STORY}/surviving-and-thriving/self-care": "Early nights, time outside, and telling my partner when I'm "
                                                     "not OK instead of waiting until it all builds up.",
        f"{LANGUAGE}/reflects-what-you-want-to-say": "yes",
        f"{LANGUAGE}/comfortable-with-disclosure": "yes",
        f"{LANGUAGE}/positive-and-encouraging-language": "yes",
        f"{LANGUAGE}/unlikely-to-trigger-others": "unsure",
        f"{PREPARING}/personal-recovery-story/last-thoughts": "Hopeful, and a bit nervous. I feel ready to start, "
                                                             "and I know I don't have to have it all worked out.",
        f"{S1}/positive-about-p2p": "Learning alongside people who understand, and turning what I've been through "
                                    "into something useful for someone else.",
        f"{S1}/anything-challenging": "Speaking up in a group. I tend to go quiet at first.",
        f"{S1}/behaviours-help-you-feel-safe": "People listening without interrupting, and knowing that what is "
                                               "said here stays here.",
        f"{S1}/behaviours-you-can-demonstrate": "I can listen properly, and let people pass when they don't want "
                                                "to speak.",
        f"{S2}/helper-or-peer-relationship/position": "4",
        f"{S2}/helper-or-peer-relationship/reflection": "At the café I still slip into fixing things for people. "
                                                        "In the peer group I'm more often alongside them, and it "
                                                        "feels better for both of us.",
        f"{S2}/principles-and-boundaries/mutual": "Sharing my experience where it helps, and remembering it's "
                                                  "their time, not mine.",
        f"{S3}/top-5-values/1/name": "Kindness",
        f"{S3}/top-5-values/1/note": "Meeting people where they are, without judging.",
        f"{S3}/top-5-values/2/name": "Honesty",
        f"{S3}/top-5-values/2/note": "Saying when I don't know, and being real about my own ups and downs.",
        f"{S3}/top-5-values/3/name": "Hope",
        f"{S3}/top-5-values/3/note": "Holding on to hope for someone when they can't hold it for themselves.",
        f"{S4}/strengths/choices": "consistent,communicator,developer,connected,empathy,includer,positive,learner",
        f"{S4}/discovering-your-strengths": "Surprised. I'd never have called myself a developer, but I do love "
                                            "seeing people grow.",
    },
    "Sam": {
        f"{S1}/positive-about-p2p": "Meeting others who are on the same road.",
        f"{S1}/anything-challenging": "Keeping up with the reading while I'm working shifts.",
        f"{S1}/behaviours-help-you-feel-safe": "Being able to step out for a minute without having to explain "
                                               "why.",
        f"{S1}/behaviours-you-can-demonstrate": "Being on time, and keeping my phone away.",
        f"{S2}/helper-or-peer-relationship/position": "2",
        f"{S2}/helper-or-peer-relationship/reflection": "I think I'm more of a helper at the moment: I want to make "
                                                        "things better for people. I'd like to practise asking "
                                                        "rather than telling.",
        f"{S4}/strengths/choices": "planner,responsible,problem-solver,empathy,relator",
    },
    "Jo": {
        f"{S1}/positive-about-p2p": "It feels like the right time. My support worker suggested it and I'm glad I "
                                    "said yes.",
        f"{S1}/behaviours-help-you-feel-safe": "Kindness, and nobody being put on the spot.",
    },
}
# The ladder of change: the statements ticked now, and one earlier snapshot.
LADDER_NOW = {"Alex": [5, 6, 7], "Sam": [3, 4], "Jo": [2, 3]}
LADDER_BEFORE = {"Alex": [3, 4, 5]}
DISCUSS = {"Alex": [f"{STOCKTAKE}/to-discuss-further"]}          # marked to discuss (only its owner sees the list)
SHARED = {"Alex": [f"{STOCKTAKE}/positive-contribution"]}        # shared with the group's facilitators

# The code of behaviour: Session 1's round (proposed, merged, responded, agreed, committed), then Session 2's
# re-affirm round, in which the group is responding now.
LISTEN, FINISH = "Listen without interrupting", "Let each person finish before someone else speaks"
MERGED = "Listen without interrupting, and let each person finish"
ROOM = "What is shared in the room stays in the room"
PASS = "It's OK to pass, or step out for a moment, without explaining"
KIND = "Be kind to ourselves and to each other"
TIME = "Start and finish on time, and let the group know if you can't come"
CHECK_IN = "Check in at the start with how we are arriving today"
ROUND_1 = [("Alex", LISTEN), ("Sam", FINISH), ("Jo", ROOM), ("Sam", PASS), ("Alex", KIND)]
NAMED = ("Jo", TIME)
THEMES = {MERGED: "Listening and sharing", ROOM: "Listening and sharing", PASS: "Looking after each other",
          KIND: "Looking after each other", TIME: "Looking after each other", CHECK_IN: "Looking after each other"}
RESPONSES_1 = {"Alex": {}, "Sam": {TIME: "unsure"}, "Jo": {}}   # agree, unless said otherwise
COMMITTED = ["Alex", "Sam"]                                       # Jo has yet to
ROUND_2 = [("Sam", CHECK_IN)]
RESPONSES_2 = {"Alex": {}, "Sam": {TIME: "unsure", CHECK_IN: "unsure"}}   # Jo has yet to respond


@dataclass
class Person:
    role: str
    user: User
    password: str

    @property
    def first_name(self) -> str:
        return self.user.name.split(" (")[0]

    @property
    def pseudonyms(self) -> bytes:
        return crypto.pseudonym_key(self.user.data_key)


@dataclass
class Made:
    group: Group
    people: list[Person]


@dataclass
class Removed:
    groups: list[str]
    accounts: list[str]
    others: list[str] = field(default_factory=list)   # people of their own in the demo group: their accounts stay
    elsewhere: list[str] = field(default_factory=list)   # other groups a demo account had joined (with their codes)
    answers: int = 0
    snapshots: int = 0
    behaviours: int = 0
    versions: int = 0


def password() -> str:
    letters = "abcdefghijkmnpqrstuvwxyz"
    return "-".join("".join(secrets.choice(letters) for _ in range(4)) for _ in range(3))


def free_name(first: str) -> str:
    """"Alex (demo)", or, when someone has that name already, the first of "Alex (demo 2)", "Alex (demo 3)"… free."""
    name, n = f"{first} (demo)", 1
    while User.name_taken(name):
        n += 1
        name = f"{first} (demo {n})"
    return name


def make(library: Library, code_days: int, filled: bool = True) -> Made:
    """The demo group, its facilitator and participants, recorded as the demo's; `filled`: with their work in it."""
    programme = PROGRAMME if library.programme(PROGRAMME) else next(iter(library.programmes))
    with db.atomic():
        people = []
        for role, first in PEOPLE:
            secret = password()
            people.append(Person(role, User.create_account(free_name(first), secret, role=role), secret))
        group = Group.create_for(people[0].user, code_days, name=GROUP_NAME, programme=programme)
        for person in people[1:]:
            Membership.join(person.user, group)
        DemoPart.record(group, [person.user for person in people])
    if filled:
        fill(library, group, {person.first_name: person for person in people})
    return Made(group, people)


def fill(library: Library, group: Group, people: dict[str, Person]) -> None:
    for first, answers in ANSWERS.items():
        person = people[first]
        workbook = Workbook(person.user, person.user.data_key)
        ladder = resolve(library, f"{LADDER}/{LADDER_MARKED}") is not None
        if first in LADDER_BEFORE and ladder:   # three weeks ago: today's snapshot below shows what moved since
            ladder_snapshot(workbook, LADDER, LADDER_BEFORE[first], utcnow() - timedelta(days=21))
        if first in LADDER_NOW:
            answers = {**answers, f"{LADDER}/{LADDER_MARKED}": ",".join(map(str, LADDER_NOW[first]))}
        for place, value in answers.items():
            spot = resolve(library, place)
            try:
                if spot is not None:
                    workbook.save(place, spot.field.clean(value), None)
            except AnswerProblem:
                pass   # the host's own content asks something else there: that sample is left out
        if first in LADDER_BEFORE and ladder:
            ladder_snapshot(workbook, LADDER, LADDER_NOW[first])
        membership = Membership.of(person.user, group)
        for place in DISCUSS.get(first, []):
            if place in answers:
                Share.mark(person.user.id, place, True)
        for place in SHARED.get(first, []):
            if place in answers and resolve(library, place):
                Share.show(person.user.id, place, membership, answers[place])
    code_of_behaviour(group, people)
    facilitator = next(p for p in people.values() if p.role == FACILITATOR)
    if group.programme == PROGRAMME and _session_exists(library, NOW):
        CurrentSession.choose(group, NOW)
    between_sessions(group, facilitator, people)


def ladder_snapshot(workbook: Workbook, place: str, numbers: list[int], taken_at: datetime | None = None) -> None:
    """One snapshot of the ladder, taken as "Save today's snapshot" takes it (at `taken_at`, UTC: a history)."""
    workbook.take_snapshot(place, numbers, taken_at=taken_at)


def _session_exists(library: Library, place: str) -> bool:
    programme_id, module_id, session_id = place.split("/")
    programme = library.programme(programme_id)
    module = programme and programme.module(module_id)
    return bool(module and module.session(session_id))


def code_of_behaviour(group: Group, people: dict[str, Person]) -> None:
    """Session 1's round, as the facilitator and the group would go through it, then Session 2's re-affirm round."""
    board = Board.for_group(group)

    def propose(first: str, text: str, named: bool = False) -> Proposal:
        """As the board takes a proposal (named only while the board has names on)."""
        person = people[first]
        with db.atomic():
            proposal = Proposal.create(board=board, author=person.user.id if named else None, text=text, named=named,
                                       round=board.round, **Proposal.new_owner(person.pseudonyms))
            board.changed()
        return proposal

    def themed() -> None:
        for proposal in board.proposals_for(None, True):
            if proposal.text in THEMES and proposal.theme != THEMES[proposal.text]:
                board.reshape(proposal, {"theme": THEMES[proposal.text]})

    def respond(answers: dict[str, dict[str, str]]) -> None:
        for first, kinds in answers.items():
            for proposal in board.proposals_for(people[first].pseudonyms, False):
                board.respond(proposal, people[first].pseudonyms, people[first].user.id, kinds.get(proposal.text, "agree"))

    by_text = {text: propose(first, text) for first, text in ROUND_1}
    board.apply({"named": True})
    by_text[NAMED[1]] = propose(*NAMED, named=True)
    board.apply({"named": False, "phase": "shape"})
    with db.atomic():
        board.merge([by_text.pop(LISTEN), by_text.pop(FINISH)], MERGED)
    themed()
    board.apply({"phase": "respond"})
    respond(RESPONSES_1)
    board.apply({"phase": "agree", "tallies_shown": True})
    for proposal in board.proposals_for(None, True):
        board.reshape(proposal, {"agreed": True})
    agreed = board.proposals_for(None, True)
    themes = list(dict.fromkeys(p.theme for p in agreed))   # grouped by theme, as the board lists them
    with db.atomic():
        board.make_version([[p.text, p.theme] if p.theme else p.text
                            for p in sorted(agreed, key=lambda p: (p.theme is None, themes.index(p.theme)))])
    for first in COMMITTED:
        board.commit(people[first].user.id)
    with db.atomic():
        board.start_round()
    board.apply({"phase": "propose"})
    for first, text in ROUND_2:
        propose(first, text)
    themed()
    board.apply({"phase": "respond"})
    respond(RESPONSES_2)


def between_sessions(group: Group, facilitator: Person, people: dict[str, Person]) -> None:
    """What Robin and two of the participants agreed between sessions (never anything from a workbook)."""
    today = date.today()
    alex, sam = Membership.of(people["Alex"].user, group), Membership.of(people["Sam"].user, group)
    FollowUp.record(alex, facilitator.user, finish_by=today - timedelta(days=5), talked_on=today - timedelta(days=2),
                    talked_with=facilitator.user,
                    next_step="Share one part of the recovery story in Session 2, if it still feels right on the day.")
    FollowUp.record(sam, facilitator.user, finish_by=today + timedelta(days=7))


# ---------------------------------------------------------------------------------------------------


def remove() -> Removed | None:
    """Everything the demo made: its group (and its board, code, sessions, records) and its accounts (and their
    workbooks). People who joined the demo group with accounts of their own keep them. None if there is no demo."""
    groups, accounts = DemoPart.groups(), DemoPart.accounts()
    if not groups and not accounts:
        return None
    account_ids = [user.id for user in accounts]
    boards = Board.select(Board.id).where(Board.group.in_([g.id for g in groups]))
    elsewhere = list(Membership.select(Membership, Group).join(Group).where(
        Membership.user.in_(account_ids), Membership.group.not_in([g.id for g in groups])))
    removed = Removed(
        groups=[g.name for g in groups], accounts=[u.name for u in accounts],
        others=sorted({m.user.name for g in groups for m in g.memberships() if m.user_id not in account_ids},
                      key=str.casefold),
        elsewhere=sorted({m.group.name for m in elsewhere}, key=str.casefold),
        answers=Answer.select().where(Answer.user.in_(account_ids)).count(),
        snapshots=LadderSnapshot.select().where(LadderSnapshot.user.in_(account_ids)).count(),
        behaviours=Proposal.select().where(Proposal.board.in_(boards), Proposal.merged_into.is_null()).count(),
        versions=CodeVersion.select().where(CodeVersion.board.in_(boards)).count())
    with db.atomic():
        for group in groups:
            group.delete_instance()             # its memberships, board, code, sessions and records go with it
        User.delete().where(User.id.in_(account_ids)).execute()   # and their workbooks, shares and sign-ins
        Board.update(version=Board.version + 1).where(Board.group.in_([m.group_id for m in elsewhere])).execute()
    checkpoint()   # nothing of theirs lingers in the WAL (backups keep what they held, as for any deletion)
    return removed
