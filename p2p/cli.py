"""Commands for hosts: `p2p serve`, `p2p setup-link`, `p2p demo`, `p2p check-content`, and for looking after the
data: `p2p backup`, `p2p restore`, `p2p upgrade`, `p2p new-database`.

The same commands work as `flask --app app <command>`.
"""

from __future__ import annotations

import gc
import sqlite3
import sys
import threading
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import demo, memory
from .backup import (
    BackupToolMissing,
    DatabaseDamaged,
    WrongUser,
    backup_now,
    backup_suffix,
    list_backups,
    move_aside,
    owner_problem,
    processes_using,
    restore,
    restore_pg,
)
from .config import DEFAULTS, BadConfig, BadSecretKey, instance_folder, standalone_config
from .content import ContentError, host_content_folder, load_library
from .db import DatabaseUnavailable, db, describe_url
from .logs import attach_file
from .models import DemoPart, OneTimeToken
from .models.schema import UpgradeRefused, file_problem, start_new
from .netinfo import lan_addresses
from .web import log


def base_urls(port: int, host: str, public_url: str = "") -> list[str]:
    if public_url:   # behind a proxy, the address people use is not this machine's
        return [public_url.rstrip("/")]
    suffix = "" if port == 80 else f":{port}"
    if host in ("0.0.0.0", "::", ""):
        hosts = list(lan_addresses()) or ["localhost"]
    else:
        hosts = [host]
    return [f"http://{h}{suffix}" for h in hosts]


def where_data_is(config) -> str:
    return describe_url(config["DATABASE_URL"]) if config["DATABASE_URL"] else config["DATABASE"]


def new_setup_link(base: str) -> str:
    token = OneTimeToken.issue(OneTimeToken.SETUP, current_app.config["SETUP_LINK_HOURS"])
    return f"{base}/setup/{token}"


def hold_wal_open(database: str) -> sqlite3.Connection | None:
    """One idle connection for the server's lifetime. Requests each open and close their own; when the one
    closing is the last open, SQLite checkpoints the WAL into the database and deletes it (fsyncs with
    synchronous=FULL, then the next request creates the WAL again). Between a room's polls that happened on
    most requests. Held open, the WAL stays and is checkpointed every 1,000 pages as usual; explicit
    checkpoints (after deleting a workbook) still run. PostgreSQL: nothing to do."""
    if not Path(database).exists():
        return None
    connection = sqlite3.connect(database, check_same_thread=False)
    connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()   # opens the WAL, then reads nothing
    return connection


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: all interfaces, 0.0.0.0).")
@click.option("--port", default=None, type=int, help="Port (default 5000, or P2P_PORT).")
@with_appcontext
def serve_command(host: str | None, port: int | None):
    """Serve the app to the local network with waitress."""
    from waitress import serve

    app = current_app._get_current_object()
    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    urls = base_urls(port, host, app.config["PUBLIC_URL"])
    click.echo("Peer 2 Peer is running.")
    click.echo("People on this network can open:")
    for url in urls:
        click.echo(f"    {url}/")
    with db.connection_context():
        if not DemoPart.any_real_facilitator():   # the demo's facilitator is not the host's
            hours = app.config["SETUP_LINK_HOURS"]
            click.echo("")
            click.echo(f"No facilitator account yet. Open this link to create the first one "
                       f"(it works once, for {hours} hours):")
            click.echo(f"    {new_setup_link(urls[0])}")
    click.echo("")
    if app.config["BACKUP_EVERY_HOURS"]:
        backup_every(app, app.config["BACKUP_EVERY_HOURS"])
    click.echo(f"Data is kept in {where_data_is(app.config)}; backups in {Path(app.instance_path) / 'backups'}.")
    click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    memory.fixed_mmap_threshold()
    wal_holder = hold_wal_open(app.config["DATABASE"])  # noqa: F841 - kept open while serving
    gc.freeze()   # what start-up made stays: Python's full collections no longer walk it (below)
    memory.hand_back()   # what start-up freed (reading the content, the upgrade's checks): ~2 MB
    serve(app, host=host, port=port, **waitress_settings(app.config))


def waitress_settings(config) -> dict:
    """waitress's own guards, which act before Flask sees a request: a request body is read (to disk, beyond
    a buffer) up to waitress's limit, 1 GB by default, before Flask's MAX_CONTENT_LENGTH could refuse it; at its
    default 100 connections, 100 slow clients kept everyone else waiting. And whom it believes about
    X-Forwarded-*: without being told, it drops those headers, so behind Caddy every link said http:// and
    everyone seemed to come from 127.0.0.1 (sharing one throttle)."""
    settings = {"threads": config["THREADS"] + config["LIVE_STREAMS"], "ident": "p2p",
                # Reads a little ahead on each connection: a screen whose stream has gone is noticed (p2p/stream.py).
                "channel_request_lookahead": 1,
                # What a connection may hold unsent before its thread waits (16 MB by default). It is also how much
                # a buffer holds before waitress starts a new one, and it keeps what it sent until then: each live
                # screen's stream held up to this much of what it had sent, 160 of them ~50 MB at 256 KB (560 MB at
                # 16 MB: TOOLING.md). An answer of one piece (a page, a file) is handed over whole whatever this is.
                "outbuf_high_watermark": 16 * 1024,
                "max_request_body_size": config["MAX_CONTENT_LENGTH"] + 64 * 1024,   # headers and form fields
                "connection_limit": config["CONNECTION_LIMIT"], "channel_timeout": config["CHANNEL_TIMEOUT"]}
    if config["TRUSTED_PROXIES"]:
        settings.update(trusted_proxy=config["TRUSTED_PROXY"], trusted_proxy_count=config["TRUSTED_PROXIES"],
                        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
                        clear_untrusted_proxy_headers=True)
    return settings


@click.command("setup-link")
@click.option("--url", default=None, help="The address people open, e.g. https://p2p.example.org (default: "
              "PUBLIC_URL, else this machine's address on the network).")
@with_appcontext
def setup_link_command(url: str | None):
    """Print a fresh one-time link that creates a facilitator account."""
    with db.connection_context():
        config = current_app.config
        link = new_setup_link(base_urls(config["PORT"], config["HOST"], url or config["PUBLIC_URL"])[0])
    click.echo(f"This link creates one facilitator account. It works once, for "
               f"{current_app.config['SETUP_LINK_HOURS']} hours:")
    click.echo(f"    {link}")


@click.command("demo")
@click.option("--remove", is_flag=True, help="Remove the demo: its accounts, its group and everything in them. "
              "Nothing else is touched, backups included.")
@click.option("--empty", is_flag=True, help="The demo's people and group with nothing written or agreed yet, to try "
              "each step from the start.")
@with_appcontext
def demo_command(remove: bool, empty: bool):
    """Make a demo group that shows the app (a facilitator, three participants, their workbooks, the code of
    behaviour board), and print how to log in; --remove takes it all away."""
    with db.connection_context():
        if remove:
            _remove_demo()
            return
        if DemoPart.exists():
            names = ", ".join(user.name for user in DemoPart.accounts())
            _say(f"The demo is here already ({names}): their passwords were printed when it was made. To make it "
                 "again, with new passwords, remove it first, then run p2p demo again:")
            click.echo("    p2p demo --remove")
            return
        made = demo.make(current_app.extensions["p2p.content"], current_app.config["JOIN_CODE_DAYS"], filled=not empty)
    log.info("demo-made group=%s filled=%s", made.group.id, not empty)
    width = max(15, *(len(person.user.name) + 2 for person in made.people))
    click.echo(f"{'role':<13}{'name':<{width}}{'password':<17}join code")
    for person in made.people:
        click.echo(f"{person.role:<13}{person.user.name:<{width}}{person.password:<17}{made.group.join_code_display}")
    click.echo("")
    if empty:
        _say(f"{demo.GROUP_NAME} is empty: nothing written, proposed or agreed yet.")
    else:
        _say(f"{demo.GROUP_NAME} shows the app at work: the participants' workbooks have sample answers (a ladder of "
             "change with a snapshot, yes/no, the spectrum, values, strengths); the code of behaviour has its "
             "version 1, and the group is responding in a re-affirm round; the session now is Session 2; the "
             "facilitator has recorded two between-sessions notes. Every word in it is a sample.")
    click.echo("To take it all away:")
    click.echo("    p2p demo --remove")


def _remove_demo() -> None:
    removed = demo.remove()
    if removed is None:
        click.echo("There is no demo to remove. Nothing was changed.")
        return
    log.info("demo-removed groups=%s accounts=%s", len(removed.groups), len(removed.accounts))
    plural = lambda count, word: f"{count} {word}{'' if count == 1 else 's'}"   # noqa: E731
    if removed.groups:
        _say(f"Removed the group {', '.join(removed.groups)} with everything in it: its code of behaviour "
             f"({plural(removed.behaviours, 'behaviour')}, {plural(removed.versions, 'version')} of the code), its "
             "sessions and its between-sessions records.")
    _say(f"Removed the demo's accounts and their workbooks ({plural(removed.answers, 'answer')}, "
         f"{plural(removed.snapshots, 'ladder snapshot')}): {', '.join(removed.accounts)}.")
    if removed.elsewhere:
        _say(f"Some of them had also joined {', '.join(removed.elsewhere)} with a join code: they are no longer "
             "members there. (Responses they gave on a board there stay counted: nobody can tell which were theirs.)")
    if removed.others:
        _say(f"People who had joined the demo group with accounts of their own keep their accounts: "
             f"{', '.join(removed.others)}.")
    _say("Nothing else was changed. Backups made while the demo was here still hold it, until they age out.")


def _say(text: str) -> None:
    click.echo(click.wrap_text(text, 100))


@click.command("check-content")
@click.option("--content-dir", type=click.Path(path_type=Path), default=DEFAULTS["CONTENT_DIR"],
              show_default=True)
@click.option("--instance-content-dir", type=click.Path(path_type=Path), default=None,
              help="The host's own programme files [default: content/ in the instance folder].")
def check_content_command(content_dir: Path, instance_content_dir: Path | None):
    """Validate the programme files in content/ and instance/content/, and say what they hold."""
    own_folder = instance_content_dir or host_content_folder(instance_folder())
    try:
        library = load_library(content_dir, own_folder)
    except ContentError as error:
        raise click.ClickException(str(error)) from None
    for programme in library.programmes.values():
        sessions = sum(len(m.sessions) for m in programme.modules)
        exercises = sum(len(s.exercises) for m in programme.modules for s in m.sessions)
        click.echo(f"{programme.id}: {programme.title} — {len(programme.modules)} modules, "
                   f"{sessions} sessions, {exercises} exercises")
    if library.host_files:
        click.echo(f"Your own files, from {own_folder}:")
        for own in library.host_files:
            instead = f"in place of {own.replaces}" if own.replaces else "added"
            click.echo(f"    {own.path.relative_to(own_folder)} ({instead})")
    else:
        click.echo(f"No files of your own in {own_folder}: the programme is as shipped.")
    if library.notices:
        click.echo("Worth rewording for a screen (the app starts all the same):")
        for notice in library.notices:
            click.echo(f"    {notice}")
    click.echo("Content is valid.")


@click.command("backup")
@with_appcontext
def backup_command():
    """Make a backup now: online, consistent and checked, in instance/backups/."""
    try:
        made = backup_now(current_app.config, Path(current_app.instance_path) / "backups", "manual")
    except (BackupToolMissing, RuntimeError) as error:
        log.warning("backup-failed")
        raise click.ClickException(str(error)) from None
    log.info("backup-made file=%s", made.name)
    click.echo(f"Backup made and checked: {made}")


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(backup_file: Path, yes: bool):
    """Put a backup in place of the database (stop the server first). The current database is kept aside,
    and everyone is logged out."""
    instance = _instance_of_this_user()
    config = standalone_config(instance)
    _refuse_while_served(config)
    if not yes:
        click.confirm(f"Replace {where_data_is(config)} with {backup_file}? Stop the server first.", abort=True)
    try:
        if config["DATABASE_URL"]:
            aside = restore_pg(backup_file, config["DATABASE_URL"], instance)
        else:
            aside = restore(backup_file, Path(config["DATABASE"]), file_problem)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    attach_file(instance)   # no app is loaded here (the database may be damaged): log to its file all the same
    log.info("backup-restored file=%s aside=%s", backup_file.name, aside.name if aside else "-")
    kept = f"The database it replaced is in {aside}." if aside else "There was no database in its place to keep."
    click.echo(f"Restored {backup_file}. {kept} Everyone will need to log in again.")


def _instance_of_this_user() -> Path:
    """The instance folder, for a command that runs without the app, once it is sure it runs as the folder's
    owner: as another user it could not read the settings (0600), or would write files the service cannot use."""
    instance = instance_folder()
    wrong_user = owner_problem(instance)
    if wrong_user:
        raise click.ClickException(f"{wrong_user} Nothing was changed.")
    return instance


def _refuse_while_served(config) -> None:
    """The schema must not change under a server that is still running the old code."""
    if config["DATABASE_URL"]:
        return   # on another machine, maybe: make update stops the service first
    running = processes_using(Path(config["DATABASE"]))
    if running:
        raise click.ClickException(
            f"The app is still running (process {', '.join(map(str, running))} has the database open). Stop it "
            "first (sudo systemctl stop p2p, or Ctrl+C where it runs), then try again. Nothing was changed.")


@click.command("upgrade")
def upgrade_command():
    """Back up the database and bring its schema up to date (make update runs this; stop the server first)."""
    from . import create_app

    config = standalone_config(_instance_of_this_user())
    _refuse_while_served(config)
    app = create_app()   # checks the database; before an upgrade, backs it up
    done = app.extensions["p2p.upgrade"]
    if done["from"] is not None:
        click.echo(f"The database was at schema version {done['from']} and is now at {done['to']}. "
                   f"A backup from before: {done['backup']}")
        return
    made = backup_now(app.config, Path(app.instance_path) / "backups", "before-update")
    log.info("backup-made reason=before-update file=%s", made.name)
    click.echo(f"The database is up to date (schema version {done['to']}). A backup from before the update: {made}")


@click.command("new-database")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def new_database_command(yes: bool):
    """Start over with a new, empty database, on purpose. What is there now is kept aside, never deleted."""
    config = standalone_config(_instance_of_this_user())
    _refuse_while_served(config)
    wrong_user = owner_problem(Path(config["DATABASE"]))   # it may live outside instance/ (DATABASE)
    if wrong_user:
        raise click.ClickException(f"{wrong_user} Nothing was changed.")
    if not yes:
        click.confirm(f"Start over with a new, empty database in {where_data_is(config)}? Everyone's accounts, "
                      "groups and workbooks stay in the old one, which is kept aside.", abort=True)
    aside = None
    if not config["DATABASE_URL"]:
        database = Path(config["DATABASE"])
        if database.exists() or database.with_name(database.name + "-wal").exists():
            aside = move_aside(database, database.parent / f"replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        start_new(config)
    except (DatabaseDamaged, DatabaseUnavailable) as problem:
        raise click.ClickException(str(problem)) from None
    log.info("database-created aside=%s", aside.name if aside else "-")
    kept = f" The old one is in {aside}." if aside else ""
    click.echo(f"A new, empty database is ready.{kept} Start the app: it prints a link to create the first "
               "facilitator account.")


def backup_every(app: Flask, hours: float) -> threading.Thread:
    """The server's own backups: one now if the newest is older than `hours`, then one every `hours`."""
    def loop():
        folder = Path(app.instance_path) / "backups"
        while True:
            newest = list_backups(folder, backup_suffix(app.config))[:1]
            age = time.time() - newest[0].stat().st_mtime if newest else float("inf")
            if age >= hours * 3600:
                try:
                    made = backup_now(app.config, folder, "daily")
                    log.info("backup-made file=%s", made.name)
                except Exception:  # noqa: BLE001 - a failed backup is logged and tried again; serving goes on
                    log.exception("backup-failed")
                age = 0
            time.sleep(max(60.0, hours * 3600 - age))

    thread = threading.Thread(target=loop, name="p2p-backups", daemon=True)
    thread.start()
    return thread


COMMANDS = (serve_command, setup_link_command, demo_command, check_content_command, backup_command)


def init_app(app: Flask) -> None:
    for command in (*COMMANDS, restore_command, new_database_command):
        app.cli.add_command(command)


# The exit status when only the host can help (a damaged or missing database, a refused upgrade, the wrong user):
# deploy/p2p.service does not restart on it, so the journal ends with the message saying what to do.
NEEDS_THE_HOST = 3


def main(args: list[str] | None = None) -> None:
    from . import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                     help="Peer 2 Peer: serve the app and look after it.")
    # These are added to the group itself, so they run even when the app cannot load: check-content with broken
    # content, restore and new-database with a damaged or missing database; upgrade loads the app itself.
    for command in (check_content_command, restore_command, upgrade_command, new_database_command):
        cli.add_command(command)
    try:
        cli.main(args=args, prog_name="p2p")
    except DatabaseUnavailable as problem:   # the PostgreSQL server may be starting: systemd tries again
        click.echo(str(problem), err=True)
        sys.exit(1)
    except (DatabaseDamaged, UpgradeRefused, WrongUser, BadSecretKey, BadConfig) as problem:
        click.echo(str(problem), err=True)
        sys.exit(NEEDS_THE_HOST)
