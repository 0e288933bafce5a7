"""The budgets that keep streams from starving everything else, on the real server (`p2p serve`, waitress): a
process holds at most LIVE_STREAMS streams, each on a thread of its own beside THREADS for ordinary requests; a
screen beyond the budget is told to poll (204), and a stream whose screen has gone gives its place back."""

import http.client
import re
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from browser.server import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("instance"))
    live.env.update({"P2P_THREADS": "2", "P2P_LIVE_STREAMS": "3"})
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def demo(server):
    return server.demo()


class Phone:
    """One person's cookies, and plain requests with them."""

    def __init__(self, server, name, password):
        self.base, self.jar = server.url, CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        self.opener.open(f"{self.base}/login", urllib.parse.urlencode(
            {"csrf_token": token, "name": name, "password": password}).encode(), timeout=10)

    def get(self, path) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def stream(self, path) -> tuple[int, http.client.HTTPResponse]:
        """Opens a stream as EventSource would; its status, and (200) the stream, once "hello" has come (closing
        it closes the connection)."""
        connection = http.client.HTTPConnection("127.0.0.1", int(self.base.rsplit(":", 1)[1]), timeout=10)
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        connection.request("GET", path, headers={"Accept": "text/event-stream", "Cookie": cookies})
        response = connection.getresponse()
        if response.status == 200:
            assert response.readline() and b"event: hello" in response.readline()
        return response.status, response


def test_streams_beyond_the_budget_poll_and_ordinary_requests_are_never_kept_waiting(server, demo):
    person = demo.participants[0]
    phone = Phone(server, person.name, person.password)
    board = re.search(r'href="(/groups/\d+)', phone.get("/")).group(1) + "/board"
    poller = re.search(r'data-live-feed="board" data-hx-get="([^"]+)"', phone.get(board)).group(1).replace("&amp;", "&")
    stream = f"{board.rsplit('/', 1)[0]}/stream?feed={urllib.parse.quote(poller, safe='')}"
    held = [phone.stream(stream) for _ in range(3)]
    assert [status for status, _ in held] == [200, 200, 200]
    assert phone.stream(stream)[0] == 204   # the fourth screen polls
    began = time.monotonic()
    for _ in range(4):   # more than THREADS ordinary requests, one after another, while three streams are held
        assert "Our code of behaviour" in phone.get(board)
    assert time.monotonic() - began < 5
    held[0][1].close()   # that screen goes (a closed lid): its place comes back after a heartbeat or two
    deadline = time.monotonic() + 10
    while (status := phone.stream(stream))[0] != 200:
        assert time.monotonic() < deadline, "the stream's place never came back"
        time.sleep(0.5)
    for _, stream_ in [*held, status]:
        stream_.close()


def test_a_whole_board_comes_through_the_real_server_whole_in_its_pieces(server, demo):
    """A screen whose page is older than the board gets the whole list: more than one piece (p2p/stream.py sends
    an update in pieces under 8 KB, which waitress keeps none of), read back as one event, every behaviour in it."""
    from p2p.stream import PIECE_BYTES
    person = demo.participants[1]
    phone = Phone(server, person.name, person.password)
    board = re.search(r'href="(/groups/\d+)', phone.get("/")).group(1) + "/board"
    token = re.search(r'name="csrf_token" value="([^"]+)"', phone.get(board)).group(1)
    for n in range(20):   # (as many as one person may propose)
        phone.opener.open(f"{phone.base}{board}/proposals", urllib.parse.urlencode(
            {"csrf_token": token, "text": f"Wait for the end of the sentence, ünïcödé {n}: " + "é" * 150}).encode(),
            timeout=10)
    page = phone.get(board)
    poller = re.search(r'data-live-feed="board" data-hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    old = re.sub(r"\bv=\d+", "v=0", poller)   # as a screen that has seen none of it
    deadline = time.monotonic() + 10   # (the streams of the test before give their places back in a moment)
    while (opened := phone.stream(f"{board.rsplit('/', 1)[0]}/stream?feed={urllib.parse.quote(old, safe='')}"))[0] != 200:
        assert time.monotonic() < deadline, "no place for the stream"
        time.sleep(0.5)
    response = opened[1]
    event = b""
    while not event.endswith(b"\n\n") or b"event: update" not in event:
        event += response.readline()
    update = event.decode()   # whole characters again, wherever a piece ended
    response.close()
    assert len(event) > PIECE_BYTES
    shown = re.findall(r'<li id="proposal-(\d+)"', page)
    assert len(shown) == 20 and set(shown) <= set(re.findall(r'<li id="proposal-(\d+)"', update))
    assert update.count("é" * 150) == 20
