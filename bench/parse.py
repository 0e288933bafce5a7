"""What the bench reads in the app's answers, as a screen would: the behaviours a board shows and their counts, the
addresses a live page polls or streams from, and server-sent events. Plain text in, plain data out (no load
generator here, so the test suite checks it without locust: tests/test_bench_report.py)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import quote

PROPOSAL = re.compile(r'<li\b[^>]*?\bid="proposal-(\d+)"')
PROPOSAL_TEXT = re.compile(r'class="proposal__text">([^<]*)<')
TALLY = re.compile(r"Agree (\d+) · Unsure (\d+) · Object (\d+)")
BOARD_LIST = re.compile(r'<div id="board-list"')
STREAM = re.compile(r'data-live-stream="([^"]+)"')
# A live region's poller (the board's, the timer's): its name and the address it polls, with the version it shows.
FEED = re.compile(r'<[a-z]+\b[^>]*?\bdata-live-feed="([^"]*)"[^>]*>')
FEED_ADDRESS = re.compile(r'\b(?:data-hx-get|data-poll)="([^"]+)"')
TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')
# What a page makes the browser fetch from our own server as it loads: style sheets, scripts, the icon, images
# (the projector's QR code).
ASSET = re.compile(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="(/[^/"][^"]*)"')


def attribute(pattern: re.Pattern, text: str) -> str:
    """The first match's address, as the browser reads it (entities such as &amp; undone); "" if none."""
    found = pattern.search(text or "")
    return html.unescape(found.group(1)) if found else ""


def feeds(fragment: str) -> dict[str, str]:
    """The live regions' pollers in a page or an answer: name ("board", "timer") -> the address each polls."""
    found = {}
    for tag in FEED.finditer(fragment or ""):
        address = FEED_ADDRESS.search(tag.group(0))
        if address:
            found[tag.group(1)] = html.unescape(address.group(1))
    return found


def stream_address(holder: str, polled: dict[str, str]) -> str:
    """The one stream for all of a page's pollers, as static/js/live.js asks for it."""
    return holder + "?" + "&".join("feed=" + quote(address, safe="-_.!~*'()") for address in polled.values())


def form_field(page: str, name: str) -> str:
    """A hidden field's value in a form of the page ("" if none)."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page or "")
    return found.group(1) if found else ""


def assets(page: str) -> list[str]:
    return list(dict.fromkeys(html.unescape(path) for path in ASSET.findall(page or "")))


@dataclass
class BoardView:
    """What one screen shows of a board: each behaviour's words and the sum of its counts (0 while counts are out of
    sight). Built from the page, then kept up to date from each answer: a poll's whole list, or a pushed update's
    pieces (a behaviour's <li> alone, new ones appended, or the whole list when its shape changed)."""

    shown: dict[int, tuple[str, int]] = field(default_factory=dict)

    def update(self, fragment: str) -> None:
        pieces = {}
        starts = [(m.start(), int(m.group(1))) for m in PROPOSAL.finditer(fragment)]
        for n, (start, proposal) in enumerate(starts):
            piece = fragment[start:starts[n + 1][0] if n + 1 < len(starts) else len(fragment)]
            text, tally = PROPOSAL_TEXT.search(piece), TALLY.search(piece)
            pieces[proposal] = (html.unescape(text.group(1)) if text else "",
                                sum(int(k) for k in tally.groups()) if tally else 0)
        if BOARD_LIST.search(fragment):
            self.shown = pieces            # the whole list: whatever it leaves out is gone from the screen
        else:
            self.shown.update(pieces)

    def texts(self) -> set[str]:
        return {text for text, _ in self.shown.values()}

    def total(self) -> int:
        """Every response counted on this screen."""
        return sum(count for _, count in self.shown.values())


@dataclass
class Event:
    name: str
    data: str
    id: str


class EventReader:
    """Server-sent events, a line at a time (the text/event-stream format): `feed` gives back an Event when a blank
    line ends one, else None; comment lines (`:` heartbeats) are counted."""

    def __init__(self) -> None:
        self.name, self.data, self.id = "", [], ""
        self.last_id = ""
        self.comments = 0

    def feed(self, line: str) -> Event | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self.data and not self.name:
                return None
            event = Event(self.name or "message", "\n".join(self.data), self.id)
            if self.id:
                self.last_id = self.id
            self.name, self.data = "", []
            return event
        if line.startswith(":"):
            self.comments += 1
            return None
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            self.name = value
        elif key == "data":
            self.data.append(value)
        elif key == "id":
            self.id = value
        return None


def body_lines(incoming, chunked: bool):
    """A streamed body's lines, as text, as they arrive from `incoming` (a file over the socket), undoing HTTP/1.1's
    chunked transfer encoding if the server used it."""
    if not chunked:
        for line in iter(incoming.readline, b""):
            yield line.decode()
        return
    rest = b""
    while True:
        size = int(incoming.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return
        rest += incoming.read(size)
        incoming.readline()                 # the CRLF after each chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield line.decode() + "\n"
