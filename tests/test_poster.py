"""The code of behaviour as a poster: each member signs it with their name or is counted without it, as they
choose (and can change); its themes are honoured and it is numbered through; the page, the print and the
Markdown say the same. A board's "Show names on new proposals" is about proposals: it never names anyone here."""

import json
import re

from conftest import post, text
from test_board import board_url, settings, shape

from p2p.models import Board, CodeVersion, Commitment, Proposal
from p2p.poster import POSTER_TYPES, poster_type


def code_url(room, tail=""):
    return f"/groups/{room.group.id}/code{tail}"


def make_code(fran, proposer, room, behaviours) -> None:
    """Version 1 of the code, of these (words, theme or None), proposed in this order."""
    for words, _ in behaviours:
        post(proposer, board_url(room, "/proposals"), {"text": words}, token_from=board_url(room))
    settings(fran, room, "phase:shape")
    for words, theme in behaviours:
        if theme:
            shape(fran, room, Proposal.get(Proposal.text == words), "theme", theme=theme)
    settings(fran, room, "phase:agree")
    for words, _ in behaviours:
        shape(fran, room, Proposal.get(Proposal.text == words), "agree")
    post(fran, board_url(room, "/version"), token_from=board_url(room))


def commit(client, room, sign=None, htmx=False):
    return post(client, board_url(room, "/commit"), {} if sign is None else {"sign": sign}, token_from=code_url(room),
                headers={"HX-Request": "true"} if htmx else {})


def poster(client, room) -> str:
    page = text(client.get(code_url(room)))
    return page[page.index('<article class="code-poster"'):page.index("</article>")]


def test_each_member_signs_with_their_name_or_is_counted_and_only_signatures_show(room, as_user):
    alice, bob, fran = as_user(room.alice), as_user(room.bob), as_user(room.facilitator)
    make_code(fran, alice, room, [("Be kind", None)])
    assert "Nobody has committed to it yet." in poster(fran, room)
    commit(alice, room, "0")
    assert "1 person has committed to it." in poster(fran, room)
    commit(bob, room, "1", htmx=True)   # from the board
    commit(fran, room, "1")
    assert ('Signed: <span class="signature">Bob</span> and <span class="signature">Fran</span>, and 1 more '
            'committed.') in poster(alice, room)
    commit(fran, room, "0")
    for named in ("named-off", "named-on"):   # the proposals' setting changes nothing here
        settings(fran, room, named)
        shown = poster(fran, room)
        assert 'Signed: <span class="signature">Bob</span>, and 2 more committed.' in shown and "Alice" not in shown
        markdown = text(fran.get(code_url(room, ".md")))
        assert markdown.endswith("Signed: Bob, and 2 more committed.\n") and "Alice" not in markdown
        board = text(alice.get(board_url(room)))
        assert "3 of 3 have committed. Signed: Bob." in board and "Alice" not in board.split("</header>")[1]
        projector = text(fran.get(board_url(room, "/projector")))
        assert "3 of 3 have committed." in projector and "Bob" not in projector and "Signed" not in projector
    assert [(c.user_id, c.signed) for c in Commitment.select().order_by(Commitment.id)] == [
        (room.alice.id, False), (room.bob.id, True), (room.facilitator.id, False)]


def test_a_signature_is_offered_before_committing_and_can_be_changed_afterwards(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    make_code(fran, alice, room, [("Be kind", None)])
    for page in (text(alice.get(code_url(room))), text(alice.get(board_url(room)))):
        assert ">I commit to our code</button>" in page and ">I commit and sign with my name</button>" in page
    for _ in range(2):   # a double tap counts once
        commit(alice, room, "0")
    page = text(alice.get(code_url(room)))
    assert "You are counted, without your name." in page and ">Sign it with my name</button>" in page
    assert "Your name is off" not in page   # the second tap changed nothing, and says nothing
    response = commit(alice, room, "1")
    assert response.status_code == 302
    page = text(alice.get(code_url(room)))
    assert "Your name is on our code now." in page   # said once, after the change
    assert "Your name is on our code." in page and ">Take my name off</button>" in page
    assert 'Signed: <span class="signature">Alice</span>.' in poster(fran, room)
    commit(alice, room)   # a form that did not ask (a page from before signatures) keeps the choice
    assert Commitment.get().signed
    commit(alice, room, "0", htmx=True)   # from the board
    assert "Your name is on our code." not in text(alice.get(board_url(room)))
    assert "Alice" not in poster(fran, room) and "1 person has committed to it." in poster(fran, room)
    assert Commitment.select().count() == 1
    assert commit(alice, room, "maybe").status_code == 302 and not Commitment.get().signed   # kept as it was


def test_nobody_commits_before_there_is_a_code(room, as_user):
    assert commit(as_user(room.alice), room, "1").status_code == 404
    assert not Commitment.select().exists()


THEMED = [("Phones on silent", "Being present"), ("Hear each other out", None), ("Listen fully", "Listening"),
          ("Start on time", "Being present"), ("Ask before sharing", None)]


def test_themes_are_honoured_and_the_code_is_numbered_through(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    make_code(fran, alice, room, THEMED)
    page = poster(alice, room)
    headings = re.findall(r'<h2 class="code-theme">([^<]+)</h2>', page)
    assert headings == ["Being present", "Listening", "Other behaviours"]
    starts = re.findall(r'<ol class="code-list"(?: start="(\d+)")?>', page)
    assert starts == ["", "3", "4"]   # 1-2, 3, 4-5: numbered through, never restarting under a theme
    order = [page.index(words) for words in ("Phones on silent", "Start on time", "Listen fully",
                                             "Other behaviours", "Hear each other out", "Ask before sharing")]
    assert order == sorted(order)   # without a theme: last, under their own heading, not the theme before
    markdown = text(alice.get(code_url(room, ".md")))
    assert ("## Being present\n\n1. Phones on silent\n2. Start on time\n\n## Listening\n\n3. Listen fully\n\n"
            "## Other behaviours\n\n4. Hear each other out\n5. Ask before sharing\n\nNobody has committed to it yet.\n"
            ) in markdown
    assert markdown.startswith("# Our code of behaviour — Tuesday group\n\nVersion 1, agreed on ")


def test_a_code_without_themes_has_no_headings_and_an_older_version_is_grouped_too():
    plain = CodeVersion(items=json.dumps(["Be kind", "Start on time"]))
    assert plain.by_theme == [(None, 1, ["Be kind", "Start on time"])]
    # A version stored with a behaviour without a theme between themed ones is shown grouped all the same.
    mixed = CodeVersion(items=json.dumps([["Phones away", "Being present"], "Be kind", ["On time", "Being present"]]))
    assert mixed.by_theme == [("Being present", 1, ["Phones away", "On time"]), (None, 3, ["Be kind"])]


def test_the_poster_s_type_is_as_large_as_the_code_lets_it_be():
    """Printed, the largest type in which it still fits one page (tests/browser/test_poster.py prints it)."""
    def code(count, words, theme=None):
        return CodeVersion(items=json.dumps([[f"{i} {words}", theme] if theme else f"{i} {words}" for i in range(count)]))
    short, everyday, themed, longest = (code(5, "Be kind"), code(20, "Listen to each other without judging"),
                                        code(20, "Listen to each other without judging", "Listening"),
                                        code(20, "x" * 200))
    sizes = [poster_type(version, "") for version in (short, everyday, themed, longest)]
    assert sizes[0] == 1 and sizes == sorted(sizes) and sizes[3] == len(POSTER_TYPES)
    assert poster_type(short, "Signed: " + ", ".join(["Someone with a long name"] * 40)) > sizes[0]   # room for names


def test_the_poster_prints_on_the_paper_chosen(room, as_user):
    alice, fran = as_user(room.alice), as_user(room.facilitator)
    make_code(fran, alice, room, [("Be kind", None)])
    assert '<body class="code-page" data-paper="a3"' in text(alice.get(code_url(room, "?paper=a3")))
    assert '<body class="code-page" data-hx' in text(alice.get(code_url(room, "?paper=a0")))   # the dialog's paper
    page = text(alice.get(code_url(room)))
    assert 'data-print data-paper="a4"' in page and 'data-print data-paper="a3"' in page
    assert Board.for_group(room.group).phase == "commit"
