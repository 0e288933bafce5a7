"""Reading the programme: modules and sessions for members, facilitator notes for facilitators only."""

from conftest import text

from p2p.models import Group


def test_a_participant_reads_module_1_session_1(room, as_user):
    alice = as_user(room.alice)
    page = text(alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))
    assert "Learning intentions" in page
    assert "Commit to a code of behaviour for the group." in page
    assert "What behaviours help you feel safe?" in page
    assert "What behaviours can you demonstrate that will help others feel safe?" in page
    assert "Notes for facilitators" not in page and "Mini Knowledge" not in page


def test_facilitator_notes_show_to_facilitators_only(room, as_user):
    g = room.group.id
    fran, alice = as_user(room.facilitator), as_user(room.alice)
    for path in (f"/groups/{g}/modules/module-1", f"/groups/{g}/modules/preparing",
                 f"/groups/{g}/modules/module-2"):
        assert "Mini Knowledge for facilitators" in text(fran.get(path)), path
        assert "Only facilitators see this" not in text(alice.get(path)), path
    assert "This module builds on the work completed" not in text(alice.get(f"/groups/{g}/modules/module-2"))
    assert "Mini Knowledge: about the toolbox" in text(fran.get(f"/groups/{g}"))
    assert "plethora" not in text(alice.get(f"/groups/{g}"))


def test_every_session_of_every_programme_renders(app, room, as_user):
    alice = as_user(room.alice)
    library = app.extensions["p2p.content"]
    for programme in library.programmes.values():
        Group.update(programme=programme.id).where(Group.id == room.group.id).execute()
        for module in programme.modules:
            page = text(alice.get(f"/groups/{room.group.id}/modules/{module.id}"))
            assert module.title in page
            for session in module.sessions:
                response = alice.get(f"/groups/{room.group.id}/modules/{module.id}/sessions/{session.id}")
                assert response.status_code == 200 and session.title in text(response)


def test_exercises_are_shown_in_full(room, as_user):
    alice = as_user(room.alice)
    g = room.group.id
    stocktake = text(alice.get(f"/groups/{g}/modules/preparing/sessions/personal-stocktake"))
    for stage in ("Stuck", "Accepting help", "Believing", "Learning", "Self reliance"):
        assert f">{stage}</h3>" in stocktake
    assert stocktake.count('form="a-p2p--preparing--personal-stocktake--ladder-of-change--statements--marked-form" name="value"') == 10
    strengths = text(alice.get(f"/groups/{g}/modules/module-1/sessions/session-4"))
    assert strengths.count('type="checkbox" name="value"') == 28 and "Choose up to 8 of the 28" in strengths


def test_an_outline_module_says_its_sessions_are_coming(room, as_user):
    page = text(as_user(room.alice).get(f"/groups/{room.group.id}/modules/module-3"))
    assert "Module 3: Peer Concepts and Practice" in page and "still being written" in page


def test_sessions_link_to_the_previous_and_next(room, as_user):
    page = text(as_user(room.alice).get(f"/groups/{room.group.id}/modules/module-1/sessions/session-2"))
    assert 'rel="prev" href="/groups/%d/modules/module-1/sessions/session-1"' % room.group.id in page
    assert 'rel="next" href="/groups/%d/modules/module-1/sessions/session-3"' % room.group.id in page


def test_unknown_modules_and_sessions_are_not_found(room, as_user):
    alice = as_user(room.alice)
    assert alice.get(f"/groups/{room.group.id}/modules/module-9").status_code == 404
    assert alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-9").status_code == 404


def test_a_group_whose_programme_left_the_content_folder_explains_it(room, as_user):
    Group.update(programme="retired").where(Group.id == room.group.id).execute()
    alice = as_user(room.alice)
    assert "is not in the app’s content folder" in text(alice.get(f"/groups/{room.group.id}"))
    assert alice.get(f"/groups/{room.group.id}/modules/module-1").status_code == 404


def test_a_session_link_in_the_content_opens_that_session_in_the_readers_group(room, as_user):
    alice = as_user(room.alice)
    page = text(alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-2"))
    link = "/programmes/p2p/modules/module-1/sessions/session-1"
    assert f'<a href="{link}">Session 1</a>' in page   # "refer back to your thoughts in Session 1", not "pages 4-6"
    response = alice.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/groups/{room.group.id}/modules/module-1/sessions/session-1"
    assert alice.get("/programmes/p2p/modules/module-1/sessions/session-9").status_code == 404
    # Someone in no group following that programme has nowhere to open it.
    assert alice.get("/programmes/peer-support-training/modules/course/sessions/the-peer-relationship").status_code == 404
    assert as_user(room.outsider).get(link).headers["Location"].startswith(f"/groups/{room.other_group.id}/")


def test_a_content_note_comes_before_the_trauma_lesson_with_support_and_a_way_past_it(room, as_user):
    Group.update(programme="peer-support-training").where(Group.id == room.group.id).execute()
    page = text(as_user(room.alice).get(
        f"/groups/{room.group.id}/modules/course/sessions/positive-risk-taking-and-boundaries"))
    note = page.index('class="content-note"')
    assert note < page.index('id="trauma-informed-peer-support"') < page.index('id="boundaries"')
    assert 'href="/support">Support</a>' in page[note:] and "This reading is about trauma" in page[note:]
    assert '<a class="content-note__skip" href="#boundaries">Skip ahead to Boundaries</a>' in page
    assert 'href="#boundaries">boundaries</a>' in page   # "In this session we also go on to look at boundaries"


def test_a_content_note_comes_before_the_lowest_point_questions_of_the_story(room, as_user):
    page = text(as_user(room.alice).get(
        f"/groups/{room.group.id}/modules/preparing/sessions/personal-recovery-story"))
    note = page.index('id="recovery-story-the-beginning-note"')
    assert page.index('id="recovery-story-introduction-to-you"') < note < page.index(
        'id="recovery-story-the-beginning"') < page.index("Do you remember the lowest point")
    assert 'href="#recovery-story-the-turning-point">Skip ahead to The turning point</a>' in page
    assert page.count('class="content-note"') == 1


def test_session_1_asks_what_needs_to_be_in_place_first_as_a_question(room, as_user):
    page = text(as_user(room.alice).get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))
    question = ("To feel safe undertaking the programme, what needs to be in place for you? "
                "What behaviours help you feel safe?")
    assert f'class="question">{question}</h2>' in page
