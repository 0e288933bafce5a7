"""`make bench`: the real server under a room's load, and one table of figures.

    make bench      (or: .venv/bin/python -m bench [--seconds 15] [--people 150] [--groups 5] [--only room,idle,…])

One server (`p2p serve` on loopback, a fresh instance whose groups and people have real passwords), one run, in
this order (each a step --only can pick):
  1. start-up: from starting the process until it accepts connections;
  2. logins: 30 people log in, arriving evenly over 5 s (one Argon2id derivation each): until the last is in;
     joins: 12 people join the first group at the same moment, from the QR code's link to the board;
  3. twelve: a room of 12 (one group, with its facilitator's screen and the projector) proposing, then responding
     with the counts shown, once with today's polling forced and once pushed (bench/room.py), side by side;
  4. room: 150 participants in 5 groups of 30, each group with its facilitator's screen and projector, all
     writing the same way, pushed;
  5. autosave: those 150 typing in their workbooks, each saving every 1–2 s what static/js/autosave.js sends,
     while every screen of the room stays open;
  6. idle: the room's screens open and nobody writing: the server's CPU and the requests a screen makes, pushed
     and then with today's polling;
  7. throughput with 8 clients that never wait: the bare route, the live endpoint answering "nothing new" (204)
     and a workbook session page with answers, taking turns in short windows; ratios to the bare route;
  8. pages: the heaviest page a participant opens, as transferred on a first visit, and a repeat visit's requests;
  9. the server's resident memory; then
 10. postgres: the room again on gunicorn (3 gthread workers) and a throwaway PostgreSQL server (skipped, with a
     note, when PostgreSQL's server programs are not installed).
With P2P_BENCH_JSON=path, the figures are also written there as one JSON object (bench/report.py's KEYS).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from urllib.parse import urlencode

import gevent
from gevent.event import Event
from locust import FastHttpUser, constant, task
from locust.env import Environment

from bench import pages, parse, report
from bench.room import FORM, TIMER_SECONDS, People, Room, Run, cookie_header, generator_cpu, log_in, new_session
from bench.server import (
    FACILITATOR_NAME,
    GUNICORN_WORKERS,
    PASSWORD,
    PROJECT_ROOT,
    postgresql_missing,
    running_server,
    throwaway_postgresql,
)

SESSION_PAGE = "modules/module-1/sessions/session-1"
STORY_PAGE = "modules/preparing/sessions/personal-recovery-story"
SESSION_PLACES = ["p2p/module-1/session-1/positive-about-p2p", "p2p/module-1/session-1/anything-challenging",
                  "p2p/module-1/session-1/behaviours-help-you-feel-safe",
                  "p2p/module-1/session-1/behaviours-you-can-demonstrate"]
LIVE_VERSION = re.compile(r"board/live\?v=(\d+)")
WORDS = "listen gently and speak from your own experience without advice or judgement today".split()
TWELVE = 12


class Recorder:
    """Every request made: (name, finished at, milliseconds, error or None)."""

    def __init__(self):
        self.samples: list[tuple[str, float, float, str | None]] = []

    def __call__(self, request_type, name, response_time, exception=None, **_):
        error = f"{request_type} {name}: {exception}" if exception else None
        self.samples.append((name, time.perf_counter(), response_time, error))

    def times(self, names, since=0.0, until=float("inf")) -> list[float]:
        return [ms for name, at, ms, _ in self.samples if name in names and since <= at <= until]

    def errors(self, names=None, since=0.0, until=float("inf")) -> list[str]:
        return [error for name, at, _, error in self.samples
                if error and (names is None or name in names) and since <= at <= until]


def run_users(base: str, user_class, count: int, spawn_rate: float, recorder: Recorder) -> Environment:
    env = Environment(user_classes=[user_class], host=base)
    env.events.request.add_listener(recorder)
    env.create_local_runner()
    env.runner.start(count, spawn_rate=spawn_rate)
    return env


def wait_for(condition, timeout: float, what: str) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise RuntimeError(f"timed out waiting for {what}")
        gevent.sleep(0.05)


class Crowd:
    """What a scenario's locust users share: who they are, when to start."""

    def __init__(self, names):
        self.names = names
        self.numbers = itertools.count()
        self.ready = 0
        self.go = Event()


# ---------------------------------------------------------------------------------------------------
# 2. Logins


def logins(server, recorder: Recorder, people: int, within: float) -> float:
    crowd = Crowd(server.names[:people])
    done: list[float] = []

    class Arriving(FastHttpUser):
        wait_time = constant(3600)

        def on_start(self):
            if log_in(self.client, crowd.names[next(crowd.numbers)]):
                done.append(time.perf_counter())

        @task
        def stay(self):
            pass

    began = time.perf_counter()
    env = run_users(server.base, Arriving, people, people / within, recorder)   # evenly over `within` seconds
    wait_for(lambda: len(done) + len(recorder.errors({"login", "login page"})) >= people, 120, "the logins")
    env.runner.quit()
    return (max(done) - began) if len(done) == people else float("nan")


# ---------------------------------------------------------------------------------------------------
# 2b. A room joining at once


JOINERS = 12
ON_THE_BOARD = "<h1>Our code of behaviour</h1>"
CARD_FORM = re.compile(r'<form method="post" action="/account/recovery-code"')


def joins(server, recorder: Recorder, people: int = JOINERS) -> tuple[dict, list[str]]:
    """`people` scan the projector's QR code at the same moment (the join link, with the code in it), each with a
    phone of their own (a cookie jar), and do what each screen asks until they are on the board: fill in the join
    form (name and password, and the password again if the form asks for it), press "I have written it down" if a
    recovery card comes in between, open the board from the group page if they land there. The facilitator has the
    board open first, as in the room. The time is from the scan until the last of them sees the board."""
    board_path = f"/groups/{server.first.id}/board"
    facilitator = new_session(server.base, recorder_event(recorder))
    log_in(facilitator, FACILITATOR_NAME)
    facilitator.get(board_path, name="board page")
    go, results, errors = Event(), [], []

    def join(n: int) -> None:
        phone = new_session(server.base, recorder_event(recorder))
        go.wait()
        began, screens = time.perf_counter(), 1
        page = phone.get(f"/join/{server.first.join_code}", name="join page").text or ""
        fields = {"csrf_token": parse.form_field(page, "csrf_token"), "request_key": parse.form_field(page, "request_key"),
                  "name": f"Joiner {n}", "password": PASSWORD}
        if 'name="confirm"' in page:
            fields["confirm"] = PASSWORD
        response = phone.post(f"/join/{server.first.join_code}", name="join", headers=FORM, data=urlencode(fields))
        page, screens = response.text or "", screens + 1
        for _ in range(4):
            if ON_THE_BOARD in page:
                results.append((time.perf_counter() - began, screens))
                return
            if CARD_FORM.search(page):
                page = phone.post("/account/recovery-code", name="recovery card", headers=FORM, data=urlencode(
                    {"csrf_token": parse.form_field(page, "csrf_token"), "next": parse.form_field(page, "next")})).text or ""
            else:
                page = phone.get(board_path, name="board page").text or ""
            screens += 1
        errors.append(f"Joiner {n} did not reach the board")

    crowd = [gevent.spawn(join, n) for n in range(1, people + 1)]
    gevent.sleep(0.2)
    cpu = server.cpu_seconds()
    go.set()
    gevent.joinall(crowd, timeout=180)
    cpu = server.cpu_seconds() - cpu
    errors += recorder.errors({"join page", "join", "recovery card", "board page"})
    times = [seconds for seconds, _ in results]
    screens = sorted({count for _, count in results})
    figures = {"join_12_seconds": max(times) if len(times) == people else float("nan")}
    return figures, ([f"joins: {people} at once, each on the board after p50 {report.percentile(times, .5):.2f} s, "
                     f"the last after {max(times, default=float('nan')):.2f} s; screens from the scan to the board: "
                     f"{', '.join(map(str, screens)) or '-'}; server CPU {cpu / people:.2f} s a join"]
            + [f"  {e}" for e in errors[:5]])


def recorder_event(recorder: Recorder):
    """A request event that feeds `recorder`, for sessions made outside a locust runner."""
    from locust.event import EventHook
    hook = EventHook()
    hook.add_listener(recorder)
    return hook


# ---------------------------------------------------------------------------------------------------
# 3. A room of twelve, polled and pushed; 4. the room of 150, pushed


def twelve(server, people: People, recorder: Recorder, seconds: float) -> tuple[dict, list[str], dict]:
    """One group of 12 (its facilitator's screen and the projector too), today's polling forced, then the same
    people in a group of their own, pushed. Returns the figures, the notes, and the two runs for the ratio line."""
    figures, notes, runs = {}, [], {}
    for transport, label, prefix in (("poll", "twelve, polling", "board"), ("push", "twelve, push", "board_push")):
        room = Room(server, people, [server.groups[label]], transport, recorder)
        problems = room.open()
        try:
            run = room.write(seconds)
        finally:
            room.close()
        runs[transport] = run
        figures.update(run.figures(prefix))
        notes += [run.note(f"room of {TWELVE}, {'pushed' if transport == 'push' else 'polling'}", transport)]
        notes += [f"  {problem}" for problem in problems + run.errors[:5]]
    return figures, notes, runs


def big_room(server, people: People, recorder: Recorder, transport: str = "push") -> tuple[Room, list[str]]:
    room = Room(server, people, [server.groups[label] for label in server.rooms], transport, recorder)
    return room, room.open()


def room_run(room: Room, seconds: float, prefix: str, what: str) -> tuple[dict, list[str], Run]:
    run = room.write(seconds)
    return run.figures(prefix), [run.note(what, room.transport)] + [f"  {e}" for e in run.errors[:5]], run


# ---------------------------------------------------------------------------------------------------
# 5. Workbook autosave, while the room's screens stay open


def autosave(server, room: Room, recorder: Recorder, seconds: float) -> tuple[dict, list[str]]:
    """Everyone in the room types in session 1's answers, each saving every 1–2 s, with their phone's session (the
    board's screens stay open all the while)."""
    people = room.people
    go, ready = Event(), []

    def typist(name: str, group_id: int, n: int) -> None:
        client = people.session(name)
        page = client.get(f"/groups/{group_id}/{SESSION_PAGE}", name="workbook page").text or ""
        token = parse.TOKEN.search(page)
        token = token.group(1) if token else people.token(name)
        place, revision, text = SESSION_PLACES[n % len(SESSION_PLACES)], "", ""
        ready.append(name)
        go.wait()
        gevent.sleep(random.uniform(0, 2))
        while True:
            text += " " + " ".join(random.choices(WORDS, k=random.randint(1, 4)))
            with client.post("/workbook/save", name="workbook save", catch_response=True,
                             headers={**FORM, "X-CSRFToken": token, "Accept": "application/json"},
                             data=urlencode({"place": place, "value": text.strip(), "revision": revision})) as response:
                data = response.json() if response.status_code in (200, 409) else {}
                if response.status_code != 200 or data.get("problem") or data.get("conflict"):
                    response.failure(f"status {response.status_code} {data.get('problem', '')}")
                if "revision" in data:   # after a 409 too (a save that timed out here was saved there): go on from it
                    revision = str(data["revision"])
            gevent.sleep(random.uniform(1, 2))   # a pause in typing, as autosave.js sees it

    typists = [gevent.spawn(typist, name, board.group.id, n)
               for board in room.boards for n, name in enumerate(board.group.names)]
    wait_for(lambda: len(ready) == len(typists), 180, "the typists to open their workbooks")
    began, cpu = time.perf_counter(), server.cpu_seconds()
    go.set()
    gevent.sleep(seconds)
    ended, cpu = time.perf_counter(), server.cpu_seconds() - cpu
    gevent.killall(typists, timeout=10)
    latencies = recorder.times({"workbook save"}, began, ended)
    errors = recorder.errors({"workbook save", "workbook page"})
    return ({"autosave_p95_ms": report.percentile(latencies, 0.95), "autosave_errors": len(errors)},
            [f"autosave: {len(latencies)} saves by {len(typists)} people over {seconds:g} s with the room's "
             f"{len(room.screens)} screens open, p50 {report.percentile(latencies, .5):.0f} ms, server CPU "
             f"{cpu * 1000 / max(1, len(latencies)):.1f} ms a save"]
            + [f"  {e}" for e in errors[:5]])


# ---------------------------------------------------------------------------------------------------
# 6. Idle: screens open, nobody writing


def idle(server, room: Room, recorder: Recorder, seconds: float, polled_seconds: float) -> tuple[dict, list[str]]:
    """The pushed room's screens open and nobody writing, for `seconds`; then the same screens polling, as today,
    for `polled_seconds`."""
    cpu, requests, mine = room.idle(seconds)
    room.close()
    polled, problems = big_room(server, room.people, recorder, "poll")
    try:
        gevent.sleep(2 * TIMER_SECONDS)     # every screen has started polling, out of step
        polled_cpu, polled_requests, polled_mine = polled.idle(polled_seconds)
    finally:
        polled.close()
    screens = len(room.screens)
    return ({"idle_cpu_percent": cpu, "idle_requests_per_screen_second": requests,
             "idle_polling_cpu_percent": polled_cpu},
            [f"idle: {screens} screens open, nobody writing: pushed {cpu:.1f}% of a core, {requests:.2f} requests "
             f"a screen a second ({seconds:g} s; load generator {mine:.0f}%); polling {polled_cpu:.0f}%, "
             f"{polled_requests:.2f} requests a screen a second ({polled_seconds:g} s; load generator "
             f"{polled_mine:.0f}%)"] + [f"  {problem}" for problem in problems])


# ---------------------------------------------------------------------------------------------------
# 7. Throughput against the bare route


def throughput(server, recorder: Recorder, seconds: float, clients: int = 8) -> tuple[dict, list[str]]:
    crowd = Crowd(server.first.names)
    live = f"/groups/{server.first.id}/board/live"
    target = {"name": "", "path": "", "headers": {}}

    class Hammer(FastHttpUser):
        wait_time = constant(0)

        def on_start(self):
            me = next(crowd.numbers)
            token = log_in(self.client, crowd.names[me])
            for place in SESSION_PLACES:   # the page shows answers, opened with the workbook key
                # Sent without a revision: 409 ("changed elsewhere") when the autosave phase saved it already,
                # which is as good here: the page has its answer to show.
                with self.client.post("/workbook/save", name="workbook save (setup)", catch_response=True,
                                      headers={**FORM, "X-CSRFToken": token, "Accept": "application/json"},
                                      data=urlencode({"place": place, "value": f"My answer, {me}: " + " ".join(WORDS)})
                                      ) as answer:
                    if answer.status_code == 409:
                        answer.success()
            crowd.ready += 1
            crowd.go.wait()

        @task
        def hit(self):
            if target["path"]:
                self.client.get(target["path"], name=target["name"], headers=target["headers"])
            else:
                gevent.sleep(0.01)

    env = run_users(server.base, Hammer, clients, 10, recorder)
    wait_for(lambda: crowd.ready == clients, 120, "the throughput clients to log in")
    probe = new_session(server.base, env.events.request)
    log_in(probe, crowd.names[0])
    version = LIVE_VERSION.search(probe.get(live, name="probe", headers={"HX-Request": "true"}).text or "")
    routes = [("bare", "/healthz", {}),
              ("live", f"{live}?v={version.group(1) if version else 0}", {"HX-Request": "true"}),
              ("workbook", f"/groups/{server.first.id}/{SESSION_PAGE}", {}),
              ("live, full answer", f"{live}?v=0", {"HX-Request": "true"})]
    crowd.go.set()
    # The routes take turns in short windows, three rounds, so a change in the machine's other load during the
    # run weighs on every route alike.
    done, used = defaultdict(int), defaultdict(float)
    for _ in range(3):
        for name, path, headers in routes:
            target.update(name=f"rate {name}", path=path, headers=headers)
            gevent.sleep(0.3)                          # requests to the previous route drain first
            began, cpu_before = time.perf_counter(), server.cpu_seconds()
            gevent.sleep(seconds / 3)
            done[name] += len(recorder.times({f"rate {name}"}, began, time.perf_counter()))
            used[name] += server.cpu_seconds() - cpu_before
    rates = {name: done[name] / seconds for name, _, _ in routes}
    cpu = {name: used[name] * 1000 / max(1, done[name]) for name, _, _ in routes}
    target["path"] = ""
    env.runner.quit()
    errors = recorder.errors({f"rate {name}" for name, _, _ in routes} | {"workbook save (setup)"})
    bare = rates["bare"] or float("nan")
    return ({"live_vs_bare_ratio": rates["live"] / bare, "workbook_vs_bare_ratio": rates["workbook"] / bare},
            [f"throughput with {clients} clients, requests/s: bare (/healthz) {rates['bare']:.0f}, live (204) "
             f"{rates['live']:.0f}, workbook page {rates['workbook']:.0f}, live full answer "
             f"{rates['live, full answer']:.0f} ({rates['live, full answer'] / bare:.2f}×)",
             "server CPU a request, ms: " + ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items())]
            + [f"  throughput errors: {len(errors)}"] * bool(errors))


# ---------------------------------------------------------------------------------------------------
# 8. Pages over weak Wi-Fi


def heaviest_page(server, people: People) -> tuple[dict, list[str]]:
    """The first group's pages as its first participant opens them, and its projector as the facilitator does."""
    group = server.first
    person, facilitator = group.names[0], group.facilitator
    people.sign_in([person, facilitator])
    cookie = {name: cookie_header(people.session(name)) for name in (person, facilitator)}
    where = {"board": (f"/groups/{group.id}/board", person),
             "workbook session": (f"/groups/{group.id}/{SESSION_PAGE}", person),
             "recovery story": (f"/groups/{group.id}/{STORY_PAGE}", person),
             "group": (f"/groups/{group.id}", person),
             "projector": (f"/groups/{group.id}/board/projector", facilitator)}
    weights, problems = pages.weigh(server.base, {label: (path, cookie[name]) for label, (path, name) in where.items()})
    if not weights:
        return {}, [f"pages: {problem}" for problem in problems]
    heaviest = max(weights, key=lambda label: weights[label][0])
    return ({"heaviest_page_kb": weights[heaviest][0],
             "repeat_visit_requests": max(again for _, _, again in weights.values())},
            ["pages on a first visit (br, gzip), with the files each loads, then requests on a repeat visit: "
             + ", ".join(f"{label} {kb:.1f} KB in {files + 1} requests, then {again}"
                         for label, (kb, files, again) in weights.items())]
            + [f"  {problem}" for problem in problems])


# ---------------------------------------------------------------------------------------------------
# 10. The room on gunicorn and PostgreSQL


def postgres(layout: dict, rooms: list[str], recorder: Recorder, seconds: float) -> tuple[dict, list[str]]:
    missing = postgresql_missing()
    if missing:
        return {}, [f"gunicorn + PostgreSQL: not measured: {missing}"]
    with throwaway_postgresql() as url, running_server({label: layout[label] for label in rooms}, rooms,
                                                       database_url=url) as server:
        people = People(server, recorder_event(recorder))
        room, problems = big_room(server, people, recorder)
        try:
            figures, notes, run = room_run(room, seconds, "board_150_pg", f"room of {room.participants} on gunicorn "
                                           f"({GUNICORN_WORKERS} workers) + PostgreSQL, pushed")
        finally:
            room.close()
        notes += errors_logged(server)
        said = server.output.read_text()
        notes.append(f"  gunicorn: {server.rss_mb():.0f} MB resident in its {len(server.pids())} processes after the "
                     "run (pages the workers share counted in each); workers it restarted as stuck (WORKER TIMEOUT): "
                     f"{said.count('WORKER TIMEOUT')}")
        return figures, notes + [f"  {problem}" for problem in problems]


def errors_logged(server) -> list[str]:
    """What the app logged as errors during the run (a 500 is one), counted by kind: a note, if any."""
    logged = server.errors_logged()
    kinds = Counter(re.sub(r"^time=\S+ ", "", line)[:160] for line in logged)
    return ([f"  the server logged {len(logged)} errors: "
             + "; ".join(f"{n} × {kind}" for kind, n in kinds.most_common(3))] if logged else [])


# ---------------------------------------------------------------------------------------------------


STEPS = ("logins", "joins", "twelve", "room", "autosave", "idle", "throughput", "pages", "postgres")


def layout_of(people: int, groups: int) -> tuple[dict[str, list[str]], list[str]]:
    """The groups to seed: the room's groups ("room 1" …), and two groups of twelve drawn from its first people
    (one polled, one pushed: each board starts empty)."""
    names = [f"Person {n}" for n in range(1, people + 1)]
    size = max(1, people // groups)
    rooms = {f"room {n + 1}": names[n * size:(n + 1) * size] for n in range(groups)}
    return {**rooms, "twelve, polling": names[:TWELVE], "twelve, push": names[:TWELVE]}, list(rooms)


def ratio_line(runs: dict, figures: dict) -> str:
    """Today's polling beside the push, from this one run: each figure polled ÷ pushed."""
    poll, push = runs.get("poll"), runs.get("push")
    parts = []
    if poll and push:
        p95 = (report.percentile(poll.delays, .95) * 1000, report.percentile(push.delays, .95) * 1000)
        cpu = (poll.cpu_ms_per_participant_minute(), push.cpu_ms_per_participant_minute())
        parts += [f"room of {TWELVE}: write on every screen p95 {p95[0]:.0f} ÷ {p95[1]:.0f} ms = "
                  f"{p95[0] / max(p95[1], 0.1):.1f}×, server CPU a participant-minute {cpu[0]:.0f} ÷ {cpu[1]:.0f} ms"
                  f" = {cpu[0] / max(cpu[1], 0.1):.1f}×"]
    if figures.get("idle_cpu_percent") is not None and figures.get("idle_polling_cpu_percent") is not None:
        idle_cpu = (figures["idle_polling_cpu_percent"], figures["idle_cpu_percent"])
        parts += [f"idle: server CPU {idle_cpu[0]:.1f} ÷ {idle_cpu[1]:.1f}% = {idle_cpu[0] / max(idle_cpu[1], 0.1):.0f}×"]
    return "polling ÷ push: " + "; ".join(parts) if parts else ""


def _p2p_constant(name: str, module: str) -> float:
    """A number p2p/<module> sets, read from the file (as SERVER_ENV is): importing p2p here would bring Flask
    into the load generator."""
    return float(re.search(rf"^{name} = ([\d.]+)", (PROJECT_ROOT / "p2p" / module).read_text(), re.M)[1])


# The server hands back what it freed once it has been quiet for QUIET_SECONDS, as noticed by a thread that wakes
# every WAKE_SECONDS: memory after the run is read once both have passed, and a second more.
SETTLE_SECONDS = _p2p_constant("QUIET_SECONDS", "memory.py") + 2 * _p2p_constant("WAKE_SECONDS", "stream.py") + 1


class Steps:
    """The run's steps on one `p2p serve`, in order, those --only names (all if none); their figures and notes."""

    def __init__(self, only: set[str], recorder: Recorder):
        self.only, self.recorder = only, recorder
        self.figures: dict = {}
        self.notes: list[str] = []
        self.runs: dict = {}            # the room of twelve's runs, polled and pushed, for the ratio line
        self.room: Room | None = None   # the big room's screens, pushed, open from its step to the idle step

    def wanted(self, name: str) -> bool:
        return not self.only or name in self.only

    def step(self, name: str, work) -> None:
        if not self.wanted(name):
            return
        print(f"… {name}", file=sys.stderr, flush=True)
        found = work()
        if isinstance(found, tuple):
            found, more = found
            self.notes += more
        self.figures.update(found)

    def the_room(self, server, people: People) -> Room:
        if self.room is None:
            self.room, problems = big_room(server, people, self.recorder)
            self.notes += [f"  {problem}" for problem in problems]
        return self.room

    def on_waitress(self, server, args, rooms: list[str]) -> None:
        recorder, people = self.recorder, People(server, recorder_event(self.recorder))
        self.figures["startup_seconds"] = server.startup_seconds

        def twelve_step():
            found, more, self.runs = twelve(server, people, recorder, args.seconds)
            return found, more

        def room_step():
            room = self.the_room(server, people)
            found, more, run = room_run(room, args.seconds, "board_150",
                                        f"room of {room.participants} in {len(rooms)} groups, pushed")
            found["cpu_ms_per_participant_minute"] = run.cpu_ms_per_participant_minute()
            return found, more

        self.step("logins", lambda: {"login_30_seconds": logins(server, recorder, min(30, len(server.names)), 5.0)})
        self.step("joins", lambda: joins(server, recorder))
        self.step("twelve", twelve_step)
        self.step("room", room_step)
        self.step("autosave", lambda: autosave(server, self.the_room(server, people), recorder, args.seconds))
        self.step("idle", lambda: idle(server, self.the_room(server, people), recorder, max(20.0, args.seconds),
                                       max(10.0, args.seconds / 2)))
        if self.room is not None:
            self.room.close()
        self.step("throughput", lambda: throughput(server, recorder, max(3.0, args.seconds / 4)))
        self.step("pages", lambda: heaviest_page(server, people))
        busy = server.rss_mb()
        time.sleep(SETTLE_SECONDS)
        self.figures["rss_mb"], self.figures["rss_busy_mb"] = server.rss_mb(), busy
        self.notes.append(f"memory: {self.figures['rss_mb']:.0f} MB resident after the run, once the server had been "
                          f"quiet {SETTLE_SECONDS:.0f} s (it hands back what it freed when quiet), {busy:.0f} MB "
                          f"the moment the run ended, {server.rss_mb('VmHWM'):.0f} MB at the highest (during the "
                          "logins: each Argon2id takes 19 MiB while it runs)")
        waits = sum("Task queue depth" in line for line in server.output.read_text().splitlines())
        if waits:
            self.notes.append(f"waitress warned {waits} times that requests queued for a free thread")
        self.notes += errors_logged(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=150, help="participants in the room, in all")
    parser.add_argument("--groups", type=int, default=5, help="groups the room's participants are in")
    parser.add_argument("--seconds", type=float, default=15, help="length of each load phase")
    parser.add_argument("--threads", type=int, default=None, help="the server's threads (default: its config)")
    parser.add_argument("--only", default="", help="some steps only, comma-separated: " + ", ".join(STEPS))
    args = parser.parse_args(argv)
    only = {step.strip() for step in args.only.split(",") if step.strip()}
    if only - set(STEPS):
        parser.error(f"--only: the steps are {', '.join(STEPS)}")
    logging.getLogger("locust").setLevel(logging.WARNING)

    recorder = Recorder()
    load_before, started, mine = os.getloadavg()[0], time.perf_counter(), generator_cpu()
    steps = Steps(only, recorder)
    layout, rooms = layout_of(args.people, args.groups)
    if not only or only - {"postgres"}:
        print("Seeding a fresh instance with real passwords, starting the server …", file=sys.stderr, flush=True)
        with running_server(layout, rooms, args.threads) as server:
            steps.on_waitress(server, args, rooms)
    steps.step("postgres", lambda: postgres(layout, rooms, recorder, args.seconds))
    notes = steps.notes
    if ratio_line(steps.runs, steps.figures):
        notes.append(ratio_line(steps.runs, steps.figures))
    seconds = time.perf_counter() - started
    notes.append(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before the run and "
                 f"{os.getloadavg()[0]:.1f} after; the load generator (this process, on the same cores as the server) "
                 f"used {(generator_cpu() - mine) * 100 / seconds:.0f}% of a core over the run's {seconds / 60:.1f} "
                 "min. Compare ratios and CPU from one run, not latencies across runs")
    print(report.table(steps.figures, notes))
    if os.environ.get("P2P_BENCH_JSON"):
        report.write_json(os.environ["P2P_BENCH_JSON"], steps.figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
