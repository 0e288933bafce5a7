"""What a phone downloads: each page a participant (or the facilitator, for the projector) opens, with the style
sheets and scripts it loads, as the server sends them to a browser taking `br, gzip` on a first visit; and how many
requests a repeat visit makes (the page, plus any file the browser was not told to keep)."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from bench import parse

ACCEPT = {"Accept-Encoding": "br, gzip", "Accept": "text/html,*/*", "Sec-Fetch-Site": "same-origin"}


def fetch(base: str, path: str, cookie: str) -> tuple[int, bytes, dict[str, str]]:
    """One GET, nothing decoded: the body's bytes as they travelled."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", path, headers={**ACCEPT, "Cookie": cookie})
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def decoded(body: bytes, encoding: str) -> str:
    if encoding == "br":
        import brotli
        body = brotli.decompress(body)
    elif encoding == "gzip":
        import gzip
        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")


def kept_for_good(headers: dict[str, str]) -> bool:
    """Whether a browser keeps this file without asking again (a long max-age; `immutable`)."""
    control = headers.get("cache-control", "")
    return "immutable" in control or any(part.strip().startswith("max-age=") and part.strip() != "max-age=0"
                                         for part in control.split(","))


def weigh(base: str, pages: dict[str, tuple[str, str]]) -> tuple[dict[str, tuple[float, int, int]], list[str]]:
    """Each page (label -> (path, cookie)): KB transferred on a first visit (the page and what it loads), the
    number of files it loads, and requests on a repeat visit. Problems, as text."""
    weights, problems = {}, []
    for label, (path, cookie) in pages.items():
        status, body, headers = fetch(base, path, cookie)
        if status != 200:
            problems.append(f"{label}: {path} answered {status}")
            continue
        total, again = len(body), 1
        files = parse.assets(decoded(body, headers.get("content-encoding", "")))
        for asset in files:
            status, asset_body, asset_headers = fetch(base, asset, cookie)
            if status != 200:
                problems.append(f"{label}: {asset} answered {status}")
            total += len(asset_body)
            again += not kept_for_good(asset_headers)
        weights[label] = (total / 1024, len(files), again)
    return weights, problems
