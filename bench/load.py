"""`make bench`: the real server under a room's load, driven by locust, and one table of figures.

    make bench      (or: .venv/bin/python -m bench [--seconds 20] [--people 50] [--only joins,board,…])

One server (`p2p serve` on loopback, a fresh instance), one run, in this order:
  1. start-up: from starting the process until it accepts connections;
  2. 30 people log in, arriving evenly over 5 s (one Argon2id derivation each): until the last is in;
     then 12 people join the group at the same moment, from the QR code's link to the board (joins);
  3. the live board: 50 participants whose screens poll every 1.5 s, proposing (then, after the facilitator
     moves the board on and shows the counts, responding); propagation is the time from a write's answer to the
     moment the last of the 50 screens shows it; server latency is every board request's, as the client saw it;
  4. workbook autosave: 50 participants typing, each saving every 1–2 s what static/js/autosave.js sends;
  5. throughput with 8 clients that never wait: the bare route, the live endpoint answering "nothing new" (204)
     and a workbook session page with answers, taking turns in short windows; ratios to the bare route;
  6. the server's resident memory.
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
from collections import defaultdict
from urllib.parse import urlencode

import gevent
from gevent.event import Event
from locust import FastHttpUser, between, constant, constant_pacing, task
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment

from bench import report
from bench.server import FACILITATOR_NAME, PASSWORD, running_server

POLL_SECONDS = 1.5               # what templates/board/_poller.html asks every screen to do
SESSION_PAGE = "modules/module-1/sessions/session-1"
SESSION_PLACES = ["p2p/module-1/session-1/positive-about-p2p", "p2p/module-1/session-1/anything-challenging",
                  "p2p/module-1/session-1/behaviours-help-you-feel-safe",
                  "p2p/module-1/session-1/behaviours-you-can-demonstrate"]
TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')
LIVE_VERSION = re.compile(r"board/live\?v=(\d+)")
PROPOSAL_TEXT = re.compile(r'class="proposal__text">([^<]+)<')
PROPOSAL_ID = re.compile(r'id="proposal-(\d+)"')
TALLY = re.compile(r"Agree (\d+) · Unsure (\d+) · Object (\d+)")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WORDS = "listen gently and speak from your own experience without advice or judgement today".split()


class Recorder:
    """Every request locust makes: (name, finished at, milliseconds, error or None)."""

    def __init__(self):
        self.samples: list[tuple[str, float, float, str | None]] = []

    def __call__(self, request_type, name, response_time, exception=None, **_):
        error = f"{request_type} {name}: {exception}" if exception else None
        self.samples.append((name, time.perf_counter(), response_time, error))

    def times(self, names, since=0.0, until=float("inf")) -> list[float]:
        return [ms for name, at, ms, _ in self.samples if name in names and since <= at <= until]

    def errors(self, names=None) -> list[str]:
        return [error for name, _, _, error in self.samples if error and (names is None or name in names)]


def log_in(client: FastHttpSession, name: str) -> str:
    """As a person at the login form: the page, then name and password; returns the CSRF token htmx sends."""
    page = client.get("/login", name="login page").text or ""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    with client.post("/login", name="login", headers=FORM, catch_response=True,
                     data=urlencode({"csrf_token": found.group(1) if found else "", "name": name,
                                     "password": PASSWORD})) as response:
        token = TOKEN.search(response.text or "")
        if f"Hello, {name}" not in (response.text or "") or not token:
            response.failure("not signed in")
            return ""
    return token.group(1)


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
    """What a scenario's users share: who they are, when to start, and what they saw."""

    def __init__(self, names, group_id):
        self.names, self.group_id = names, group_id
        self.numbers = itertools.count()
        self.ready = 0
        self.go = Event()


# ---------------------------------------------------------------------------------------------------
# 2. Logins


def logins(server, recorder: Recorder, people: int, within: float) -> float:
    crowd = Crowd(server.names[:people], server.group_id)
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


def _form_field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    return found.group(1) if found else ""


def joins(server, recorder: Recorder, people: int = JOINERS) -> tuple[dict, list[str]]:
    """`people` scan the projector's QR code at the same moment (the join link, with the code in it), each with a
    phone of their own (a cookie jar), and do what each screen asks until they are on the board: fill in the join
    form (name and password, and the password again if the form asks for it), press "I have written it down" if a
    recovery card comes in between, open the board from the group page if they land there. The facilitator has the
    board open first, as in the room. The time is from the scan until the last of them sees the board."""
    board_path = f"/groups/{server.group_id}/board"
    facilitator = FastHttpSession(server.base, recorder_event(recorder), user=None)
    log_in(facilitator, FACILITATOR_NAME)
    facilitator.get(board_path, name="board page")
    go, results, errors = Event(), [], []

    def join(n: int) -> None:
        phone = FastHttpSession(server.base, recorder_event(recorder), user=None)
        go.wait()
        began, screens = time.perf_counter(), 1
        page = phone.get(f"/join/{server.join_code}", name="join page").text or ""
        fields = {"csrf_token": _form_field(page, "csrf_token"), "request_key": _form_field(page, "request_key"),
                  "name": f"Joiner {n}", "password": PASSWORD}
        if 'name="confirm"' in page:
            fields["confirm"] = PASSWORD
        response = phone.post(f"/join/{server.join_code}", name="join", headers=FORM, data=urlencode(fields))
        page, screens = response.text or "", screens + 1
        for _ in range(4):
            if ON_THE_BOARD in page:
                results.append((time.perf_counter() - began, screens))
                return
            if CARD_FORM.search(page):
                page = phone.post("/account/recovery-code", name="recovery card", headers=FORM, data=urlencode(
                    {"csrf_token": _form_field(page, "csrf_token"), "next": _form_field(page, "next")})).text or ""
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
# 3. The live board


class BoardRoom(Crowd):
    def __init__(self, names, group_id):
        super().__init__(names, group_id)
        self.phase = "propose"
        self.writing = False
        self.written: dict[str, float] = {}                  # proposal text -> when its POST returned
        self.seen: dict[str, dict[int, float]] = defaultdict(dict)  # text -> screen -> first shown
        self.responded: list[float] = []                     # when each response POST returned, in order
        self.totals_seen: dict[int, list[float]] = defaultdict(list)  # screen -> [when it first showed k+1 responses]
        self.proposals = 0


def board(server, recorder: Recorder, seconds: float) -> tuple[dict, list[str]]:
    room = BoardRoom(server.names, server.group_id)
    path = f"/groups/{room.group_id}/board"

    class Screen(FastHttpUser):
        wait_time = constant_pacing(POLL_SECONDS)

        def on_start(self):
            self.me = next(room.numbers)
            self.token = log_in(self.client, room.names[self.me])
            self.version, self.ids, self.answered = 0, [], set()
            room.ready += 1
            room.go.wait()
            gevent.sleep(random.uniform(0, POLL_SECONDS))   # screens poll out of step, as in a real room
            self.next_write = time.perf_counter() + random.uniform(1, 6)

        @task
        def poll(self):
            response = self.client.get(f"{path}/live?v={self.version}", name="board live",
                                       headers={"HX-Request": "true"})
            now = time.perf_counter()
            if response.status_code == 200:
                body = response.text or ""
                found = LIVE_VERSION.search(body)
                self.version = int(found.group(1)) if found else 0
                self.ids = PROPOSAL_ID.findall(body)
                for text in PROPOSAL_TEXT.findall(body):
                    room.seen[text].setdefault(self.me, now)
                total = sum(int(n) for t in TALLY.findall(body) for n in t)
                shown = room.totals_seen[self.me]
                shown.extend([now] * (total - len(shown)))
            if room.writing and now >= self.next_write:
                self.write()
                self.next_write = now + random.uniform(4, 8)

        def write(self):
            headers = {**FORM, "HX-Request": "true", "X-CSRFToken": self.token}
            if room.phase == "propose":
                text = f"Behaviour {self.me}-{random.randrange(10**9)}"
                self.client.post(f"{path}/proposals", name="board propose", headers=headers,
                                 data=urlencode({"text": text}))
                room.written[text] = time.perf_counter()
            else:
                choices = [i for i in self.ids if i not in self.answered]
                if not choices:
                    return
                proposal = random.choice(choices)
                self.answered.add(proposal)
                response = self.client.post(f"{path}/proposals/{proposal}/respond", name="board respond",
                                            headers=headers,
                                            data=urlencode({"kind": random.choice(["agree", "unsure", "object"])}))
                if response.status_code == 204:
                    room.responded.append(time.perf_counter())

    env = run_users(server.base, Screen, len(room.names), 10, recorder)
    wait_for(lambda: room.ready == len(room.names), 180, "the board's participants to log in")
    facilitator = FastHttpSession(server.base, env.events.request, user=None)
    token = log_in(facilitator, FACILITATOR_NAME)

    def facilitate(action):
        facilitator.post(f"{path}/settings", name="board settings", headers=FORM,
                         data=urlencode({"csrf_token": token, "action": action}))

    def everywhere() -> bool:
        return (all(len(room.seen.get(text, ())) == len(room.names) for text in list(room.written))
                and all(len(room.totals_seen[s]) >= len(room.responded) for s in range(len(room.names))))

    def catch_up():   # a write still unseen after 30 s counts as an error below
        end = time.perf_counter() + 30
        gevent.sleep(2 * POLL_SECONDS)
        while not everywhere() and time.perf_counter() < end:
            gevent.sleep(0.25)

    began, cpu = time.perf_counter(), server.cpu_seconds()
    room.go.set()
    gevent.sleep(POLL_SECONDS)
    room.writing = True
    gevent.sleep(seconds)
    room.writing = False
    catch_up()                                   # every screen shows every proposal before the board moves on
    facilitate("phase:respond")
    facilitate("tallies-on")                     # counts shown: each response changes what every screen shows
    room.phase = "respond"
    gevent.sleep(2 * POLL_SECONDS)
    room.writing = True
    gevent.sleep(seconds)
    room.writing = False
    catch_up()
    ended, cpu = time.perf_counter(), server.cpu_seconds() - cpu
    env.runner.quit()

    screens = range(len(room.names))
    delays, unseen = [], 0
    for text, written in room.written.items():   # a proposal: when the last screen first showed its text
        shown = room.seen.get(text, {})
        if len(shown) < len(room.names):
            unseen += 1
        else:
            delays.append(max(0.0, max(shown.values()) - written))
    for k, written in enumerate(room.responded):  # the k-th response: when the last screen counted k+1
        firsts = [room.totals_seen[s][k] for s in screens if len(room.totals_seen[s]) > k]
        if len(firsts) < len(room.names):
            unseen += 1
        else:
            delays.append(max(0.0, max(firsts) - written))
    names = {"board live", "board propose", "board respond"}
    latencies = recorder.times(names, began, ended)
    errors = recorder.errors(names | {"login", "login page", "board settings"})
    figures = {"board_propagation_p50_ms": report.percentile(delays, 0.50) * 1000,
               "board_propagation_p95_ms": report.percentile(delays, 0.95) * 1000,
               "board_server_p95_ms": report.percentile(latencies, 0.95),
               "board_errors": len(errors) + unseen}
    live = recorder.times({"board live"}, began, ended)
    notes = [f"board: {len(room.written)} proposals, then {len(room.responded)} responses, by {len(room.names)} "
             f"people over 2 × {seconds:g} s; {len(latencies)} requests, live p50/p95 "
             f"{report.percentile(live, .5):.0f}/{report.percentile(live, .95):.0f} ms, server CPU "
             f"{cpu * 1000 / max(1, len(latencies)):.1f} ms a request"
             + (f"; {unseen} writes never reached every screen" if unseen else "")]
    return figures, notes + [f"  {e}" for e in errors[:5]]


# ---------------------------------------------------------------------------------------------------
# 4. Workbook autosave


def autosave(server, recorder: Recorder, seconds: float) -> tuple[dict, list[str]]:
    crowd = Crowd(server.names, server.group_id)
    page = f"/groups/{crowd.group_id}/{SESSION_PAGE}"

    class Typing(FastHttpUser):
        wait_time = between(1, 2)   # a pause in typing, as autosave.js sees it

        def on_start(self):
            self.me = next(crowd.numbers)
            log_in(self.client, crowd.names[self.me])
            body = self.client.get(page, name="workbook page").text or ""
            found = TOKEN.search(body)
            self.token = found.group(1) if found else ""
            self.place = SESSION_PLACES[self.me % len(SESSION_PLACES)]
            self.revision, self.text = "", ""
            crowd.ready += 1
            crowd.go.wait()

        @task
        def save(self):
            self.text += " " + " ".join(random.choices(WORDS, k=random.randint(1, 4)))
            with self.client.post("/workbook/save", name="workbook save", catch_response=True,
                                  headers={**FORM, "X-CSRFToken": self.token, "Accept": "application/json"},
                                  data=urlencode({"place": self.place, "value": self.text.strip(),
                                                  "revision": self.revision})) as response:
                data = response.json() if response.status_code == 200 else {}
                if response.status_code != 200 or data.get("problem") or data.get("conflict"):
                    response.failure(f"status {response.status_code} {data}")
                    return
                self.revision = str(data["revision"])

    env = run_users(server.base, Typing, len(crowd.names), 10, recorder)
    wait_for(lambda: crowd.ready == len(crowd.names), 180, "the typists to log in")
    began, cpu = time.perf_counter(), server.cpu_seconds()
    crowd.go.set()
    gevent.sleep(seconds)
    ended, cpu = time.perf_counter(), server.cpu_seconds() - cpu
    env.runner.quit()
    latencies = recorder.times({"workbook save"}, began, ended)
    errors = recorder.errors({"workbook save", "workbook page", "login", "login page"})
    return ({"autosave_p95_ms": report.percentile(latencies, 0.95), "autosave_errors": len(errors)},
            [f"autosave: {len(latencies)} saves by {len(crowd.names)} people over {seconds:g} s, p50 "
             f"{report.percentile(latencies, .5):.0f} ms, server CPU {cpu * 1000 / max(1, len(latencies)):.1f} ms a save"]
            + [f"  {e}" for e in errors[:5]])


# ---------------------------------------------------------------------------------------------------
# 5. Throughput against the bare route


def throughput(server, recorder: Recorder, seconds: float, clients: int = 8) -> tuple[dict, list[str]]:
    crowd = Crowd(server.names, server.group_id)
    live = f"/groups/{crowd.group_id}/board/live"
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
    probe = FastHttpSession(server.base, env.events.request, user=None)
    log_in(probe, crowd.names[0])
    version = LIVE_VERSION.search(probe.get(live, name="probe", headers={"HX-Request": "true"}).text or "")
    routes = [("bare", "/healthz", {}),
              ("live", f"{live}?v={version.group(1) if version else 0}", {"HX-Request": "true"}),
              ("workbook", f"/groups/{crowd.group_id}/{SESSION_PAGE}", {}),
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


STEPS = ("logins", "joins", "board", "autosave", "throughput")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20, help="length of each load phase")
    parser.add_argument("--threads", type=int, default=None, help="the server's threads (default: its config)")
    parser.add_argument("--only", default="", help="some steps only, comma-separated: " + ", ".join(STEPS))
    args = parser.parse_args(argv)
    only = {step.strip() for step in args.only.split(",") if step.strip()}
    if only - set(STEPS):
        parser.error(f"--only: the steps are {', '.join(STEPS)}")
    logging.getLogger("locust").setLevel(logging.WARNING)

    recorder = Recorder()
    load_before = os.getloadavg()[0]
    figures: dict = {}
    notes: list[str] = []
    print("Seeding a fresh instance with real passwords, starting the server …", file=sys.stderr, flush=True)
    with running_server(args.people, args.threads) as server:
        figures["startup_seconds"] = server.startup_seconds
        steps = [("logins", lambda: {"login_30_seconds": logins(server, recorder, 30, 5.0)}),
                 ("joins", lambda: joins(server, recorder)),
                 ("board", lambda: board(server, recorder, args.seconds)),
                 ("autosave", lambda: autosave(server, recorder, args.seconds)),
                 ("throughput", lambda: throughput(server, recorder, max(3.0, args.seconds / 4)))]
        for name, step in steps:
            if only and name not in only:
                continue
            print(f"… {name}", file=sys.stderr, flush=True)
            found = step()
            if isinstance(found, tuple):
                found, more = found
                notes += more
            figures.update(found)
        figures["rss_mb"] = server.rss_mb()
        notes.append(f"memory: {figures['rss_mb']:.0f} MB resident after the run, {server.rss_mb('VmHWM'):.0f} MB "
                     "at the highest (during the logins: each Argon2id takes 19 MiB while it runs)")
        waits = sum("Task queue depth" in line for line in server.output.read_text().splitlines())
        if waits:
            notes.append(f"waitress warned {waits} times that requests queued for a free thread")
    notes.append(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before the run and "
                 f"{os.getloadavg()[0]:.1f} after (shared with whatever else runs: compare ratios and CPU a request "
                 "from one run, not latencies across runs)")
    print(report.table(figures, notes))
    if os.environ.get("P2P_BENCH_JSON"):
        report.write_json(os.environ["P2P_BENCH_JSON"], figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
