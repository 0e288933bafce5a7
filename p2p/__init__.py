"""Peer 2 Peer: create_app() builds the whole app. Read this file first; each feature is a blueprint."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    activity,
    auth,
    board,
    cli,
    db,
    delivery,
    follow_up,
    groups,
    live,
    logs,
    models,
    pages,
    passwords,
    programme,
    sessions,
    stream,
    web,
    workbook,
)
from .backup import WrongUser, owner_problem
from .config import PROJECT_ROOT, ensure_instance, instance_folder, keep_private, load_config
from .content import host_content_folder, load_library
from .models import schema


def create_app(test_config: dict | None = None, instance_path: str | Path | None = None) -> Flask:
    # templates/, static/ and instance/ sit beside the package (the design card's layout), so name them:
    # Flask would otherwise look inside p2p/, and for an installed package under sys.prefix.
    instance = instance_folder(instance_path, test_config)
    # Run as the instance's owner only: files written as anyone else (root, through sudo) would lock the
    # service out of its own database.
    wrong_user = owner_problem(instance) if instance.exists() else None
    if wrong_user:
        raise WrongUser(wrong_user)
    ensure_instance(instance)
    app = Flask(
        __name__,
        instance_path=str(instance),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_config(app.config, instance, test_config)
    keep_private(instance, Path(app.config["DATABASE"]))

    # A broken content file (shipped, or the host's own in instance/content/) stops start-up here, with the file
    # and place named (ContentError).
    app.extensions["p2p.content"] = load_library(Path(app.config["CONTENT_DIR"]), host_content_folder(instance))

    passwords.configure(app.config["ARGON2_MEMORY_KIB"], app.config["ARGON2_TIME_COST"])
    models.Throttle.configure(app.config["SECRET_KEY"])
    logs.init_app(app)
    schema.bring_up_to_date(app)
    db.init_app(app)
    activity.init_app(app)
    web.init_app(app)
    live.init_app(app)
    delivery.init_app(app)
    for blueprint in (pages.bp, auth.bp, groups.bp, programme.bp, workbook.bp, board.bp, sessions.bp, follow_up.bp):
        app.register_blueprint(blueprint)
    stream.init_app(app)
    cli.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        # Believe X-Forwarded-For/-Proto/-Host only from the configured number of proxies in front (Caddy on
        # a VPS); with none configured, anyone on the LAN could claim to be "https" or another address.
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app
