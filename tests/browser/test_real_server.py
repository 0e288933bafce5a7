"""The server as a host runs it (`p2p serve`, waitress) with its own guards, and the README's VPS set-up: the
real Caddy (Debian's package; `tls internal` makes its certificate with no network) in front, configured from
deploy/Caddyfile, and the app started as the README says (P2P_TRUSTED_PROXIES=1, P2P_SESSION_COOKIE_SECURE=1).

Behind Caddy each person is their own address (the loopback has all of 127/8: a client can come from
127.0.0.2, another from 127.0.0.3), so per-person throttling is tested as a room would meet it.
"""

from __future__ import annotations

import gzip
import html
import http.client
import re
import shutil
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from .helpers import log_in
from .server import PROJECT_ROOT, LiveServer, free_port

CADDY = shutil.which("caddy")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app as deploy/p2p.service's VPS line starts it: on loopback, believing the one proxy in front."""
    server = LiveServer(tmp_path_factory.mktemp("instance"))
    server.env.update({"P2P_TRUSTED_PROXIES": "1", "P2P_SESSION_COOKIE_SECURE": "1"})
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def caddy(live_server, tmp_path_factory) -> int:
    """deploy/Caddyfile with the test's own name and ports: returns the HTTPS port."""
    if not CADDY:
        pytest.skip("caddy is missing: `make test` installs Debian's caddy package")
    folder, https_port = tmp_path_factory.mktemp("caddy"), free_port()
    site = (PROJECT_ROOT / "deploy" / "Caddyfile").read_text()
    site = site.replace("p2p.example.org", f"localhost:{https_port}").replace("127.0.0.1:5000",
                                                                               f"127.0.0.1:{live_server.port}")
    (folder / "Caddyfile").write_text(f"{{\n\tadmin off\n\thttp_port {free_port()}\n\thttps_port {https_port}\n"
                                      f"\tskip_install_trust\n}}\n{site}")
    env = {"HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config"),
           "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([CADDY, "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while Visitor(https_port).get("/healthz")[0] != 200:   # its certificate made, and the app behind it
            assert process.poll() is None and time.monotonic() < deadline, "caddy did not start"
            time.sleep(0.2)
        yield https_port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser_context_args(caddy) -> dict:
    return {"base_url": f"https://localhost:{caddy}", "ignore_https_errors": True}


class Visitor:
    """One person reaching the app through Caddy from their own address, with their own cookies."""

    def __init__(self, port: int, address: str = "127.0.0.1"):
        self.port, self.address, self.cookies = port, address, {}

    def connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("localhost", self.port, context=ssl._create_unverified_context(),
                                           source_address=(self.address, 0), timeout=10)

    def headers(self, **more: str) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **more}

    def request(self, method: str, path: str, form: dict | None = None, **headers: str) -> tuple[int, dict, str]:
        """`headers` as Python names: Accept_Encoding="gzip" is Accept-Encoding: gzip."""
        connection = self.connection()
        headers = self.headers(**{name.replace("_", "-"): value for name, value in headers.items()})
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, urlencode(form) if form is not None else None, headers)
            answer = connection.getresponse()
            body = answer.read()
            body = gzip.decompress(body) if answer.getheader("Content-Encoding") == "gzip" else body
            body = html.unescape(body.decode())   # as a person reads it: &#39; is an apostrophe
        except OSError:
            return 0, {}, ""
        finally:
            connection.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return answer.status, answer.headers, body

    def get(self, path: str):
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict, page: str | None = None):
        """POST as the `page`'s form would (the page at `path` if none): with the CSRF token the page carries."""
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.get(page or path)[2]).group(1)
        return self.request("POST", path, {"csrf_token": token, **fields})

    def follow(self, page: str) -> Stream:
        """The stream of a page this visitor has (its HTML), as static/js/live.js opens it in a browser: the page's
        live regions as its feeds."""
        feeds = re.findall(r'data-live-feed="\w+" data-(?:hx-get|poll)="([^"]+)"', page)
        stream = re.search(r'data-live-stream="([^"]+)"', page).group(1)
        return Stream(self, stream + "?" + urlencode([("feed", feed) for feed in feeds]))


class Stream:
    """A stream's events as a browser receives them through Caddy: over HTTPS, asking for gzip as browsers do."""

    def __init__(self, visitor: Visitor, path: str):
        self.connection = visitor.connection()
        self.connection.request("GET", path, headers=visitor.headers(
            Accept="text/event-stream", **{"Accept-Encoding": "gzip, deflate", "Sec-Fetch-Site": "same-origin"}))
        self.answer = self.connection.getresponse()
        assert self.answer.status == 200, self.answer.status

    def next(self) -> tuple[str, str]:
        """The next event's name and data (heartbeats skipped)."""
        name, data = "", []
        while True:
            line = self.answer.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and name:
                return name, "\n".join(data)

    def close(self) -> None:
        self.connection.close()


# -- Behind Caddy ---------------------------------------------------------------------------------------------


def test_behind_caddy_pages_are_https_with_hsts_and_secure_cookies(caddy):
    status, headers, _ = Visitor(caddy).get("/login")
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert all("Secure" in cookie for cookie in headers.get_all("Set-Cookie"))


def test_behind_caddy_the_invite_link_and_setup_link_say_https(caddy, page, demo, live_server):
    log_in(page, demo.facilitator.name, demo.facilitator.password)
    page.get_by_role("link", name=demo.group_name).click()
    page.get_by_role("link", name="Invite people").click()
    link = page.locator(".copy-box code")
    expect(link).to_have_text(re.compile(rf"^https://localhost:{caddy}/join/[A-Z0-9]{{6}}$"))
    assert "https://p2p.example.org/setup/" in live_server.command("setup-link", "--url", "https://p2p.example.org")


def test_behind_caddy_a_change_reaches_an_open_stream_at_once_and_pages_stay_compressed(caddy, demo):
    """Caddy's gzip held a stream's events back (up to 3 s), once a stream had sent enough to compress; pages must
    stay compressed, except those another site made the browser ask for (BREACH: the app leaves them be)."""
    robin, alex, sam = Visitor(caddy, "127.0.0.4"), Visitor(caddy, "127.0.0.5"), Visitor(caddy, "127.0.0.6")
    for visitor, account in ((robin, demo.facilitator), (alex, demo.participants[0]), (sam, demo.participants[1])):
        visitor.post_form("/login", {"name": account.name, "password": account.password})
    board = re.search(r'href="(/groups/\d+)"', robin.get("/")[2]).group(1) + "/board"
    robin.get(board)   # opened by its facilitator

    for site, compressed in (("same-origin", True), ("none", True), ("cross-site", False)):
        status, headers, page = alex.request("GET", board, Accept_Encoding="gzip", Sec_Fetch_Site=site)
        assert status == 200 and "Our code of behaviour" in page
        assert (headers["Content-Encoding"] == "gzip") is compressed, site

    # Alex's phone comes back to the page after a while: its stream starts with what it missed, a large first
    # write (had Caddy's gzip taken the stream on, it would have held the events after it back).
    page = alex.get(board)[2]
    assert sam.post_form(f"{board}/proposals", {"text": "Listen without judging"}, page=board)[0] == 302
    events = alex.follow(page)
    assert events.answer.getheader("Content-Encoding") is None
    assert events.next() == ("hello", "")
    assert "Listen without judging" in events.next()[1]
    for words in ("Be on time", "Phones on silent"):
        assert sam.post_form(f"{board}/proposals", {"text": words}, page=board)[0] == 302
        saved = time.monotonic()
        name, data = events.next()
        assert name == "update" and words in data
        assert time.monotonic() - saved < 1   # well under: waitress sends each event at once, and so does Caddy
    events.close()


def test_behind_caddy_each_person_has_their_own_throttle(caddy):
    """One person's wrong codes slow that person down, not the whole room (everyone used to be 127.0.0.1)."""
    guesser, neighbour = Visitor(caddy, "127.0.0.2"), Visitor(caddy, "127.0.0.3")
    # 20 go at once, then each must wait 1 s, 2 s, 4 s … after the one before: on a busy machine a code can take
    # longer than the first wait to be answered, and the next goes through (models.Throttle), so a few more.
    for _ in range(26):
        page = guesser.post_form("/join", {"code": "ZZZ-ZZZ"})[2]
        if "Quite a few codes have been tried from here" in page:
            break
    assert "Quite a few codes have been tried from here" in page
    page = neighbour.post_form("/join", {"code": "ZZZ-ZZZ"})[2]
    assert "That code isn't working" in page and "Quite a few codes" not in page


# -- waitress's own guards ------------------------------------------------------------------------------------


def test_a_hundred_stalled_clients_do_not_keep_the_room_out(live_server):
    stalled = []
    try:
        for _ in range(100):   # each sends half a request and then nothing (at the default limit, 100 filled it)
            connection = socket.create_connection(("127.0.0.1", live_server.port))
            connection.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
            stalled.append(connection)

        def a_person(_):
            started = time.monotonic()
            connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
            connection.request("GET", "/login")
            status = connection.getresponse().status
            connection.close()
            return status, time.monotonic() - started

        with ThreadPoolExecutor(30) as room:
            answers = list(room.map(a_person, range(30)))
        assert [status for status, _ in answers] == [200] * 30
        assert max(seconds for _, seconds in answers) < 5
    finally:
        for connection in stalled:
            connection.close()


def test_a_huge_body_is_refused_before_it_is_read(live_server):
    """waitress reads a body (to disk beyond a buffer) before Flask's own limit applies: a few 1 GB posts would
    fill a Pi's card. It must refuse from the Content-Length alone."""
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=5) as connection:
        connection.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-"
                           b"urlencoded\r\nContent-Length: 67108864\r\n\r\n")
        assert connection.recv(64).startswith(b"HTTP/1.1 413")
