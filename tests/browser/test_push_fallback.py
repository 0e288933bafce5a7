"""A phone behind a proxy that holds answers back until they end (as some hotel, school and work networks do, and
proxies that ignore `X-Accel-Buffering: no`): its stream never says hello, so static/js/live.js gives it up after
HELLO_MS and the page's pollers carry the board, with nothing missed and nothing shown twice."""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading

import pytest
from playwright.sync_api import expect

from .helpers import PHONE, log_in
from .test_board import LIVE_MS, SENT, item, proposal_box, proposal_status

HELLO_MS = 5000    # static/js/live.js: a stream that has said nothing by then is held up on its way
HELD = 64 * 1024   # what the proxy keeps before it passes anything on


class BufferingProxy(socketserver.ThreadingTCPServer):
    """Passes each request to the server and holds the answer until it ends (or HELD bytes have come): pages and
    polls arrive whole, a stream's events never do. One request a connection (it asks the server to close)."""

    daemon_threads = True

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        super().__init__(("127.0.0.1", 0), ProxiedRequest)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class ProxiedRequest(socketserver.BaseRequestHandler):
    def handle(self):
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        head, _, body = head.partition(b"\r\n\r\n")
        request_line, *fields = head.split(b"\r\n")
        fields = [field for field in fields if not field.lower().startswith(b"connection:")]
        length = next((int(field.split(b":", 1)[1]) for field in fields
                       if field.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += client.recv(65536)
        with socket.create_connection(("127.0.0.1", self.server.upstream_port)) as upstream:
            upstream.sendall(b"\r\n".join([request_line, *fields, b"Connection: close", b"", b""]) + body)
            held = b""
            with selectors.DefaultSelector() as both:
                both.register(upstream, selectors.EVENT_READ)
                both.register(client, selectors.EVENT_READ)
                while True:
                    ready = [key.fileobj for key, _ in both.select()]
                    if client in ready and not client.recv(65536):
                        return   # the browser gave up (live.js closed the stream): so does the proxy
                    if upstream in ready:
                        chunk = upstream.recv(65536)
                        held += chunk
                        if not chunk or len(held) >= HELD:
                            client.sendall(held)
                            held = b""
                        if not chunk:
                            return


@pytest.fixture(scope="module")
def proxy(live_server):
    server = BufferingProxy(live_server.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def base_url(proxy) -> str:
    """Every browser context reaches the app through the proxy, unless made with the server's own address."""
    return proxy.url


def propose(page, words: str) -> None:
    proposal_box(page).fill(words)
    page.get_by_role("button", name="Propose").click()
    expect(proposal_status(page)).to_have_text(SENT)


def test_behind_a_proxy_that_holds_streams_back_a_phone_polls_by_itself_and_misses_nothing(
        browser, live_server, demo, new_context, problems):
    robin, sam = demo.facilitator, demo.participants[1]
    direct = [problems.watch(browser.new_context(base_url=live_server.url, viewport=PHONE)) for _ in range(2)]
    try:
        # The facilitator opens the board; Sam follows it on the room's own network, his stream held.
        facilitator, sams = (context.new_page() for context in direct)
        log_in(facilitator, robin.name, robin.password)
        facilitator.get_by_role("link", name=demo.group_name).click()
        facilitator.get_by_role("link", name="Our code of behaviour").click()
        expect(facilitator.get_by_role("heading", level=1)).to_have_text("Our code of behaviour")
        board = facilitator.url.removeprefix(live_server.url)
        log_in(sams, sam.name, sam.password)
        sams.goto(board)
        expect(sams.locator("html")).to_have_attribute("data-live", "stream")

        # Alex, behind the proxy: the stream opens and says nothing. Meanwhile his pollers bring what others
        # propose, and what he proposes reaches Sam by Sam's stream; then live.js gives the stream up by itself.
        alex = demo.participants[0]
        alexs = problems.watch(new_context(viewport=PHONE)).new_page()
        log_in(alexs, alex.name, alex.password)
        with alexs.expect_event("requestfailed", lambda request: "/stream?" in request.url,
                                timeout=HELLO_MS + LIVE_MS) as given_up:
            alexs.goto(board)
            expect(alexs.get_by_role("heading", level=1)).to_have_text("Our code of behaviour")
            propose(sams, "Phones on silent")
            expect(item(alexs, "Phones on silent")).to_be_visible(timeout=LIVE_MS)
            propose(alexs, "Be on time")
            expect(item(sams, "Be on time")).to_be_visible(timeout=LIVE_MS)
        assert given_up.value.failure == "net::ERR_ABORTED"   # closed by the page, not by the network
        assert alexs.evaluate("window.p2pLive.streaming()") is False

        # Without its stream, the page goes on polling.
        propose(sams, "Listen without judging")
        expect(item(alexs, "Listen without judging")).to_be_visible(timeout=LIVE_MS)
        # That poll brought the whole list: each behaviour once, Alex's own too.
        for words in ("Phones on silent", "Be on time", "Listen without judging"):
            expect(item(alexs, words)).to_have_count(1)
            expect(item(sams, words)).to_have_count(1)
        expect(alexs.locator("html")).not_to_have_attribute("data-live", "stream")
    finally:
        for context in direct:
            context.close()
