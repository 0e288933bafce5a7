"""Sharing by choice: marked to discuss (a private list), or one answer shown to the group's facilitators."""

import re

from conftest import database_bytes, post, text
from test_workbook import S1, autosave

from p2p.models import Membership, Share

PLACE = f"{S1}/behaviours-help-you-feel-safe"


def share(client, room, action, place=PLACE, htmx=False):
    page = f"/groups/{room.group.id}/modules/module-1/sessions/session-1"
    return post(client, "/workbook/share", {"place": place, "action": action, "group_id": room.group.id,
                                            "back": page}, token_from=page,
                headers={"HX-Request": "true"} if htmx else {})


def test_nothing_is_shared_until_the_owner_chooses(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    autosave(alice, PLACE, "Kindness and patience")
    page = text(fran.get(f"/groups/{room.group.id}"))
    assert "Kindness and patience" not in page and "When a participant chooses to share" in page


def test_sharing_with_the_facilitator_shows_that_answer_labelled_and_can_be_withdrawn(room, as_user):
    alice, fran, bob = as_user(room.alice), as_user(room.facilitator), as_user(room.bob)
    autosave(alice, PLACE, "Kindness and patience")
    autosave(alice, f"{S1}/anything-challenging", "NOT-SHARED")
    fragment = text(share(alice, room, "share", htmx=True))
    assert fragment.lstrip().startswith('<div class="share"') and "Shared with your facilitators" in fragment
    page = text(fran.get(f"/groups/{room.group.id}"))
    assert "Shared by Alice on" in page and "What behaviours help you feel safe?" in page
    assert "Kindness and patience" in page and "NOT-SHARED" not in page
    assert "Kindness and patience" not in text(bob.get(f"/groups/{room.group.id}"))          # not other members
    assert "Kindness and patience" not in text(as_user(room.other_facilitator).get("/"))    # nor other facilitators
    # A later edit is not shared until the owner shares the latest version.
    autosave(alice, PLACE, "Kindness, patience and humour", 1)
    assert "humour" not in text(fran.get(f"/groups/{room.group.id}"))
    share(alice, room, "share")
    assert "humour" in text(fran.get(f"/groups/{room.group.id}"))
    share(alice, room, "unshare")
    assert "Kindness" not in text(fran.get(f"/groups/{room.group.id}"))


def test_leaving_the_group_withdraws_what_was_shared(room, as_user):
    alice = as_user(room.alice)
    autosave(alice, PLACE, "Kindness")
    share(alice, room, "share")
    Membership.of(room.alice, room.group).delete_instance()
    assert Share.select().count() == 0


def test_to_discuss_is_a_private_list(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    autosave(alice, PLACE, "Kindness")
    share(alice, room, "discuss")
    page = text(alice.get("/workbook/to-discuss"))
    assert "What behaviours help you feel safe?" in page and "Kindness" in page
    assert "Kindness" not in text(fran.get(f"/groups/{room.group.id}"))
    share(alice, room, "undiscuss")
    assert "Nothing is marked yet" in text(alice.get("/workbook/to-discuss"))


def test_only_my_groups_and_written_text_answers_can_be_shared(room, as_user):
    alice = as_user(room.alice)
    autosave(alice, PLACE, "Kindness")
    other = post(alice, "/workbook/share", {"place": PLACE, "action": "share", "group_id": room.other_group.id},
                 token_from="/")
    assert other.status_code == 404
    choices = share(alice, room, "share", place="p2p/module-1/session-4/strengths/choices")
    assert choices.status_code == 404
    share(alice, room, "share", place=f"{S1}/anything-challenging")   # empty: nothing to share
    assert Share.select().where(Share.kind == "facilitator").count() == 0


def test_a_fresh_workbook_after_a_reset_starts_with_nothing_shared(app, room, as_user):
    from test_workbook_keys import reset_code_for
    alice = as_user(room.alice)
    autosave(alice, PLACE, "Kindness")
    share(alice, room, "share")
    code = reset_code_for(as_user, room, room.alice)
    post(app.test_client(), "/reset", {"name": "Alice", "code": code, "password": "fresh password",
                                       "confirm": "fresh password", "fresh": "yes"}, token_from="/reset")
    assert Share.select().count() == 0


def test_a_withdrawn_share_leaves_no_copy_in_the_wal(app, room, as_user, tmp_path, another_connection):
    """A shared answer is a plain copy; withdrawn, it is folded out of the WAL at once, as deletions are."""
    alice = as_user(room.alice)
    autosave(alice, PLACE, "WITHDRAWN-MARKER-7")
    share(alice, room, "share")
    assert b"WITHDRAWN-MARKER-7" in database_bytes(app, tmp_path)
    share(alice, room, "unshare")
    assert b"WITHDRAWN-MARKER-7" not in database_bytes(app, tmp_path)


def test_a_question_asked_again_says_which_wherever_its_answer_is_shown(room, as_user):
    """The story asks "how can you use this part…" of every part, and the values exercise the same note of every
    value: away from their page (the to-discuss list, what a facilitator sees shared, print, download) each says
    which, and where in the programme it is."""
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    story = "p2p/preparing/personal-recovery-story/recovery-story"
    hope = "How can you use this part of your experience to connect to others and create hope?"
    note = "p2p/module-1/session-3/top-5-values/2/note"
    for place in (f"{story}/the-beginning/beginning-connect-and-create-hope",
                  f"{story}/the-turning-point/turning-point-connect-and-create-hope"):
        autosave(alice, place, "By being honest")
        share(alice, room, "discuss", place=place)
    listed = text(alice.get("/workbook/to-discuss"))
    assert f"The beginning: {hope}" in listed and f"The turning point: {hope}" in listed
    assert "Preparing for Peer 2 Peer · Reflective activity 2: Personal recovery story" in listed
    autosave(alice, note, "Being there when it counts")
    share(alice, room, "share", place=note)
    page = text(fran.get(f"/groups/{room.group.id}"))
    assert "What it means to you in the context of peer support (value 2)" in page
    assert "Session 3: " in page and "Being there when it counts" in page
    autosave(alice, "p2p/module-1/session-2/parent-states-reflection", "Less telling, more asking")
    for document in ("/workbook/print", "/workbook/download.md"):
        assert "Parent states: How do you feel about the two descriptions" in text(alice.get(document))


def test_the_downloads_carry_every_option_and_the_context_of_each_answer(room, as_user):
    import json
    alice = as_user(room.alice)
    autosave(alice, "p2p/preparing/personal-recovery-story/language-and-impact/comfortable-with-disclosure", "unsure")
    autosave(alice, "p2p/module-1/session-2/helper-or-peer-relationship/position", "3")
    autosave(alice, "p2p/module-1/session-4/strengths/choices", "planner,empathy")
    autosave(alice, "p2p/module-1/session-3/top-5-values/1/name", "Honesty")
    autosave(alice, "p2p/module-1/session-3/top-5-values/1/note", "Saying what is true, kindly")
    markdown = alice.get("/workbook/download.md").get_data(as_text=True)
    assert "- [ ] Yes\n- [x] Not sure yet\n- [ ] No" in markdown
    assert "| Helper type relationship | Mutually empowering peer relationship |" in markdown
    assert "- [x] In the middle" in markdown and markdown.count("Take a moment to consider") == 1
    assert "- Executing: Planner\n" in markdown and "- Relationship building: Empathy\n" in markdown
    assert "(value 1): Honesty**" in markdown
    data = json.loads(alice.get("/workbook/download.json").get_data(as_text=True))
    answers = [a for m in data["modules"] for s in m["sessions"] for e in s["exercises"] for a in e["answers"]]
    disclosure = next(a for a in answers if a["place"].endswith("comfortable-with-disclosure"))
    assert disclosure["options"] == ["Yes", "Not sure yet", "No"] and disclosure["answer"] == "Not sure yet"
    strengths = next(a for a in answers if a["place"].endswith("strengths/choices"))
    assert strengths["chosen_by_group"]["Executing"] == ["Planner"]


def test_a_content_note_stands_before_its_part_on_paper_and_in_the_download(room, as_user):
    alice = as_user(room.alice)
    note = "The questions in this part ask about when things were hardest for you"
    for document, before in (("/workbook/print", "<h5>The beginning</h5>"),
                             ("/workbook/download.md", "**The beginning: When were you aware something was wrong?**")):
        page = alice.get(document).get_data(as_text=True)
        assert 0 < page.index(note) < page.index(before), document


def test_each_share_panel_is_named_with_its_question(room, as_user):
    """A screen reader lists a page's disclosures by name: "Share or mark this answer" twelve times says nothing."""
    page = text(as_user(room.alice).get("/groups/%d/modules/module-1/sessions/session-1" % room.group.id))
    names = [" ".join(re.sub(r"<[^>]+>", "", found).split())
             for found in re.findall(r"<summary>(Share or mark this answer.*?)</summary>", page, re.S)]
    assert len(names) > 2 and len(set(names)) == len(names)
    assert "Share or mark this answer: What feels positive about undertaking P2P?" in names
