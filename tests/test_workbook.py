"""The private workbook: every kind of answer saved and shown to its owner only, sealed in the database."""

import logging
import re
from base64 import b64encode

import pytest
from conftest import PASSWORD, csrf_token, database_bytes, post, text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from p2p import crypto
from p2p.answers import LADDER_MARKED, Workbook, fields_of
from p2p.models import Answer, Group, LadderSnapshot, User

S1 = "p2p/module-1/session-1"
STRENGTHS = "p2p/module-1/session-4/strengths/choices"
LADDER = "p2p/preparing/personal-stocktake/ladder-of-change"
TICKS = f"{LADDER}/{LADDER_MARKED}"
SESSION_PAGES = {
    "p2p/preparing/personal-stocktake": "preparing/sessions/personal-stocktake",
    "p2p/preparing/personal-recovery-story": "preparing/sessions/personal-recovery-story",
    "p2p/module-1/session-1": "module-1/sessions/session-1",
    "p2p/module-1/session-2": "module-1/sessions/session-2",
    "p2p/module-1/session-3": "module-1/sessions/session-3",
    "p2p/module-1/session-4": "module-1/sessions/session-4",
}


def autosave(client, place, value, revision=""):
    """What static/js/autosave.js sends."""
    token = csrf_token(client, "/")
    return client.post("/workbook/save", data={"place": place, "value": value, "revision": revision},
                       headers={"Accept": "application/json", "X-CSRFToken": token})


def session_page(client, room, place_prefix):
    return text(client.get(f"/groups/{room.group.id}/modules/{SESSION_PAGES[place_prefix]}"))


def test_a_reflection_is_saved_and_shown_again(room, as_user):
    alice = as_user(room.alice)
    response = autosave(alice, f"{S1}/behaviours-help-you-feel-safe", "Listening without judging ❤")
    assert response.status_code == 200 and response.json == {"problem": None, "revision": 1}
    page = session_page(alice, room, S1)
    assert ">\nListening without judging ❤</textarea>" in page
    assert 'data-revision="1"' in page


def test_a_save_over_a_version_not_seen_keeps_both_and_the_writer_chooses(room, as_user):
    phone, laptop = as_user(room.alice), as_user(room.alice)
    place = f"{S1}/positive-about-p2p"
    autosave(phone, place, "first")                               # revision 1, both tabs saw it
    assert autosave(laptop, place, "from the laptop", 1).json["revision"] == 2
    stale = autosave(phone, place, "from the phone", 1)           # the phone had not seen revision 2
    assert stale.status_code == 409
    assert stale.json == {"problem": "This answer was also changed in another tab or on another device. Nothing is "
                                     "lost: both versions are here. Please choose the one to keep.",
                          "revision": 2, "other": "from the laptop", "other_display": "from the laptop"}
    assert "from the laptop</textarea>" in session_page(laptop, room, S1)   # nothing was written over it
    # The phone, having seen the laptop's version, keeps its own.
    assert autosave(phone, place, "from the phone", 2).json["revision"] == 3
    revisions = laptop.post("/workbook/revisions", data={"place": [place]},
                            headers={"Accept": "application/json", "X-CSRFToken": csrf_token(laptop)})
    assert revisions.json == {place: 3}
    # The same words sent again by a tab that had not seen them (a draft saved from two tabs) are one version.
    assert autosave(laptop, place, "from the phone", 2).json == {"problem": None, "revision": 3}


@pytest.mark.sqlite_only
def test_an_autosave_with_no_turn_to_write_is_retried_by_the_page_and_then_saved(room, as_user, no_turn_to_write):
    alice = as_user(room.alice)
    place = f"{S1}/behaviours-help-you-feel-safe"
    with no_turn_to_write():
        busy = autosave(alice, place, "Words kept while the server was busy", "0")
    assert busy.status_code == 503 and busy.json == {"problem": "Not saved — retrying"}   # autosave.js retries
    assert autosave(alice, place, "Words kept while the server was busy", "0").json == {"problem": None, "revision": 1}


def test_a_save_on_the_version_seen_is_one_statement(room, caplog):
    """Nearly every autosave: written only if the answer is still at the version seen, in one statement (atomic by
    itself); no transaction, no read before it."""
    alice = Workbook(User.get_by_id(room.alice.id), room.alice.data_key)
    place = f"{S1}/positive-about-p2p"
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        assert alice.save(place, "first", 0) == (1, None)
        assert alice.save(place, "first and more", 1) == (2, None)
    statements = [record.getMessage() for record in caplog.records if record.name == "peewee"]
    assert len(statements) == 2 and statements[0].startswith("('INSERT") and statements[1].startswith("('UPDATE")


def test_without_script_a_save_over_a_version_not_seen_shows_both(room, as_user):
    phone, laptop = as_user(room.alice), as_user(room.alice)
    place, back = f"{S1}/anything-challenging", f"/groups/{room.group.id}/modules/module-1/sessions/session-1"
    autosave(laptop, place, "written on the laptop")
    response = post(phone, "/workbook/save", {"place": place, "value": "written on the phone", "revision": "",
                                              "back": back})
    assert response.status_code == 409
    page = text(response)
    assert "Two versions of one answer" in page and "Nothing is lost" in page
    assert ">\nwritten on the phone</textarea>" in page and "written on the laptop</div>" in page
    assert 'name="revision" value="1"' in page   # keeping the phone's is a save over the version now seen
    assert f'href="{back}#a-p2p--module-1--session-1--anything-challenging-form">Keep the other version' in page
    post(phone, "/workbook/save", {"place": place, "value": "written on the phone", "revision": "1", "back": back})
    assert "written on the phone</textarea>" in session_page(laptop, room, S1)


@pytest.mark.parametrize("place, value, words", [
    (STRENGTHS, "planner,empathy,learner,nope", "choose from the list"),
    (STRENGTHS, "planner,planner", "choose from the list"),
    ("p2p/preparing/personal-recovery-story/language-and-impact/reflects-what-you-want-to-say", "maybe",
     "yes, not sure yet, or no"),
    ("p2p/module-1/session-2/helper-or-peer-relationship/position", "9", "places on the line"),
    (f"{S1}/anything-challenging", "x" * 50_001, "longer than 50,000 characters"),
    ("p2p/module-1/session-3/top-5-values/1/name", "x" * 201, "longer than 200"),
])
def test_values_that_cannot_be_stored_are_explained_kindly(room, as_user, place, value, words):
    response = autosave(as_user(room.alice), place, value)
    assert response.status_code == 422 and words in response.json["problem"]
    assert Answer.select().count() == 0


def test_a_readiness_question_takes_not_sure_yet_and_any_choice_can_be_cleared(room, as_user):
    alice = as_user(room.alice)
    ready = "p2p/preparing/personal-recovery-story/language-and-impact/reflects-what-you-want-to-say"
    spectrum = "p2p/module-1/session-2/helper-or-peer-relationship/position"
    assert autosave(alice, ready, "unsure").status_code == 200
    assert autosave(alice, spectrum, "3").status_code == 200
    assert "Not sure yet" in text(alice.get("/workbook/download.md"))
    page = alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-2").get_data(as_text=True)
    assert re.search(r'<button type="submit" name="clear" value="1"[^>]*aria-label="Clear my answer: [^"]+">', page)
    # Without script: "Clear my answer" sends the form, whose choice is still ticked; nothing is kept.
    back = f"/groups/{room.group.id}/modules/module-1/sessions/session-2"
    post(alice, "/workbook/save", {"place": spectrum, "value": "3", "revision": "1", "clear": "1", "back": back},
         token_from=back)
    page = alice.get(back).get_data(as_text=True)
    assert 'value="3" id="a-p2p--module-1--session-2--helper-or-peer-relationship--position-3" checked' not in page
    assert re.search(r'aria-label="Clear my answer: [^"]+" hidden>', page)   # nothing to clear now
    assert autosave(alice, ready, "", revision=1).status_code == 200   # what the script sends


def test_choosing_more_than_allowed_is_refused_kindly(room, as_user):
    alice = as_user(room.alice)
    nine = "planner,accountable,consistent,disciplined,focused,responsible,problem-solver,energetic,empathy"
    response = autosave(alice, STRENGTHS, nine)
    assert response.status_code == 422
    assert response.json["problem"] == "You can choose up to 8. To choose another, untick one first."
    assert autosave(alice, STRENGTHS, nine.rsplit(",", 1)[0]).status_code == 200


def test_places_that_are_not_in_the_content_are_refused(room, as_user):
    alice = as_user(room.alice)
    for place in ("p2p/module-1/session-1/no-such-question", "p2p/module-1/session-1", "../../etc",
                  "p2p/module-1/session-1/preparing-for-session-1"):  # a reading holds no answer
        assert autosave(alice, place, "x").status_code == 404


def test_only_programmes_of_my_groups_can_be_answered(room, as_user, app):
    Group.update(programme="peer-support-training").where(Group.id.in_([room.group.id, room.other_group.id])).execute()
    assert autosave(as_user(room.alice), f"{S1}/positive-about-p2p", "x").status_code == 404


def test_a_session_without_the_key_is_asked_to_log_in_and_keeps_nothing(app, room, as_user):
    alice = as_user(room.alice)
    with alice.session_transaction() as session:
        session.pop("wk")
    response = autosave(alice, f"{S1}/positive-about-p2p", "typed while the key was missing")
    assert response.status_code == 401 and response.json["login"] == "/login"
    page = session_page(alice, room, S1)
    assert "log in again" in page and "<textarea" not in page
    login_page = text(alice.get("/login?next=/groups/1"))
    assert 'value="Alice"' in login_page  # signed in but without the key: the login form opens it again
    post(alice, "/login", {"name": "Alice", "password": PASSWORD}, token_from="/login")
    assert autosave(alice, f"{S1}/positive-about-p2p", "now it saves").status_code == 200


def test_an_ended_session_answers_autosave_with_401_not_a_page(app, room, as_user):
    alice = as_user(room.alice)
    token = csrf_token(alice)
    User.get_by_id(room.alice.id).end_sign_ins()  # logged out on another device
    response = alice.post("/workbook/save", data={"place": f"{S1}/positive-about-p2p", "value": "x"},
                          headers={"Accept": "application/json", "X-CSRFToken": token})
    assert response.status_code == 401 and response.json["login"] == "/login"
    fresh = app.test_client()
    stale_token = fresh.post("/workbook/save", data={"place": "x", "value": "y"},
                             headers={"Accept": "application/json", "X-CSRFToken": "stale"})
    assert stale_token.status_code == 401


def test_the_save_button_works_without_script(room, as_user):
    alice = as_user(room.alice)
    place = f"{S1}/anything-challenging"
    response = post(alice, "/workbook/save", {"place": place, "value": "saved by the button", "back":
                                              f"/groups/{room.group.id}/modules/module-1/sessions/session-1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#a-p2p--module-1--session-1--anything-challenging-form")
    assert "saved by the button</textarea>" in session_page(alice, room, S1)


def test_strengths_are_shown_on_the_diagram(room, as_user):
    alice = as_user(room.alice)
    autosave(alice, STRENGTHS, "planner,empathy")
    diagram = text(alice.get(f"/workbook/picks?place={STRENGTHS}"))
    assert "(2 of 8)" in diagram
    assert "Executing: Planner. Influencing: none chosen. Relationship building: Empathy." in diagram
    page = session_page(alice, room, "p2p/module-1/session-4")
    assert page.count(" checked>") == 2 and "• Planner" in page


def test_ladder_ticks_are_an_answer_saved_as_they_change(room, as_user):
    alice = as_user(room.alice)
    assert autosave(alice, TICKS, "6,7").json == {"problem": None, "revision": 1}
    page = session_page(alice, room, "p2p/preparing/personal-stocktake")
    assert page.count(" checked>") == 2
    assert re.search(r'value="6"\s+id="ladder-of-change-statement-6"[^>]* checked>', page)
    assert autosave(alice, TICKS, "6,11").status_code == 422   # there is no statement 11
    assert LadderSnapshot.select().count() == 0                  # ticking is not a snapshot


def test_ladder_snapshots_are_kept_side_by_side_and_record_the_ticks_sent(room, as_user):
    alice = as_user(room.alice)
    back = f"/groups/{room.group.id}/modules/preparing/sessions/personal-stocktake"
    post(alice, "/workbook/ladder", {"place": TICKS, "value": ["1", "2"], "back": back}, token_from=back)
    response = post(alice, "/workbook/ladder", {"place": TICKS, "value": ["4", "99", "x"], "back": back},
                    token_from=back)
    assert response.headers["Location"] == back + "#ladder-of-change-snapshot-said"
    page = session_page(alice, room, "p2p/preparing/personal-stocktake")
    table = page[page.index("Your snapshots, newest first</caption>"):page.index("</table>")]
    assert table.count("<th scope=\"col\"") == 3  # the statement column and two snapshots
    rows = re.findall(r"<tr><th scope=\"row\".*?</tr>", table, re.S)
    # Newest first: statement 4 is marked in the first column (new), 1 and 2 in the second.
    marks = [re.findall(r'<td class="mark[^"]*">.*?<span class="visually-hidden">(.*?)</span></td>', row, re.S)
             for row in rows[:4]]
    assert [[m.split(" (")[0] for m in row] for row in marks] == [
        ["not marked", "marked"], ["not marked", "marked"], ["not marked", "not marked"], ["marked", "not marked"]]
    # The ticks stay as they were sent, ready to change or to snapshot again.
    workbook = Workbook(User.get_by_id(room.alice.id), room.alice.data_key)
    assert workbook.get(TICKS).value == "4"
    assert post(alice, "/workbook/ladder", {"place": LADDER, "value": ["4"], "back": back}).status_code == 404
    # "Save today's snapshot" pressed twice (or sent again after a lost answer): one snapshot.
    key = re.search(r'name="request_key" value="([^"]+)"', alice.get(back).get_data(as_text=True))[1]
    for _ in range(2):
        post(alice, "/workbook/ladder", {"place": TICKS, "value": ["5"], "back": back, "request_key": key},
             token_from=back)
    assert [s.marked for s in workbook.snapshots(LADDER)] == [{1, 2}, {4}, {5}]
    # A page from before the ticks were an answer (open while the app was updated) still takes its snapshot.
    post(alice, "/workbook/ladder", {"place": LADDER, "statement": ["2", "9"], "back": back}, token_from=back)
    assert workbook.snapshots(LADDER)[-1].marked == {2, 9} and workbook.get(TICKS).value == "2,9"


def test_a_tick_still_arriving_after_a_snapshot_does_not_undo_it(room, as_user):
    """Tick 6 (its save leaves), tick 7, and "Save today's snapshot" at once: the snapshot sends 6 and 7, and the
    older save of 6 alone, arriving after it, is not written over them."""
    alice = as_user(room.alice)
    back = f"/groups/{room.group.id}/modules/preparing/sessions/personal-stocktake"
    post(alice, "/workbook/ladder", {"place": TICKS, "value": ["6", "7"], "back": back}, token_from=back)
    assert autosave(alice, TICKS, "6", "").status_code == 409
    assert Workbook(User.get_by_id(room.alice.id), room.alice.data_key).get(TICKS).value == "6,7"


def test_ladder_ticks_are_in_the_print_view_and_downloads(room, as_user):
    alice = as_user(room.alice)
    autosave(alice, TICKS, "3,6")
    printed = text(alice.get("/workbook/print"))
    assert "☑ 6. " in printed and "☐ 7. " in printed
    body = alice.get("/workbook/download.md").get_data(as_text=True)
    assert re.search(r"\*\*Statements that feel real to you now\*\*\n\n- 3\. I am feeling more .*\n- 6\. I am ", body)
    import json
    answers = [a for m in json.loads(alice.get("/workbook/download.json").get_data(as_text=True))["modules"]
               for s in m["sessions"] for e in s["exercises"] for a in e["answers"]]
    ticks = next(a for a in answers if a["place"] == TICKS)
    assert ticks["stored_value"] == "3,6" and len(ticks["chosen"]) == 2 and ticks["chosen"][0].startswith("3. ")
    assert "· 1 of " in text(alice.get("/workbook"))   # the stocktake counts as started


def test_only_the_owners_pages_carry_the_key_to_their_drafts_on_this_device(app, room, as_user):
    """The key autosave.js seals unsent text with: derived from the workbook key, the same in every session of
    its owner (a draft kept while logged out opens again after logging in), another for anyone else."""
    def page_key(client, path="/"):
        found = re.search(r'data-drafts-key="([^"]+)"', client.get(path).get_data(as_text=True))
        return found and found.group(1)

    alice = as_user(room.alice)
    expected = b64encode(crypto.drafts_key(room.alice.data_key)).decode()
    assert page_key(alice) == expected
    assert page_key(alice, f"/groups/{room.group.id}/modules/module-1/sessions/session-1") == expected
    assert page_key(as_user(room.alice)) == expected                # another session, the same key
    assert page_key(as_user(room.bob)) not in (None, expected)
    assert page_key(app.test_client()) is None                      # nobody signed in
    assert expected.encode() not in alice.get("/static/js/autosave.js").get_data()
    with alice.session_transaction() as session:
        session.pop("wk")                                           # signed in without the workbook key
    assert page_key(alice) is None


def test_a_facilitator_never_sees_a_participants_answers(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    autosave(alice, f"{S1}/behaviours-help-you-feel-safe", "ALICE-PRIVATE-MARKER")
    for path in (f"/groups/{room.group.id}", f"/groups/{room.group.id}/modules/module-1",
                 f"/groups/{room.group.id}/modules/module-1/sessions/session-1"):
        assert "ALICE-PRIVATE-MARKER" not in text(fran.get(path))
    assert "ALICE-PRIVATE-MARKER" not in text(as_user(room.bob).get(
        f"/groups/{room.group.id}/modules/module-1/sessions/session-1"))


def every_answer_place(app):
    """One place of every field kind of every exercise type in the programme."""
    library = app.extensions["p2p.content"]
    programme = library.programme("p2p")
    for module in programme.modules:
        for session in module.sessions:
            for block in session.exercises:
                for part, field in fields_of(block).items():
                    yield "/".join(p for p in ("p2p", module.id, session.id, block.id, part) if p), field


def test_a_marker_typed_everywhere_is_not_in_the_database(app, room, as_user, tmp_path):
    alice = as_user(room.alice)
    saved_kinds = set()
    for n, (place, field) in enumerate(every_answer_place(app)):
        if field.kind in ("text", "short"):
            value = f"MARKER-{n}-ZQX"
        elif field.kind == "choices":
            value = ",".join(field.choices[:2])
        elif field.kind == "yesno":
            value = "yes"
        else:
            value = "4"
        assert autosave(alice, place, value).status_code == 200, place
        saved_kinds.add(field.kind)
    back = f"/groups/{room.group.id}/modules/preparing/sessions/personal-stocktake"
    post(alice, "/workbook/ladder", {"place": TICKS, "value": ["7"], "back": back}, token_from=back)
    assert saved_kinds == {"text", "short", "choices", "yesno", "stop"}
    raw = database_bytes(app, tmp_path)   # the SQLite file and its WAL, or everything pg_dump writes out
    # (Four bytes at least: pg_dump shows bytea as hex, and three bytes' hex turned up once in the sealed values'
    # random bytes.)
    for marker in (b"-ZQX", b"planner"):   # a chosen strength would betray itself by its id
        for form in (marker, marker.decode().encode("utf-16-le"), marker.hex().encode()):
            assert form not in raw, form
    # ...and each value opens again for its owner.
    workbook = Workbook(User.get_by_id(room.alice.id), room.alice.data_key)
    assert workbook.get("p2p/module-1/session-1/positive-about-p2p").value.startswith("MARKER-")


def test_a_sealed_answer_does_not_open_for_another_person_or_place(room):
    alice, bob = User.get_by_id(room.alice.id), User.get_by_id(room.bob.id)
    Workbook(alice, room.alice.data_key).save(f"{S1}/positive-about-p2p", "mine", None)
    row = Answer.get(Answer.user == alice)
    Answer.update(place=f"{S1}/anything-challenging").where(Answer.id == row.id).execute()
    from p2p.crypto import CannotOpen
    with pytest.raises(CannotOpen):
        Workbook(alice, room.alice.data_key).all()
    Answer.update(place=row.place, user=bob).where(Answer.id == row.id).execute()
    with pytest.raises(CannotOpen):
        Workbook(bob, room.alice.data_key).all()


awkward_text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from([
    "<script>alert(1)</script>", '<b data-hx-post="/logout" hx-trigger="load">x</b>', "a\x00b", "💜" * 500,
    "x" * 50_000, "</textarea><script>alert(1)</script>", "{{ 7*7 }}", "\r\nline\r\n",
])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=awkward_text)
def test_fuzz_any_text_is_stored_exactly_and_shown_escaped(room, as_user, value):
    alice = as_user(room.alice)
    place = f"{S1}/anything-challenging"
    workbook = Workbook(User.get_by_id(room.alice.id), room.alice.data_key)
    seen = workbook.get(place)   # the examples follow one another on one answer, as a page's saves do
    response = autosave(alice, place, value, seen.revision if seen else "")
    assert response.status_code == 200
    stored = workbook.get(place).value
    assert stored == value.replace("\r\n", "\n")
    page = alice.get(f"/groups/{room.group.id}/modules/module-1/sessions/session-1").get_data(as_text=True)
    assert f">\n{escape(stored)}</textarea>" in page


def test_the_longest_answer_in_any_script_fits_in_one_request(room, as_user):
    alice = as_user(room.alice)
    longest = "💜" * 50_000   # 4 bytes each, 12 once form-encoded
    assert autosave(alice, f"{S1}/anything-challenging", longest).status_code == 200


def test_times_are_shown_in_the_hosts_time_zone():
    from datetime import datetime

    from p2p.web import local_time
    assert local_time(datetime(2026, 7, 1, 23, 30), "Europe/London").strftime("%-d %b %H:%M") == "2 Jul 00:30"
    assert local_time(datetime(2026, 12, 1, 23, 30), "Europe/London").strftime("%-d %b %H:%M") == "1 Dec 23:30"
    assert local_time(datetime(2026, 7, 1, 23, 30), "Not/AZone").hour == 23


def test_logging_out_after_the_session_ended_just_goes_home(app, room, as_user):
    alice = as_user(room.alice)
    token = csrf_token(alice)
    with alice.session_transaction() as session:
        session.clear()
    response = alice.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_first_answer_written_in_two_tabs_shows_the_later_one_both(room, as_user):
    phone, laptop = as_user(room.alice), as_user(room.alice)
    place = f"{S1}/anything-challenging"
    assert autosave(phone, place, "from the phone", "").status_code == 200
    later = autosave(laptop, place, "from the laptop", "")
    assert later.status_code == 409 and later.json["other"] == "from the phone"


def test_progress_counts_questions_not_exercises_and_done_for_now_is_the_owners_alone(room, as_user):
    """27 story questions are 27, not one; a note per option counts only for the options chosen; "done for now" is a
    mark only its owner sees (sealed like an answer), and never an earlier answer."""
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    story = "p2p/preparing/personal-recovery-story"
    page = session_page(alice, room, story)
    assert re.search(r"\d+ questions here, whenever you are ready", page)
    assert "On this page" in page and 'href="#recovery-story-the-beginning">The beginning</a>' in page   # 22 screens
    assert 'href="#progress">Your place in this session</a>' in page
    total = int(re.search(r"(\d+) questions here", page).group(1))
    autosave(alice, f"{story}/recovery-story/the-beginning/lowest-point", "Hard to say")
    autosave(alice, f"{story}/recovery-story/the-beginning/early-signs", "I stopped going out")
    assert f"You have written something for 2 of the {total} questions here" in session_page(alice, room, story)
    values = "p2p/module-1/session-3"
    before = int(re.search(r"(\d+) questions here", session_page(alice, room, values)).group(1))
    autosave(alice, f"{values}/top-5-values/1/name", "Honesty")
    assert f"1 of the {before + 1} questions" in session_page(alice, room, values)   # its note now counts too

    back = f"/groups/{room.group.id}/modules/preparing/sessions/personal-recovery-story"
    panel = text(post(alice, "/workbook/done-for-now", {"session": story, "done": "1", "back": back}, token_from=back,
                      headers={"HX-Request": "true"}))
    assert panel.lstrip().startswith('<section class="progress-panel"') and "You marked this session done for now" in panel
    assert "autofocus>I’m not done with it" in panel
    module = text(alice.get(f"/groups/{room.group.id}/modules/preparing"))
    assert "Done for now · 2 of" in module and "You marked this session done" not in text(fran.get(back))
    mark = Answer.get(Answer.place == f"{story}/~done-for-now")   # sealed, as answers are: on or off, the same row
    assert b"yes" not in bytes(mark.sealed)
    assert "no longer in the programme" not in text(alice.get("/workbook")) + text(alice.get("/workbook/print"))
    answer = post(alice, "/workbook/done-for-now", {"session": story, "done": "0", "back": back}, token_from=back)
    assert answer.location.endswith(f"{back}#progress")
    assert "Mark it done for now" in session_page(alice, room, story)
    for refused in ("p2p/nowhere/at-all", "p2p/preparing", "peer-support-training/course/boundaries"):
        assert post(alice, "/workbook/done-for-now", {"session": refused, "done": "1"},
                    token_from=back).status_code == 404
