"""Commands for hosts: `p2p serve`, `p2p setup-link`, `p2p demo`, `p2p check-content`.

The same commands work as `flask --app app <command>`.
"""

from __future__ import annotations

import ctypes
import secrets
import sqlite3
import sys
import threading
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .backup import (
    BackupToolMissing, DatabaseDamaged, backup_now, backup_suffix, list_backups, restore, restore_pg,
)
from .config import DEFAULTS, instance_folder, standalone_config
from .content import ContentError, load_library
from .db import DatabaseUnavailable, db, describe_url
from .models import FACILITATOR, Group, Membership, OneTimeToken, User
from .netinfo import lan_addresses
from .logs import attach_file
from .web import log


def base_urls(port: int, host: str) -> list[str]:
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


def return_freed_memory() -> None:
    """Each login runs Argon2id with 19 MiB. After freeing a block that size, glibc's malloc raises its mmap
    threshold and serves the next ones from per-thread arenas it never hands back: with 8 server threads the
    server held about 200 MB after a room had logged in (measured by make bench). A fixed threshold (setting it
    also stops the raising) gives every such block back at once: about 57 MB instead. Not glibc: nothing to do."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 1024 * 1024)   # M_MMAP_THRESHOLD = 1 MiB
    except (OSError, AttributeError):
        pass


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
    urls = base_urls(port, host)
    click.echo("Peer 2 Peer is running.")
    click.echo("People on this network can open:")
    for url in urls:
        click.echo(f"    {url}/")
    with db.connection_context():
        if not User.any_facilitator():
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
    return_freed_memory()
    wal_holder = hold_wal_open(app.config["DATABASE"])  # noqa: F841 - kept open while serving
    serve(app, host=host, port=port, threads=app.config["THREADS"], ident="p2p")


@click.command("setup-link")
@with_appcontext
def setup_link_command():
    """Print a fresh one-time link that creates a facilitator account."""
    with db.connection_context():
        link = new_setup_link(base_urls(current_app.config["PORT"], current_app.config["HOST"])[0])
    click.echo(f"This link creates one facilitator account. It works once, for "
               f"{current_app.config['SETUP_LINK_HOURS']} hours:")
    click.echo(f"    {link}")


DEMO_GROUP = "Demo group"
DEMO_PEOPLE = [(FACILITATOR, "Robin (demo)"), ("participant", "Alex (demo)"), ("participant", "Sam (demo)"),
               ("participant", "Jo (demo)")]


def _demo_password() -> str:
    letters = "abcdefghijkmnpqrstuvwxyz"
    return "-".join("".join(secrets.choice(letters) for _ in range(4)) for _ in range(3))


@click.command("demo")
@with_appcontext
def demo_command():
    """Create a demo group with one facilitator and three participants, and print how to log in."""
    with db.connection_context():
        taken = [name for _, name in DEMO_PEOPLE if User.name_taken(name)]
        if taken:
            raise click.ClickException(f"The demo accounts exist already ({', '.join(taken)}). "
                                       "Log in with them, or reset their passwords from the group page.")
        programme = next(iter(current_app.extensions["p2p.content"].programmes))
        rows = []
        with db.atomic():
            accounts = [(role, User.create_account(name, pw := _demo_password(), role=role), pw)
                        for role, name in DEMO_PEOPLE]
            group = Group.create_for(accounts[0][1], current_app.config["JOIN_CODE_DAYS"],
                                     name=DEMO_GROUP, programme=programme)
            for role, user, password in accounts[1:]:
                Membership.join(user, group)
            rows = [(role, user.name, password, group.join_code_display) for role, user, password in accounts]
    click.echo(f"{'role':<13}{'name':<15}{'password':<17}join code")
    for role, name, password, code in rows:
        click.echo(f"{role:<13}{name:<15}{password:<17}{code}")


@click.command("check-content")
@click.option("--content-dir", type=click.Path(path_type=Path), default=DEFAULTS["CONTENT_DIR"],
              show_default=True)
def check_content_command(content_dir: Path):
    """Validate the programme files in content/ and say what they hold."""
    try:
        library = load_library(content_dir)
    except ContentError as error:
        raise click.ClickException(str(error)) from None
    for programme in library.programmes.values():
        sessions = sum(len(m.sessions) for m in programme.modules)
        exercises = sum(len(s.exercises) for m in programme.modules for s in m.sessions)
        click.echo(f"{programme.id}: {programme.title} — {len(programme.modules)} modules, "
                   f"{sessions} sessions, {exercises} exercises")
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
    instance = instance_folder()
    config = standalone_config(instance)
    if not yes:
        click.confirm(f"Replace {where_data_is(config)} with {backup_file}? Stop the server first.", abort=True)
    try:
        if config["DATABASE_URL"]:
            aside = restore_pg(backup_file, config["DATABASE_URL"], instance)
        else:
            aside = restore(backup_file, Path(config["DATABASE"]))
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    attach_file(instance)   # no app is loaded here (the database may be damaged): log to its file all the same
    log.info("backup-restored file=%s aside=%s", backup_file.name, aside.name)
    click.echo(f"Restored {backup_file}. The database it replaced is in {aside}. Everyone will need to log in again.")


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
    for command in (*COMMANDS, restore_command):
        app.cli.add_command(command)


def main(args: list[str] | None = None) -> None:
    from . import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False,
                     help="Peer 2 Peer: serve the app and look after it.")
    # These are added to the group itself, so they run even when the app cannot load: check-content with broken
    # content, restore with a damaged database.
    cli.add_command(check_content_command)
    cli.add_command(restore_command)
    try:
        cli.main(args=args, prog_name="p2p")
    except (DatabaseDamaged, DatabaseUnavailable) as problem:
        click.echo(str(problem), err=True)
        sys.exit(1)
