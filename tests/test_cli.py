"""The host's commands: serve's start-up message, setup-link, demo, check-content."""

import re

import pytest
from click.testing import CliRunner
from conftest import login

from p2p import cli
from p2p.models import Group, Membership, User


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
    assert served == {"host": "0.0.0.0", "port": 5055, "threads": 8, "ident": "p2p", "connection_limit": 500,
                      "channel_timeout": 30, "max_request_body_size": 1024 * 1024 + 64 * 1024}
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


def test_demo_prints_working_accounts_and_the_join_code(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split() == ["role", "name", "password", "join", "code"]
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]
    assert [r[0] for r in rows] == ["facilitator", "participant", "participant", "participant"]
    group = Group.get(Group.name == "Demo group")
    for role, name, password, code in rows:
        assert code == group.join_code_display
        login(app.test_client(), name, password)
        assert Membership.of(User.by_name(name), group).role == role
    again = runner.invoke(args=["demo"])
    assert again.exit_code != 0 and "exist already" in again.output


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
