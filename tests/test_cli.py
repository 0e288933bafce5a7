"""The host's commands: serve's start-up message, setup-link, demo, check-content."""

import re

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, login, post, text

from p2p import cli
from p2p.answers import Workbook
from p2p.models import Answer, Board, DemoPart, Group, Membership, Proposal, User


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_serve_prints_lan_urls_and_a_setup_link_while_no_facilitator_exists(app, runner, monkeypatch):
    served = {}
    monkeypatch.setattr("waitress.serve", lambda wsgi, **kw: served.update(kw))
    monkeypatch.setattr(cli, "lan_addresses", lambda: ("192.168.1.20",))
    out = runner.invoke(args=["serve", "--port", "5055"]).output
    assert "http://192.168.1.20:5055/" in out
    link = re.search(r"(http://192\.168\.1\.20:5055/setup/\S+)", out).group(1)
    # Threads for requests (8) and for the live screens' streams (200), which never take the requests' own.
    assert served == {"host": "0.0.0.0", "port": 5055, "threads": 208, "ident": "p2p", "connection_limit": 500,
                      "channel_timeout": 30, "max_request_body_size": 1024 * 1024 + 64 * 1024,
                      "channel_request_lookahead": 1, "outbuf_high_watermark": 16 * 1024}
    # The printed link works.
    client = app.test_client()
    assert "Create your facilitator account" in client.get(link.split(":5055", 1)[1]).get_data(as_text=True)


def test_serve_prints_no_setup_link_once_a_facilitator_exists(app, runner, room, monkeypatch):
    monkeypatch.setattr("waitress.serve", lambda wsgi, **kw: None)
    out = runner.invoke(args=["serve"]).output
    assert "Peer 2 Peer is running" in out and "/setup/" not in out


def test_serve_says_localhost_when_no_network_is_up(app, runner, monkeypatch):
    monkeypatch.setattr("waitress.serve", lambda wsgi, **kw: None)
    monkeypatch.setattr(cli, "lan_addresses", lambda: ())
    assert "http://localhost:5000/" in runner.invoke(args=["serve"]).output


def test_setup_link_prints_a_fresh_working_link(app, runner, room):
    out = runner.invoke(args=["setup-link"]).output
    path = "/setup/" + re.search(r"/setup/(\S+)", out).group(1)
    assert app.test_client().get(path).status_code == 200


def test_setup_link_prints_the_public_address_behind_a_proxy(app, runner, room):
    assert "    https://p2p.example.org/setup/" in runner.invoke(args=["setup-link", "--url",
                                                                 "https://p2p.example.org/"]).output
    app.config["PUBLIC_URL"] = "https://ours.example.org"
    assert "    https://ours.example.org/setup/" in runner.invoke(args=["setup-link"]).output


def words(response) -> str:
    """The page's words as a person reads them, without the markup between them."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def demo_accounts(output: str) -> list[list[str]]:
    """The table `p2p demo` prints (role, name, password, join code), up to the blank line after it."""
    lines = output.splitlines()
    assert lines[0].split() == ["role", "name", "password", "join", "code"]
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:lines.index("")]]


def test_demo_fills_a_group_that_shows_the_app_and_says_so_when_run_again(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    rows = demo_accounts(result.output)
    assert [(r[0], r[1]) for r in rows] == [("facilitator", "Robin (demo)"), ("participant", "Alex (demo)"),
                                            ("participant", "Sam (demo)"), ("participant", "Jo (demo)")]
    assert "p2p demo --remove" in result.output
    group = Group.get(Group.name == "Demo group")
    people = {}
    for role, name, password, code in rows:
        assert code == group.join_code_display
        people[name.split()[0]] = client = app.test_client()
        login(client, name, password)
        assert Membership.of(User.by_name(name), group).role == role
    alex, jo, robin = people["Alex"], people["Jo"], people["Robin"]
    g = f"/groups/{group.id}"

    # Alex's workbook, sealed with Alex's key and read back through the app: text, the ladder and its snapshot, yes/no,
    # the spectrum, values, strengths; one answer marked to discuss, one shared with the facilitators.
    assert "it's a snapshot, not a score." in words(alex.get(f"{g}/modules/preparing/sessions/personal-stocktake"))
    password = next(row[2] for row in rows if row[1] == "Alex (demo)")
    owner = User.by_name("Alex (demo)")
    workbook = Workbook(owner, owner.unlock_with_password(password))
    answers = {place.removeprefix("p2p/"): saved.value for place, saved in workbook.all().items()}
    ladder = "preparing/personal-stocktake/ladder-of-change"
    assert answers[f"{ladder}/statements/marked"] == "5,6,7"
    assert [sorted(s.marked) for s in workbook.snapshots(f"p2p/{ladder}")] == [[3, 4, 5], [5, 6, 7]]   # what moved
    assert answers["preparing/personal-recovery-story/language-and-impact/unlikely-to-trigger-others"] == "unsure"
    assert answers["module-1/session-2/helper-or-peer-relationship/position"] == "4"
    assert answers["module-1/session-3/top-5-values/1/name"] == "Kindness"
    assert len(answers["module-1/session-4/strengths/choices"].split(",")) == 8
    assert "Empathy" in words(alex.get("/workbook/print"))
    assert "How much of my story to share" in words(alex.get("/workbook/to-discuss"))
    assert all(b"a snapshot, not a score" not in bytes(answer.sealed) for answer in Answer.select())

    # The group is in Session 2, re-affirming version 1 of its code; two of three have committed, Jo has yet to.
    page = words(alex.get(g))
    assert "Now: Session 2" in page and "You agreed to finish your reflection by" in page
    assert "Please read it, and commit to it" in words(jo.get(g))
    board = words(alex.get(f"{g}/board"))
    assert "Now: Re-affirm our code" in board and "Still agree" in board
    assert "In our code, version 1" in board and "New this round" in board
    assert "Proposed by 2 people" in board and "Proposed by Jo (demo)" in board and "Your proposal" in board
    assert "Last round: Agree" in words(robin.get(f"{g}/board"))   # Session 1's counts, kept
    code = words(alex.get(f"{g}/code"))
    assert "version 1" in code and "2 people have committed to it." in code
    facilitator = words(robin.get(g))
    assert "I know what it's like to sit in a waiting room" in facilitator   # shared with the facilitators
    assert "This is the demo group" in facilitator

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "The demo is here already" in again.output and "p2p demo --remove" in again.output
    assert User.select().count() == 4 and Group.select().count() == 1


def test_demo_remove_takes_away_only_what_the_demo_made(app, runner, room, tmp_path):
    # Someone real chose the name "Alex (demo)" first: the demo's Alex gets another name, and the real one stays.
    real_alex = User.create_account("Alex (demo)", PASSWORD)
    Membership.join(real_alex, room.group)
    backup = runner.invoke(args=["backup"])
    assert backup.exit_code == 0, backup.output
    backups = {path: path.read_bytes() for path in (tmp_path / "instance" / "backups").iterdir()}
    made = runner.invoke(args=["demo"])
    assert "Alex (demo 2)" in [row[1] for row in demo_accounts(made.output)]
    demo_group = Group.get(Group.name == "Demo group")
    Membership.join(room.alice, demo_group)   # a real person tried the demo with her own account
    before = {user.name for user in User.select()}

    removed = runner.invoke(args=["demo", "--remove"])
    assert removed.exit_code == 0, removed.output
    said = " ".join(removed.output.split())
    assert "Removed the group Demo group" in said
    assert "Robin (demo), Alex (demo 2), Sam (demo), Jo (demo)" in said
    assert "accounts of their own keep their accounts: Alice" in said
    assert {user.name for user in User.select()} == before - {"Robin (demo)", "Alex (demo 2)", "Sam (demo)", "Jo (demo)"}
    assert User.by_name("Alex (demo)") and Membership.of(real_alex, room.group)
    assert Group.get_or_none(Group.id == demo_group.id) is None and not DemoPart.exists()
    assert [g.name for g in Group.select().order_by(Group.id)] == ["Tuesday group", "Other group"]
    assert Membership.of(room.alice, room.group) and Membership.of(room.bob, room.group)
    assert Answer.select().count() == 0 and Proposal.select().count() == 0
    assert {path: path.read_bytes() for path in (tmp_path / "instance" / "backups").iterdir()} == backups

    assert "There is no demo to remove" in runner.invoke(args=["demo", "--remove"]).output
    assert demo_accounts(runner.invoke(args=["demo", "--empty"]).output)[1][1] == "Alex (demo 2)"
    assert Answer.select().count() == 0 and Board.select().count() == 0   # --empty: nothing in it yet


def test_the_demo_s_accounts_stay_out_of_real_groups(app, runner, room, as_user, monkeypatch):
    rows = demo_accounts(runner.invoke(args=["demo", "--empty"]).output)
    robin, alex = User.by_name("Robin (demo)"), User.by_name("Alex (demo)")
    fran = as_user(room.facilitator)
    page = words(fran.get(f"/groups/{room.group.id}"))
    assert "Oona" in page and "Robin (demo)" not in page      # the co-facilitator chooser offers real accounts only
    post(fran, f"/groups/{room.group.id}/facilitators", {"user_id": robin.id}, token_from=f"/groups/{room.group.id}")
    assert Membership.of(robin, room.group) is None
    # Someone who logs in as a demo participant can still join a real group with its code (a deliberate act, and the
    # group's own facilitator sees it); removing the demo takes that membership away too, and says so.
    client = app.test_client()
    login(client, alex.name, rows[1][2])
    post(client, f"/join/{room.group.join_code}")
    assert Membership.of(alex, room.group)
    said = " ".join(runner.invoke(args=["demo", "--remove"]).output.split())
    assert "had also joined Tuesday group with a join code" in said
    assert [m.user.name for m in room.group.memberships()] == ["Alice", "Bob", "Fran"]
    # The demo's facilitator is not the host's: until a real one exists, the server offers its setup link.
    runner.invoke(args=["demo", "--empty"])
    monkeypatch.setattr("waitress.serve", lambda wsgi, **kw: None)
    User.delete().where(User.id.in_([room.facilitator.id, room.other_facilitator.id])).execute()
    assert "/setup/" in runner.invoke(args=["serve"]).output


def test_check_content_reports_what_it_holds():
    result = CliRunner().invoke(cli.check_content_command, [])
    assert result.exit_code == 0
    assert "Content is valid." in result.output and "p2p: Peer 2 Peer" in result.output


def test_check_content_names_the_broken_file(tmp_path):
    (tmp_path / "prog").mkdir()
    (tmp_path / "prog" / "programme.toml").write_text('title = "T"\n')
    result = CliRunner().invoke(cli.check_content_command, ["--content-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'prog' / 'programme.toml'}: summary: is missing" in result.output


def test_the_p2p_command_runs_check_content_even_when_content_is_broken(tmp_path, monkeypatch):
    monkeypatch.setenv("P2P_CONTENT_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check-content", "--content-dir", str(tmp_path)])
    assert exit_.value.code == 1


def test_the_machine_s_addresses_are_read_once_in_a_while_not_at_each_asking(monkeypatch):
    """The projector's join address asks for them at each change sent to the room's screen: each reading starts a
    process."""
    from p2p import netinfo
    runs = []
    monkeypatch.setattr(netinfo, "_kept", None)
    monkeypatch.setattr(netinfo.subprocess, "run", lambda *args, **kwargs: runs.append(args) or
                        type("Done", (), {"stdout": "192.168.1.20 fe80::1\n"})())
    assert [netinfo.lan_addresses() for _ in range(5)] == [("192.168.1.20",)] * 5 and len(runs) == 1
    monkeypatch.setattr(netinfo, "KEEP_SECONDS", 0)
    assert netinfo.lan_addresses() == ("192.168.1.20",) and len(runs) == 2   # later: read again
