"""A room on the live board: groups of people, each person's phone showing their group's board, and in each group
the facilitator's screen and the projector (the facilitator's session), all kept up to date by the transport the
run asks for:

- "push": each screen holds one stream, asked for as static/js/live.js asks (the page's `data-live-stream`, with
  its pollers' addresses as feeds), and applies each server-sent update to what it shows; while a stream cannot be
  held (204: the server's budget of streams is used up; a drop) it polls, and tries again as live.js does;
- "poll": today's polling, forced: the board's live address every 1.5 s and the group's timer every 2 s, each
  screen out of step with the others, as the pages' scripts do.

The people propose, then (the facilitator moves the board on and shows the counts) respond, as a room does.
Propagation is the time from a write's answer until the last screen of its group shows it: the proposal's words;
for a response, the counts on that screen adding up to it. A write still not on every screen 30 s after the
writing stopped counts as an error."""

from __future__ import annotations

import random
import resource
import socket
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

import gevent
from gevent.pool import Pool
from geventhttpclient.response import HTTPConnectionClosed
from locust.contrib.fasthttp import FastHttpSession

from bench import parse, report
from bench.server import PASSWORD, Group, Server

POLL_SECONDS = 1.5               # templates/board/_poller.html: every screen asks this often
TIMER_SECONDS = 2.0              # static/js/timer.js: the timer's own poll
RETRY_SECONDS = [2, 5, 15, 30, 60]   # static/js/live.js: after a stream could not be held, the next try
CATCH_UP_SECONDS = 30            # a write still unseen this long after the writing stopped is an error
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WRITES = {"board propose", "board respond"}
POLLS = {"board live", "timer live"}


def new_session(base: str, request_event) -> FastHttpSession:
    """A phone's HTTP client: it waits for a slow answer as a browser does (60 s, as locust's own users do;
    geventhttpclient's own default gives up after 5 s)."""
    return FastHttpSession(base, request_event, user=None, network_timeout=60.0, connection_timeout=60.0)


AGAIN = " (sent again)"


def post(client: FastHttpSession, path: str, name: str, **kwargs):
    """A write as a browser sends it: once more if the kept-alive connection it went on turned out closed by the
    server before any answer (Chromium sends it again then; gunicorn closes a connection idle for 2 s, and a person
    writes every few seconds). The first try is recorded under its own name, apart from the writes' latencies."""
    with client.post(path, name=name, catch_response=True, **kwargs) as response:
        if not isinstance(response.request_meta.get("exception"), HTTPConnectionClosed):
            return response
        response.request_meta["name"] = name + AGAIN
        response.success()
    return client.post(path, name=name, **kwargs)


def log_in(client: FastHttpSession, name: str) -> str:
    """As a person at the login form: the page, then name and password; returns the CSRF token htmx sends."""
    page = client.get("/login", name="login page").text or ""
    with client.post("/login", name="login", headers=FORM, catch_response=True,
                     data=urlencode({"csrf_token": parse.form_field(page, "csrf_token"), "name": name,
                                     "password": PASSWORD})) as response:
        token = parse.TOKEN.search(response.text or "")
        if f"Hello, {name}" not in (response.text or "") or not token:
            response.failure("not signed in")
            return ""
    return token.group(1)


def cookie_header(client: FastHttpSession) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookiejar)


class People:
    """Everyone's phone on one server, each signed in once (one Argon2id each) and reused by every scenario."""

    def __init__(self, server: Server, request_event):
        self.server, self.event = server, request_event
        self.sessions: dict[str, tuple[FastHttpSession, str]] = {}

    def sign_in(self, names) -> None:
        """Signs in those not signed in yet, a few at a time (the server derives one Argon2id a core at a time)."""
        def one(name):
            client = new_session(self.server.base, self.event)
            self.sessions[name] = (client, log_in(client, name))
        Pool(8).map(one, [name for name in dict.fromkeys(names) if name not in self.sessions])

    def session(self, name: str) -> FastHttpSession:
        return self.sessions[name][0]

    def token(self, name: str) -> str:
        return self.sessions[name][1]

    def second_screen(self, name: str) -> FastHttpSession:
        """Another screen in the same session (the projector, run from the facilitator's laptop)."""
        client = new_session(self.server.base, self.event)
        for cookie in self.session(name).cookiejar:
            client.cookiejar.set_cookie(cookie)
        return client


@dataclass
class Screen:
    board: RoomBoard
    key: str
    client: FastHttpSession
    path: str                    # the page it shows
    view: parse.BoardView = field(default_factory=parse.BoardView)
    stream: str = ""             # where its page says to stream from ("" if it says nothing)
    feeds: dict[str, str] = field(default_factory=dict)   # its pollers' addresses, as the page and updates give them
    streamed: bool = False       # held a stream at some time (else it only polled)
    drops: int = 0               # streams that ended under it (it polls, and tries again, as live.js does)
    refused: int = 0             # 204s: "no stream now, poll"

    def open(self) -> bool:
        response = self.client.get(self.path, name="board page")
        page = response.text or ""
        if response.status_code != 200 or 'id="board-list"' not in page:
            return False
        self.stream = parse.attribute(parse.STREAM, page)
        self.show(page)
        return True

    def show(self, fragment: str) -> None:
        self.feeds.update(parse.feeds(fragment))
        self.view.update(fragment)
        self.board.saw(self, time.perf_counter())

    # Polling, as the page's scripts do.

    def poll_board(self) -> None:
        gevent.sleep(random.uniform(0, POLL_SECONDS))   # screens poll out of step, as in a real room
        while self.feeds.get("board"):
            began = time.perf_counter()
            response = self.client.get(self.feeds["board"], name="board live", headers={"HX-Request": "true"})
            if response.status_code == 200:
                self.show(response.text or "")
            gevent.sleep(max(0.0, POLL_SECONDS - (time.perf_counter() - began)))

    def poll_timer(self) -> None:
        gevent.sleep(random.uniform(0, TIMER_SECONDS))
        while self.feeds.get("timer"):
            began = time.perf_counter()
            response = self.client.get(self.feeds["timer"], name="timer live")
            if response.status_code == 200:
                self.feeds.update(parse.feeds(response.text or ""))
            gevent.sleep(max(0.0, TIMER_SECONDS - (time.perf_counter() - began)))

    def poll(self) -> None:
        both = [gevent.spawn(self.poll_board), gevent.spawn(self.poll_timer)]
        try:
            gevent.joinall(both, raise_error=True)
        finally:   # this screen closed: so are its polls
            gevent.killall(both)

    # Pushed, as static/js/live.js does: one stream for all the page's pollers. While it is held they are quiet;
    # when it cannot be held (204, a drop) they poll, and a new stream is tried after RETRY_SECONDS, from the
    # pollers' addresses as they are then (the version the screen shows).

    def listen(self) -> None:
        polling: gevent.Greenlet | None = None
        failures = 0
        try:
            while True:
                if self._stream_once(lambda: polling and polling.kill(block=False)):
                    failures = 0
                    self.drops += 1
                if polling is None or polling.dead:
                    polling = gevent.spawn(self.poll)
                gevent.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
        finally:
            if polling is not None:
                polling.kill()

    def _stream_once(self, held) -> bool:
        """One stream, until it ends; whether it was held (its "hello" came)."""
        url = urlsplit(urljoin(self.client.base_url + self.path, parse.stream_address(self.stream, self.feeds)))
        began, hello = time.perf_counter(), False
        sock = socket.create_connection((url.hostname, url.port or 80))
        try:
            sock.sendall((f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                          f"Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
                          f"Cookie: {cookie_header(self.client)}\r\n\r\n").encode())
            incoming = sock.makefile("rb")
            status = int(incoming.readline().split()[1])
            headers = {}
            while (line := incoming.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if status == 204:
                self.refused += 1
                self.board.record("board stream", began, None)
                return False
            if status != 200:
                self.board.record("board stream", began, f"status {status}")
                return False
            reader = parse.EventReader()
            for line in parse.body_lines(incoming, "chunked" in headers.get("transfer-encoding", "")):
                event = reader.feed(line)
                if event is None:
                    continue
                if event.name == "hello":
                    hello = self.streamed = True
                    held()
                    self.board.record("board stream", began, None)
                elif event.name == "update":
                    self.show(event.data)
            return hello
        except (OSError, ValueError, IndexError) as error:
            self.board.record("board stream", began, f"{type(error).__name__}: {error}")
            return hello
        finally:
            sock.close()


class RoomBoard:
    """One group's board during a run: its screens, what was written, and when each screen first showed it."""

    def __init__(self, group: Group, recorder):
        self.group, self.recorder = group, recorder
        self.path = f"/groups/{group.id}/board"
        self.screens: list[Screen] = []
        self.written: dict[str, float] = {}                      # proposal text -> when its POST returned
        self.seen: dict[str, dict[str, float]] = defaultdict(dict)  # text -> screen -> first shown
        self.responded: list[float] = []                         # when each response POST returned, in order
        self.totals: dict[str, list[float]] = defaultdict(list)  # screen -> [when it first counted k+1 responses]

    def record(self, name: str, began: float, error: str | None) -> None:
        self.recorder("GET", name, (time.perf_counter() - began) * 1000, error)

    def saw(self, screen: Screen, now: float) -> None:
        for text in screen.view.texts():
            self.seen[text].setdefault(screen.key, now)
        counted = self.totals[screen.key]
        counted.extend([now] * (screen.view.total() - len(counted)))

    def everywhere(self) -> bool:
        keys = [screen.key for screen in self.screens]
        return (all(all(key in self.seen.get(text, {}) for key in keys) for text in list(self.written))
                and all(len(self.totals[key]) >= len(self.responded) for key in keys))

    def delays(self) -> tuple[list[float], int]:
        """Seconds from each write's answer until the last screen showed it; and how many never reached them all."""
        keys = [screen.key for screen in self.screens]
        delays, unseen = [], 0
        for text, written in self.written.items():
            shown = self.seen.get(text, {})
            if all(key in shown for key in keys):
                delays.append(max(0.0, max(shown[key] for key in keys) - written))
            else:
                unseen += 1
        for k, written in enumerate(self.responded):
            firsts = [self.totals[key][k] for key in keys if len(self.totals[key]) > k]
            if len(firsts) == len(keys):
                delays.append(max(0.0, max(firsts) - written))
            else:
                unseen += 1
        return delays, unseen


@dataclass
class Run:
    """The figures of one room's run."""
    delays: list[float]
    unseen: int
    latencies: list[float]
    errors: list[str]
    cpu_seconds: float
    seconds: float
    participants: int
    screens: int
    streamed: int
    refused: int
    drops: int
    writes: int
    generator_cpu_percent: float
    opens: list[float] = field(default_factory=list)   # ms from asking for a stream until its "hello" (or 204)
    resent: int = 0              # writes sent again: their kept-alive connection had been closed by the server

    def cpu_ms_per_participant_minute(self) -> float:
        return self.cpu_seconds * 1000 / max(1, self.participants) / (self.seconds / 60)

    def figures(self, prefix: str) -> dict:
        return {f"{prefix}_propagation_p50_ms": report.percentile(self.delays, 0.50) * 1000,
                f"{prefix}_propagation_p95_ms": report.percentile(self.delays, 0.95) * 1000,
                f"{prefix}_server_p95_ms": report.percentile(self.latencies, 0.95),
                f"{prefix}_errors": len(self.errors) + self.unseen}

    def note(self, what: str, transport: str) -> str:
        held = (f"{self.streamed} of {self.screens} screens held a stream (p95 {report.percentile(self.opens, .95):.0f} ms "
                "until its hello)" + (f", {self.refused} were told to poll" if self.refused else "")
                + (f", {self.drops} streams dropped and reconnected" if self.drops else "")
                if transport == "push" else f"{self.screens} screens polling")
        return (f"{what}: {self.writes} writes by {self.participants} people over {self.seconds:.0f} s, {held}; "
                f"write on every screen p50/p95 {report.percentile(self.delays, .5) * 1000:.0f}/"
                f"{report.percentile(self.delays, .95) * 1000:.0f} ms, max {max(self.delays, default=0) * 1000:.0f} ms; "
                f"{len(self.latencies)} requests; server CPU {self.cpu_ms_per_participant_minute():.0f} ms a "
                f"participant-minute; load generator {self.generator_cpu_percent:.0f}% of a core"
                + (f"; {self.unseen} writes never reached every screen" if self.unseen else "")
                + (f"; {self.resent} sent again on a fresh connection" if self.resent else "")
                + (f"; failed: {', '.join(f'{what} {n}' for what, n in Counter(e.split(':')[0] for e in self.errors).items())}"
                   if self.errors else ""))


def generator_cpu() -> float:
    """CPU time this process (the load generator) has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Room:
    """Groups of people on the live board, their screens open with one transport, writing when told."""

    def __init__(self, server: Server, people: People, groups: list[Group], transport: str, recorder):
        self.server, self.people, self.transport, self.recorder = server, people, transport, recorder
        self.boards = [RoomBoard(group, recorder) for group in groups]
        self.writing = ""            # "", "propose" or "respond"
        self.opened = 0.0
        self.greenlets: list[gevent.Greenlet] = []

    @property
    def screens(self) -> list[Screen]:
        return [screen for board in self.boards for screen in board.screens]

    @property
    def participants(self) -> int:
        return sum(len(board.group.names) for board in self.boards)

    def open(self) -> list[str]:
        """Every screen opens its page, then starts following it. Problems opening, as text."""
        problems = []
        self.opened = time.perf_counter()
        self.people.sign_in([name for board in self.boards for name in [board.group.facilitator, *board.group.names]])
        for board in self.boards:
            group = board.group
            board.screens = [Screen(board, name, self.people.session(name), board.path) for name in group.names]
            board.screens += [Screen(board, "facilitator", self.people.session(group.facilitator), board.path),
                              Screen(board, "projector", self.people.second_screen(group.facilitator),
                                     f"{board.path}/projector")]

        def start(screen: Screen) -> None:
            if not screen.open():
                problems.append(f"{screen.key} could not open {screen.path}")
                return
            follow = screen.listen if self.transport == "push" and screen.stream else screen.poll
            self.greenlets.append(gevent.spawn(follow))
        Pool(16).map(start, self.screens)
        if self.transport == "push" and not any(screen.stream for screen in self.screens):
            problems.append("no page named a stream (data-live-stream): every screen polled")
        for board in self.boards:
            for name in board.group.names:
                self.greenlets.append(gevent.spawn(self._write, board, name))
        return problems

    def close(self) -> None:
        gevent.killall(self.greenlets, timeout=10)
        self.greenlets = []

    def _write(self, board: RoomBoard, name: str) -> None:
        client, token = self.people.session(name), self.people.token(name)
        headers = {**FORM, "HX-Request": "true", "X-CSRFToken": token}
        mine = next(screen for screen in board.screens if screen.key == name)
        answered = set()
        gevent.sleep(random.uniform(1, 6))
        while True:
            if self.writing == "propose":
                text = f"Behaviour {name.split()[-1]}-{random.randrange(10**9)}"
                post(client, f"{board.path}/proposals", "board propose", headers=headers,
                     data=urlencode({"text": text}))
                board.written[text] = time.perf_counter()
            elif self.writing == "respond":
                choices = [p for p in mine.view.shown if p not in answered]
                if choices:
                    proposal = random.choice(choices)
                    answered.add(proposal)
                    response = post(client, f"{board.path}/proposals/{proposal}/respond", "board respond",
                                    headers=headers,
                                    data=urlencode({"kind": random.choice(["agree", "unsure", "object"])}))
                    if response.status_code == 204:
                        board.responded.append(time.perf_counter())
            gevent.sleep(random.uniform(4, 8))

    def facilitate(self, action: str) -> None:
        for board in self.boards:
            client = self.people.session(board.group.facilitator)
            post(client, f"{board.path}/settings", "board settings", headers=FORM,
                 data=urlencode({"csrf_token": self.people.token(board.group.facilitator), "action": action}))

    def catch_up(self) -> None:
        """Until every screen shows every write, or CATCH_UP_SECONDS pass (what is still missing is an error)."""
        end = time.perf_counter() + CATCH_UP_SECONDS
        gevent.sleep(2 * POLL_SECONDS if self.transport == "poll" else 0.3)
        while not all(board.everywhere() for board in self.boards) and time.perf_counter() < end:
            gevent.sleep(0.1)

    def settle(self) -> None:
        """A moment for every screen to show a change of phase (the next poll, or at once when pushed)."""
        gevent.sleep(2 * POLL_SECONDS if self.transport == "poll" else 1.0)

    def write(self, seconds: float) -> Run:
        """The room proposes for `seconds`, then responds for `seconds` with the counts shown."""
        began, cpu, mine = time.perf_counter(), self.server.cpu_seconds(), generator_cpu()
        self.writing = "propose"
        gevent.sleep(seconds)
        self.writing = ""
        self.catch_up()                       # every screen shows every proposal before the board moves on
        self.facilitate("phase:respond")
        self.facilitate("tallies-on")         # counts shown: each response changes what every screen shows
        self.settle()
        self.writing = "respond"
        gevent.sleep(seconds)
        self.writing = ""
        self.catch_up()
        ended = time.perf_counter()
        cpu, mine = self.server.cpu_seconds() - cpu, generator_cpu() - mine
        delays, unseen = [], 0
        for board in self.boards:
            more, missing = board.delays()
            delays += more
            unseen += missing
        screens = self.screens
        return Run(delays=delays, unseen=unseen,
                   latencies=self.recorder.times(WRITES | POLLS, began, ended),
                   errors=self.recorder.errors(WRITES | POLLS | {"board page", "board settings", "board stream"},
                                               began, ended),
                   cpu_seconds=cpu, seconds=ended - began, participants=self.participants, screens=len(screens),
                   streamed=sum(screen.streamed for screen in screens),
                   refused=sum(screen.refused > 0 for screen in screens), drops=sum(s.drops for s in screens),
                   writes=sum(len(b.written) + len(b.responded) for b in self.boards),
                   generator_cpu_percent=mine * 100 / (ended - began),
                   opens=self.recorder.times({"board stream"}, self.opened, ended),
                   resent=len(self.recorder.times({name + AGAIN for name in WRITES}, began, ended)))

    def idle(self, seconds: float) -> tuple[float, float, float]:
        """Nobody writes for `seconds`: the server's CPU (% of one core), requests a screen a second, and the load
        generator's CPU (% of one core)."""
        began, cpu, mine = time.perf_counter(), self.server.cpu_seconds(), generator_cpu()
        gevent.sleep(seconds)
        ended = time.perf_counter()
        cpu, mine = self.server.cpu_seconds() - cpu, generator_cpu() - mine
        requests = len([at for name, at, _, _ in self.recorder.samples if name != "board stream" and began <= at <= ended])
        return (cpu * 100 / (ended - began), requests / len(self.screens) / (ended - began),
                mine * 100 / (ended - began))
