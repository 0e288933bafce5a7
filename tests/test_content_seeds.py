"""The organisation's documents (../shared/seeds/) are all in content/, counted piece by piece.

If one of these fails after a content edit, something from the programme's own workbooks went missing
(or an id that participants' answers are stored under was changed).
"""

import re
from pathlib import Path

from p2p.content import load_library

CONTENT = Path(__file__).parent.parent / "content"


def _lib():
    return load_library(CONTENT)


def _p2p():
    return _lib().programmes["p2p"]


def _blocks_of(session, kind):
    return [b for b in session.blocks if b.type == kind]


# --- the library -------------------------------------------------------------------------------------


def test_both_programmes_are_there():
    lib = _lib()
    assert set(lib.programmes) == {"p2p", "peer-support-training"}
    assert lib.programmes["p2p"].title == "Peer 2 Peer"
    assert lib.programmes["peer-support-training"].title == "Peer Support Training"


def test_p2p_modules_in_order():
    p2p = _p2p()
    assert [m.id for m in p2p.modules] == ["preparing", "module-1", "module-2", "module-3"]
    assert p2p.intro and "whole person approach" in p2p.intro
    assert p2p.facilitator_notes and "plethora" in p2p.facilitator_notes
    for module in p2p.modules:
        assert module.subtitle
        assert module.facilitator_notes


# --- Preparing for Peer 2 Peer -----------------------------------------------------------------------


def test_preparing_sessions():
    preparing = _p2p().module("preparing")
    assert preparing.status == "ready"
    assert [s.id for s in preparing.sessions] == ["introduction", "personal-stocktake", "personal-recovery-story"]
    intro = preparing.session("introduction")
    assert [b.type for b in intro.blocks] == ["reading"] * 4


def test_ladder_of_change_has_10_statements_in_5_stages():
    stocktake = _p2p().module("preparing").session("personal-stocktake")
    (ladder,) = _blocks_of(stocktake, "ladder")
    assert [s.id for s in ladder.stages] == ["stuck", "accepting-help", "believing", "learning", "self-reliance"]
    assert [s.title for s in ladder.stages] == ["Stuck", "Accepting help", "Believing", "Learning", "Self reliance"]
    for stage in ladder.stages:
        assert len(stage.statements) == 2
        assert stage.reflection.strip()
    numbers = [st.number for stage in ladder.stages for st in stage.statements]
    assert numbers == list(range(1, 11))
    assert all(st.text.strip() for stage in ladder.stages for st in stage.statements)


def test_stocktake_closes_with_3_questions():
    stocktake = _p2p().module("preparing").session("personal-stocktake")
    questions = _blocks_of(stocktake, "free_text")
    assert len(questions) == 3
    assert questions[0].prompt.startswith("What have you discovered")
    assert questions[1].prompt.startswith("What feels positive about the contribution")
    assert questions[2].prompt.startswith("Note down anything you would like to discuss further")
    # the questions come after the ladder
    types = [b.type for b in stocktake.blocks]
    assert types.index("ladder") < types.index("free_text")


def test_recovery_story_has_5_sections_with_every_question():
    story_session = _p2p().module("preparing").session("personal-recovery-story")
    (story,) = _blocks_of(story_session, "story")
    assert [s.id for s in story.sections] == [
        "introduction-to-you", "the-beginning", "the-turning-point", "on-the-journey", "surviving-and-thriving",
    ]
    assert [len(s.questions) for s in story.sections] == [5, 6, 6, 5, 5]
    # every section but the first has an intro text in the workbook
    assert [bool(s.intro) for s in story.sections] == [False, True, True, True, True]
    assert all(q.prompt.strip() for s in story.sections for q in s.questions)


def test_language_and_impact_has_5_checks_and_last_thoughts():
    story_session = _p2p().module("preparing").session("personal-recovery-story")
    check = story_session.block("language-and-impact")
    assert check.type == "yes_no"
    assert len(check.items) == 5
    assert check.intro
    last = story_session.block("last-thoughts")
    assert last.type == "free_text"
    assert "how do you feel" in last.prompt


# --- Module 1 ----------------------------------------------------------------------------------------


def test_module_1_has_4_sessions_with_3_learning_intentions_each():
    module_1 = _p2p().module("module-1")
    assert module_1.status == "ready"
    assert module_1.intro
    assert [s.id for s in module_1.sessions] == ["session-1", "session-2", "session-3", "session-4"]
    for n, session in enumerate(module_1.sessions, start=1):
        assert session.title.startswith(f"Session {n}: ")
        assert len(session.learning_intentions) == 3


def test_session_1_has_4_preparation_questions():
    session_1 = _p2p().module("module-1").session("session-1")
    questions = _blocks_of(session_1, "free_text")
    assert len(questions) == 4
    ids = [q.id for q in questions]
    assert "behaviours-help-you-feel-safe" in ids
    assert "behaviours-you-can-demonstrate" in ids


def test_session_2_spectrum_and_principles():
    session_2 = _p2p().module("module-1").session("session-2")
    assert session_2.block("uniqueness").type == "reading"
    assert session_2.block("peer-relationship").type == "reading"
    (spectrum,) = _blocks_of(session_2, "spectrum")
    assert spectrum.left == "Helper type relationship"
    assert spectrum.right == "Mutually empowering peer relationship"
    assert len(spectrum.pairs) == 8
    assert spectrum.prompt.startswith("Take a moment to consider the two kinds of relationship")
    (principles,) = _blocks_of(session_2, "table_notes")
    assert tuple(principles.columns) == ("Principle", "Feature")
    assert principles.notes_label == "What does this mean for boundaries?"
    assert len(principles.rows) == 8
    assert all(len(r.cells) == 2 and all(c.strip() for c in r.cells) for r in principles.rows)


def test_session_3_chime_values_and_ego_states():
    session_3 = _p2p().module("module-1").session("session-3")
    (chime,) = _blocks_of(session_3, "table_notes")
    assert tuple(chime.columns) == ("CHIME", "What it means")
    assert chime.notes_label == "Your notes"
    assert [r.cells[0] for r in chime.rows] == ["Connectedness", "Hope & Optimism", "Identity", "Meaning", "Empowerment"]

    (values,) = _blocks_of(session_3, "pick_n")
    assert values.free is True
    assert values.count == 5
    assert values.groups == ()
    assert values.note_label

    ego_states = ["controlling-parent", "nurturing-parent", "adapted-child", "natural-child", "adult"]
    for ego_id in ego_states:
        block = session_3.block(ego_id)
        assert block is not None and block.type == "reading", ego_id
    assert session_3.block("natural-child").title == "Natural/Free Child"
    assert session_3.block("so-what").type == "reading"

    reflections = _blocks_of(session_3, "free_text")
    assert len(reflections) == 5   # 2 on CHIME, 3 on the ego states
    order = [b.id for b in session_3.blocks]
    assert order.index("nurturing-parent") < order.index("parent-states-reflection") < order.index("adapted-child")
    assert order.index("natural-child") < order.index("child-states-reflection") < order.index("adult")
    assert order.index("adult") < order.index("adult-reflection") < order.index("so-what")


def test_session_4_strengths_choose_8_of_28():
    session_4 = _p2p().module("module-1").session("session-4")
    (strengths,) = _blocks_of(session_4, "pick_n")
    assert strengths.count == 8
    assert strengths.free is False
    assert [g.title for g in strengths.groups] == [
        "Executing", "Influencing", "Relationship building", "Strategic thinking",
    ]
    assert [len(g.options) for g in strengths.groups] == [7, 7, 7, 7]
    options = [o for g in strengths.groups for o in g.options]
    assert len({o.id for o in options}) == 28
    assert all(o.text and o.text.strip() for o in options)
    assert strengths.prompt.startswith("Choose 8 strengths across the four groups")
    assert len(_blocks_of(session_4, "free_text")) == 2


# --- Modules 2 and 3: outlines -------------------------------------------------------------------------


def test_modules_2_and_3_are_outlines():
    p2p = _p2p()
    for module_id in ("module-2", "module-3"):
        module = p2p.module(module_id)
        assert module.status == "outline"
        assert module.is_outline
        assert module.sessions == ()
        assert module.facilitator_notes


# --- Peer Support Training course -----------------------------------------------------------------------


def test_course_sessions_each_have_an_aim():
    training = _lib().programmes["peer-support-training"]
    assert [m.id for m in training.modules] == ["course"]
    course = training.module("course")
    assert [s.title for s in course.sessions] == [
        "Introducing the course",
        "What is Recovery?",
        "Personal Recovery",
        "What is Peer Support?",
        "The Peer Relationship",
        "Review and Evaluation",
        "Use of Language and Communications",
        "Using Your Experiences Effectively",
        "Surviving and Thriving",
        "Positive Risk Taking and Boundaries",
        "Review and Evaluation",
        "Useful Resources",   # the outline's last heading, with nothing under it in the seed
    ]
    assert all(s.aim for s in course.sessions[:-1])
    assert course.session("useful-resources").blocks and course.session("useful-resources").facilitator_notes


def test_boundaries_session_has_the_two_lessons():
    course = _lib().programmes["peer-support-training"].module("course")
    session = course.session("positive-risk-taking-and-boundaries")
    trauma = session.block("trauma-informed-peer-support")
    assert trauma.type == "reading"
    assert "what happened to you?" in trauma.text
    (scen,) = _blocks_of(session, "scenarios")
    assert scen.intro
    assert len(scen.questions) == 3
    assert len(scen.scenarios) == 4
    assert all(s.text and s.discussion for s in scen.scenarios)
    assert scen.closing


def test_no_web_page_debris():
    lib = _lib()
    texts = []
    for programme in lib.programmes.values():
        texts += [programme.intro or "", programme.facilitator_notes or ""]
        for module in programme.modules:
            texts += [module.intro or "", module.facilitator_notes or ""]
            for session in module.sessions:
                texts.append(session.aim or "")
                for block in session.blocks:
                    texts += [str(v) for v in vars(block).values() if isinstance(v, str)]
    joined = "\n".join(texts)
    for debris in ("About Lesson", "Exercise Files", "No Attachment Found", "WORKBOOK PAGES"):
        assert debris not in joined


# --- written for a screen, faithful to the seeds (issue 12) ---------------------------------------------


def test_no_text_points_at_a_paper_page_column_table_or_diagram():
    """The seeds are Word workbooks ("over the next few pages", "on page 6", "the 4 columns", "the table above",
    "mark them on the diagram"); on a screen those point at nothing. The loader notices such words in any text."""
    assert _lib().notices == ()


def test_session_1_asks_the_seeds_questions_in_their_order():
    session_1 = _p2p().module("module-1").session("session-1")
    safe = session_1.block("behaviours-help-you-feel-safe")
    assert safe.prompt == ("To feel safe undertaking the programme, what needs to be in place for you? "
                           "What behaviours help you feel safe?")
    others = session_1.block("behaviours-you-can-demonstrate")
    assert others.prompt.startswith("To contribute to others in the group feeling safe, what can you bring from your "
                                    "journey so far? What behaviours")
    assert safe.help is None and others.help is None


def test_chime_starts_with_what_it_stands_for_not_a_fragment():
    chime = _p2p().module("module-1").session("session-3").block("chime")
    assert "Connectedness, Hope, Identity, Meaning and Empowerment" in chime.text
    assert "Characterised by" not in chime.text   # those words are the table's, row by row


def test_the_values_link_is_a_link_that_says_it_needs_the_internet():
    values = _p2p().module("module-1").session("session-3").block("personal-values")
    assert '<a href="https://personalvalu.es/">' in values.text and "needs a connection" in values.text


def test_session_links_go_to_sessions_of_the_programme():
    session_2 = _p2p().module("module-1").session("session-2")
    text = session_2.block("boundaries-principles-and-features").text
    assert 'href="/programmes/p2p/modules/module-1/sessions/session-1"' in text
    assert 'href="#principles-and-boundaries"' in text


def test_the_trauma_lesson_refers_to_this_course_under_one_heading():
    session = _lib().programmes["peer-support-training"].module("course").session("positive-risk-taking-and-boundaries")
    trauma = session.block("trauma-informed-peer-support")
    assert "module 11" not in trauma.text and "module 4" not in trauma.text and "module 10" not in trauma.text
    assert 'href="/programmes/peer-support-training/modules/course/sessions/the-peer-relationship"' in trauma.text
    headings = [trauma.title, *re.findall(r"<h3>(.*?)</h3>", trauma.text)]
    assert headings == ["Trauma and the peer relationship", "Trauma-informed peer support"]


def test_content_notes_before_the_trauma_lesson_and_the_lowest_point():
    session = _lib().programmes["peer-support-training"].module("course").session("positive-risk-taking-and-boundaries")
    note = session.block("trauma-informed-peer-support").content_note
    assert "trauma" in note.text and (note.skip_to, note.skip_label) == ("boundaries", "Boundaries")
    story = _p2p().module("preparing").session("personal-recovery-story").block("recovery-story")
    beginning = next(s for s in story.sections if s.id == "the-beginning")
    assert "lowest point" in beginning.content_note.text
    assert (beginning.content_note.skip_to, beginning.content_note.skip_label) == (
        "recovery-story-the-turning-point", "The turning point")
