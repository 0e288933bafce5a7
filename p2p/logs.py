"""The activity log: who did what and when (sign-ins, denials, throttling, exports, deletions, backups).

One line per event, in logfmt: `time=2026-11-22T10:49:47.123Z level=info event=sign-in user=3`. Callers write
`log.info("sign-in user=%s", user.id)`: the first word is the event, the rest are key=value pairs with ids only,
never workbook or proposal text, passwords, cookies or codes. The formatter quotes and escapes each value on its
own (a value cannot add a key or a line), blanks the value of any key that names a secret, and writes an error
as its type and where it happened, without its message (which may quote what someone typed).

logfmt rather than JSON lines: the call sites already read as `event key=value`; a host on a Pi reads the
file with less and grep; and the usual log tools (lnav, Loki, Vector) parse it. Rotated at 1 MB, 5 kept, so a
Pi's card does not fill.
"""

from __future__ import annotations

import logging
import re
import traceback
from datetime import datetime, timezone
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import Flask, request
from flask_login import current_user

log = logging.getLogger("p2p")

# A key with one of these words in it never shows its value, whatever a caller passes.
SECRET_WORDS = ("password", "code", "token", "cookie", "secret", "text", "value", "answer", "name")
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifg]")
BARE = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def quote(value: object) -> str:
    """A value as logfmt writes it: bare when it is safe, else in double quotes with escapes."""
    text = str(value)
    if text and BARE.fullmatch(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in escaped) + '"'


def _is_secret(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in SECRET_WORDS)


def fields(record: logging.LogRecord) -> tuple[str, list[tuple[str, str | None]]]:
    """The event and its (key, value) pairs from a call like log.info("event key=%s flag", value). Keys come
    from the caller's words only; each placeholder is filled on its own, so an argument is only ever a value."""
    words = str(record.msg).split()
    args = list(record.args) if isinstance(record.args, tuple) else ([record.args] if record.args else [])
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        key, eq, template = word.partition("=")
        if not eq:
            key, template = ("arg", word) if PLACEHOLDER.search(word) else (key, None)
        wanted = len(PLACEHOLDER.findall(template or ""))
        mine, args = args[:wanted], args[wanted:]
        try:
            value = template % tuple(mine) if wanted else template
        except (TypeError, ValueError):
            value = template
        pairs.append((key.replace("%%", "%"), value))
    event = pairs.pop(0)[0] if pairs and pairs[0][1] is None else "message"
    for extra in args:   # more arguments than placeholders: kept as values, never dropped silently
        pairs.append(("arg", str(extra)))
    return event, pairs


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event, pairs = fields(record)
        moment = datetime.fromtimestamp(record.created, timezone.utc)
        parts = [f"time={moment:%Y-%m-%dT%H:%M:%S}.{int(record.msecs):03d}Z",
                 f"level={record.levelname.lower()}", f"event={quote(event)}"]
        for key, value in pairs:
            if not BARE.fullmatch(key):
                key = "field"
            if value is None:
                parts.append(key)                        # a flag, such as new-account
            else:
                parts.append(f"{key}={'[redacted]' if _is_secret(key) else quote(value)}")
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            # (where, without the source lines: reading them kept every file named in a traceback in memory)
            frames = traceback.StackSummary.extract(traceback.walk_tb(tb), lookup_lines=False)[-3:]
            parts.append(f"error={quote(kind.__name__)}")
            parts.append("at=" + quote(" < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))))
        return " ".join(parts)


def attach_file(instance_path: str | Path) -> RotatingFileHandler:
    """Log to instance/logs/p2p.log. One file per process: a new app (tests make many) replaces the last."""
    for handler in [h for h in log.handlers if isinstance(h, RotatingFileHandler)]:
        log.removeHandler(handler)
        handler.close()
    folder = Path(instance_path) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(folder / "p2p.log", maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(LogfmtFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def _who() -> object:
    return current_user.id if current_user.is_authenticated else "-"


def init_app(app: Flask) -> None:
    attach_file(app.instance_path)

    def log_exception(exc_info) -> None:
        # Flask's own line would name the path, and a path can hold a join code or a setup token.
        log.error("error status=500 user=%s endpoint=%s method=%s", _who(), request.endpoint, request.method,
                  exc_info=exc_info)
    app.log_exception = log_exception

    @app.after_request
    def _log_denials_and_downloads(response):
        # A 404 for someone signed in is how the app says "not yours": worth a line, with ids only.
        if response.status_code in (401, 403, 404, 429) and request.endpoint != "static":
            log.info("denied status=%s user=%s endpoint=%s", response.status_code, _who(), request.endpoint)
        # Every download (workbook Markdown or JSON, the code of behaviour), whichever feature serves it.
        elif "attachment" in response.headers.get("Content-Disposition", ""):
            args = request.view_args or {}
            log.info("downloaded user=%s endpoint=%s group=%s format=%s", _who(), request.endpoint,
                     args.get("group_id", "-"), args.get("kind") or response.mimetype.split("/")[-1])
        return response
