"""What travels over the Wi-Fi: pages compressed for browsers that take it, static files minified, compressed once
and kept for good under addresses that carry their content's hash (p2p/delivery.py)."""

import gzip
import re

import brotli
import pytest
from conftest import text

pytestmark = pytest.mark.sqlite_only   # nothing here touches the database

GZIP_ONLY = {"Accept-Encoding": "gzip, deflate"}   # Chromium over plain HTTP, as on a room's network
BROTLI_TOO = {"Accept-Encoding": "gzip, deflate, br, zstd"}   # over HTTPS


def without_tokens(page: str) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]+"|name="csrf_token" value="[^"]+"', "", page)


def static_addresses(client) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', text(client.get("/")))


def test_a_page_is_compressed_for_a_browser_that_takes_it_and_plain_for_one_that_does_not(client):
    plain = client.get("/privacy")
    assert "Content-Encoding" not in plain.headers
    for headers, decode in ((GZIP_ONLY, gzip.decompress), (BROTLI_TOO, brotli.decompress)):
        response = client.get("/privacy", headers=headers)
        assert response.headers["Content-Encoding"] in headers["Accept-Encoding"]
        assert len(response.data) < len(plain.data) / 2
        # The same page, apart from the form token each answer carries (it holds the time).
        assert without_tokens(decode(response.data).decode()) == without_tokens(plain.get_data(as_text=True))
        assert {"Accept-Encoding", "HX-Request"} <= set(re.split(r",\s*", response.headers["Vary"]))


def test_a_page_another_site_sent_the_browser_to_is_not_compressed(client):
    """BREACH: a secret in a compressed page beside text another site chose leaks through the page's length."""
    response = client.get("/privacy?next=csrf_token", headers={**GZIP_ONLY, "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    for site in ("same-origin", "none"):   # this app's own pages, and an address typed or bookmarked
        assert client.get("/privacy", headers={**GZIP_ONLY, "Sec-Fetch-Site": site}).headers["Content-Encoding"] == "gzip"


def test_every_static_address_carries_its_hash_and_is_kept_for_good(client):
    addresses = static_addresses(client)
    assert any("app.css" in a for a in addresses) and any("htmx" in a for a in addresses)
    for address in addresses:
        assert re.search(r"\?v=[0-9a-f]{12}$", address), address
        response = client.get(address, headers=GZIP_ONLY)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_an_address_whose_hash_is_not_the_files_is_checked_every_time(client):
    """A page from before an update asking for a file the update changed gets today's file, not kept."""
    for address in ("/static/css/app.css?v=000000000000", "/static/css/app.css"):
        response = client.get(address)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"


def test_static_files_are_minified_compressed_and_answer_304_when_unchanged(client):
    css = next(a for a in static_addresses(client) if "app.css" in a)
    plain = client.get(css)
    assert b"/*" not in plain.data   # the comments stay in static/, for people reading it
    for headers, encoding, decode in ((GZIP_ONLY, "gzip", gzip.decompress), (BROTLI_TOO, "br", brotli.decompress)):
        response = client.get(css, headers=headers)
        assert response.headers["Content-Encoding"] == encoding
        assert decode(response.data) == plain.data and len(response.data) < len(plain.data) / 3
        again = client.get(css, headers={**headers, "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    # An ETag names its encoding: a cache never hands a gzip body to a browser that asked for brotli.
    assert client.get(css, headers=GZIP_ONLY).headers["ETag"] != client.get(css, headers=BROTLI_TOO).headers["ETag"]


def test_a_file_too_small_to_gain_is_sent_as_it_is(client):
    icon = client.get(next(a for a in static_addresses(client) if "favicon" in a), headers=BROTLI_TOO)
    assert "Content-Encoding" not in icon.headers and icon.data.startswith(b"<svg")


def test_nothing_outside_static_is_served_from_it(client):
    for address in ("/static/../p2p/__init__.py", "/static/%2e%2e/pyproject.toml", "/static/nowhere.js"):
        assert client.get(address).status_code == 404
