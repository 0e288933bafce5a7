/* One stream per screen (p2p/stream.py): what the page's pollers would ask for, pushed as it happens.

   Every live region's poller carries data-live-feed and the address it polls (data-hx-get, or the timer's
   data-poll), with the version it shows. This opens one EventSource for all of them; while it is held, the
   pollers stay quiet, and each event's HTML (htmx's out-of-band pieces: only what changed on this screen) is
   swapped in by htmx, as a poll's answer would be, so focus, a half-typed wording and opened panels stay as they
   are. The pollers are swapped too, so they always hold the version the screen shows.

   When a stream cannot be held, the pollers simply go on: no EventSource; the server's budget of streams full
   (204); a proxy that holds the events back (no "hello" within HELLO_MS); a dropped Wi-Fi (until the next try).
   Each try starts a new stream from the pollers' addresses as they are then, so it carries on from the version
   the screen shows: what it missed comes whole, never twice.

   Events wait while this screen's own request is on its way (a response just tapped): applied in between, one
   read before that response was saved would show the old choice again for a moment. */
(function () {
  "use strict";

  var HELLO_MS = 5000;        // a stream that has said nothing by then is held up on its way
  var RETRY_MS = [2000, 5000, 15000, 30000, 60000];   // after a failure, the next try (then every minute)
  var HOLD_MS = 3000;         // the longest events wait for a request of this screen's own

  var source = null, streaming = false, failures = 0, waiting = null, retry = null;
  var held = [], busy = 0, holdTimer = null;

  function isFeed(element) {
    return element && element.hasAttribute && element.hasAttribute("data-live-feed");
  }

  function address() {
    var holder = document.getElementById("live-stream");
    var feeds = document.querySelectorAll("[data-live-feed]");
    if (!holder || !feeds.length) return null;
    return holder.getAttribute("data-live-stream") + "?" + Array.prototype.map.call(feeds, function (feed) {
      return "feed=" + encodeURIComponent(feed.getAttribute("data-hx-get") || feed.getAttribute("data-poll"));
    }).join("&");
  }

  function setStreaming(on) {
    streaming = on;
    if (on) document.documentElement.setAttribute("data-live", "stream");
    else document.documentElement.removeAttribute("data-live");
    document.dispatchEvent(new CustomEvent("p2p:live", {detail: {streaming: on}}));
  }

  // A behaviour this screen shows already (a facilitator's own change is answered with the whole board) is
  // replaced where it is, never added a second time.
  function withoutDoubles(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    Array.prototype.forEach.call(template.content.querySelectorAll('[data-hx-swap-oob^="beforeend:"]'), function (list) {
      Array.prototype.slice.call(list.children).forEach(function (item) {
        if (item.id && document.getElementById(item.id)) {
          item.setAttribute("data-hx-swap-oob", "true");
          list.parentNode.insertBefore(item, list);
        }
      });
    });
    return template.innerHTML;
  }

  function apply(html) {
    htmx.swap(document.body, withoutDoubles(html), {swapStyle: "none"});
    document.dispatchEvent(new CustomEvent("p2p:updated"));
  }

  function flush() {
    clearTimeout(holdTimer);
    holdTimer = null;
    var now = held;
    held = [];
    now.forEach(apply);
  }

  function received(event) {
    if (!busy) { apply(event.data); return; }
    held.push(event.data);
    // A request that has not ended by then (or whose end htmx never said) holds nothing back any longer.
    if (!holdTimer) holdTimer = setTimeout(function () { busy = 0; flush(); }, HOLD_MS);
  }

  function failed() {
    clearTimeout(waiting);
    if (source) source.close();
    source = null;
    setStreaming(false);
    var wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
    failures += 1;
    clearTimeout(retry);
    retry = setTimeout(open, wait);
  }

  function open() {
    var url = address();
    if (!url || source || document.hidden) return;
    source = new EventSource(url);
    waiting = setTimeout(failed, HELLO_MS);
    source.addEventListener("hello", function () {
      clearTimeout(waiting);
      failures = 0;
      setStreaming(true);
    });
    source.addEventListener("update", received);
    // A drop, the server's 204, an error: the pollers take over until the next try, from the version shown then.
    source.onerror = failed;
  }

  function close() {
    clearTimeout(waiting);
    clearTimeout(retry);
    if (source) source.close();
    source = null;
    setStreaming(false);
  }

  // Pollers stay quiet while the stream carries what they would ask for.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (streaming && isFeed(event.detail.elt)) event.preventDefault();
  });
  // This screen's own changes are brought by its stream too, in turn with everyone's (board._answer).
  document.addEventListener("htmx:configRequest", function (event) {
    if (streaming && !isFeed(event.detail.elt)) event.detail.headers["P2P-Live"] = "stream";
  });
  document.addEventListener("htmx:beforeSend", function (event) {
    if (!isFeed(event.detail.elt)) busy += 1;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (isFeed(event.detail.elt)) return;
    busy = Math.max(0, busy - 1);
    if (!busy) flush();
  });

  // A hidden tab holds no stream (a phone's browser may keep many tabs; each open stream is a server thread):
  // back in view, it opens a new one, which brings what changed meanwhile.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) close();
    else { failures = 0; open(); }
  });
  window.addEventListener("pagehide", close);
  // Off the network, a stream may look open for a while yet carry nothing: the pollers say so at once (and keep
  // trying); back on it, a new stream brings what was missed.
  window.addEventListener("offline", close);
  window.addEventListener("online", function () { failures = 0; open(); });

  window.p2pLive = {streaming: function () { return streaming; }};

  function start() {
    if (window.EventSource && window.htmx) open();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
