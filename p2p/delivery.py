"""What travels over the room's Wi-Fi, made light: pages and fragments compressed, and the static files (CSS,
scripts, the icon) sent small and kept by each browser for good under addresses that change with their content.

A phone on a weak network pays for every byte and every round trip. Compressed, the longest page (a recovery
story, 136 KB of HTML) is under 10 KB. The static files are read once at start-up, our own scripts and CSS
minified (their comments are for people reading static/, not for phones), and compressed then, at the highest
levels, so serving them costs the server nothing per request. Each address carries its file's hash
(`/static/css/app.css?v=…`): a browser keeps the file for a year without asking again, and an update, which
changes the hash, is fetched at once. A repeat visit is one request: the page.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
import threading
from pathlib import Path

import brotli
import rcssmin
import rjsmin
from flask import Flask, Response, abort, request
from flask_compress import Compress

YEAR = 365 * 24 * 3600
# Only what the browser decodes as it arrives. A stream (server-sent events) is never compressed: a compressor
# holds bytes back until it has enough, and an event held back is a screen left behind.
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "text/markdown", "application/javascript",
                    "text/javascript", "application/json", "image/svg+xml"]
SMALL = 500   # bytes: below this, compressing saves less than its headers cost


class StaticFile:
    """One file under static/, as sent: minified, and compressed the first time a browser asks for each encoding
    (once per process, at the highest levels; compressing all at start-up would slow every `p2p` command)."""

    COMPRESSORS = {"br": lambda body: brotli.compress(body, quality=11), "gzip": lambda body: gzip.compress(body, 9, mtime=0)}

    def __init__(self, path: Path):
        self.mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = minified(path, path.read_bytes())
        self.version = hashlib.sha256(body).hexdigest()[:12]   # what the address carries: ?v=…
        self.compressible = self.mimetype in COMPRESSED_TYPES and len(body) >= SMALL
        self._sent = {"identity": body}
        self._lock = threading.Lock()

    def encoding_for(self, accepted) -> str:
        """The best encoding this browser takes (request.accept_encodings), brotli before gzip."""
        return next((e for e in self.COMPRESSORS if self.compressible and accepted[e]), "identity")

    def body(self, encoding: str) -> bytes:
        if encoding not in self._sent:
            with self._lock:
                if encoding not in self._sent:
                    self._sent[encoding] = self.COMPRESSORS[encoding](self._sent["identity"])
        return self._sent[encoding]


def minified(path: Path, data: bytes) -> bytes:
    """Our own scripts and CSS without comments and spaces; a vendored .min.js is already so."""
    if path.suffix == ".css":
        return rcssmin.cssmin(data.decode()).encode()
    if path.suffix == ".js" and not path.name.endswith(".min.js"):
        return rjsmin.jsmin(data.decode()).encode()
    return data


def read_static(folder: Path) -> dict[str, StaticFile]:
    """Every file under static/, by the path url_for names it with."""
    return {path.relative_to(folder).as_posix(): _static_file(path, path.stat().st_mtime_ns, path.stat().st_size)
            for path in sorted(folder.rglob("*")) if path.is_file()}


@functools.cache
def _static_file(path: Path, mtime_ns: int, size: int) -> StaticFile:
    """Read and minified once per process while the file stays as it is (the tests make an app 1,300 times)."""
    return StaticFile(path)


def init_app(app: Flask) -> None:
    # Pages, fragments and downloads, compressed as they are answered: brotli where the browser takes it
    # (Chromium offers it over HTTPS only), else gzip, which is what phones get on a room's plain-HTTP network.
    # Level 6 brotli / 6 gzip cost about a millisecond on the longest page (the recovery story, 150 KB: brotli 5
    # made it 8.5 KB, 6 8.3 KB in the same 1.3 ms; 8 saved 80 bytes more for 2.2 ms, 9 took 8 ms). Streams are
    # left alone (see above).
    app.config.update(COMPRESS_MIMETYPES=COMPRESSED_TYPES, COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_BR_LEVEL=6,
                      COMPRESS_STREAMS=False, COMPRESS_MIN_SIZE=SMALL, COMPRESS_REGISTER=False)
    compress = Compress(app)

    @app.after_request
    def _compress(response: Response) -> Response:
        # Not for a request another site made this browser send (a link or form elsewhere): compressed, a page
        # holding a secret (the form token, someone's answers) beside text that site put in the address would
        # leak the secret through its length, a guess at a time (the BREACH attack). Sec-Fetch-Site is sent by
        # every current browser; the session cookie (SameSite=Lax) goes with top-level navigations only.
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            return response
        return compress.after_request(response)

    files = read_static(Path(app.static_folder))

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values and values.get("filename") in files:
            values["v"] = files[values["filename"]].version

    def static(filename: str) -> Response:
        """Flask's static view, served from memory (read_static)."""
        found = files.get(filename) or abort(404)
        encoding = found.encoding_for(request.accept_encodings)
        response = Response(found.body(encoding), mimetype=found.mimetype)
        response.vary.add("Accept-Encoding")
        if encoding != "identity":
            response.headers["Content-Encoding"] = encoding
        response.set_etag(f"{found.version}-{encoding}")
        if request.args.get("v") == found.version:
            # The address names this content exactly: nothing to check, ever.
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:
            # An old page asking for a file since changed, or no version: the browser checks each time, so it
            # never keeps a file that is not the one the address promises.
            response.headers["Cache-Control"] = "no-cache"
        return response.make_conditional(request)

    app.view_functions["static"] = static
