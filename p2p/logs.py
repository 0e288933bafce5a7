"""The activity log: who did what and when (sign-ins, denials, throttling, exports, deletions, backups).

Lines are key=value pairs with ids only, never workbook or proposal text, passwords, cookies or codes: callers
pass ids, and this module adds the time, the event and, for a denial, the path. Rotated so a Pi's card does not fill.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import Flask, request
from flask_login import current_user

log = logging.getLogger("p2p")


def init_app(app: Flask) -> None:
    # One file per app: a new app (tests make many) replaces the handler of the one before.
    for handler in [h for h in log.handlers if isinstance(h, RotatingFileHandler)]:
        log.removeHandler(handler)
        handler.close()
    folder = Path(app.instance_path) / "logs"
    folder.mkdir(exist_ok=True)
    handler = RotatingFileHandler(folder / "p2p.log", maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    @app.after_request
    def _log_denials(response):
        # A 404 for someone signed in is how the app says "not yours": worth a line, with ids only.
        if response.status_code in (401, 404, 429) and request.endpoint != "static":
            who = current_user.id if current_user.is_authenticated else "-"
            log.info("denied status=%s user=%s endpoint=%s", response.status_code, who, request.endpoint)
        return response
