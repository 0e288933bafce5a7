/* The group's countdown (templates/sessions/_timer.html). Every 2 s it asks the server whether the timer was started
   or stopped (204 while nothing changed) and, while it runs, counts down from the seconds the server said were left
   by the device's own monotonic clock: a phone whose clock is wrong still shows the right time left.

   It polls with fetch rather than htmx: on a session page someone may be writing in their workbook while the Wi-Fi
   comes and goes, and a lost poll should cost nothing, not even an error in the console; the countdown carries on.

   Screen readers hear the start, a stop, and "Time is up" once, in a polite live region that stays in the page
   (#timer-announce): only its text changes. No sound, and nothing turns red. */
(function () {
  "use strict";

  var POLL_MS = 2000;
  var current = null;   // the running countdown: {clock, deadline, done}
  var asking = false;
  var shown = null;     // the box counting down now

  function announce(text) {
    var region = document.getElementById("timer-announce");
    if (!region) return;
    region.textContent = "";
    // A moment's gap, so the same words twice in a row are still read out.
    setTimeout(function () { region.textContent = text; }, 100);
  }

  function clockText(seconds) {
    var minutes = Math.floor(seconds / 60), rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest + " left";
  }

  function tick() {
    if (!current || current.done || !document.body.contains(current.clock)) return;
    var left = Math.max(0, Math.ceil((current.deadline - performance.now()) / 1000));
    if (left > 0) {
      current.clock.textContent = clockText(left);
      return;
    }
    current.done = true;
    current.clock.textContent = "Time is up";
    current.clock.closest(".group-timer").setAttribute("data-state", "up");
    announce("Time is up.");
  }

  function start(box) {
    shown = box;
    var clock = box.querySelector("[data-remaining]");
    if (box.getAttribute("data-fresh")) {
      // A start or a stop that arrived while this page was open.
      if (clock) announce("A timer has started: " + clock.getAttribute("data-length") + ".");
      else if (current && !current.done) announce("The timer was stopped.");
    }
    current = clock ? {clock: clock, deadline: performance.now() + Number(clock.getAttribute("data-remaining")) * 1000,
                       done: false} : null;
    tick();
  }

  function ask() {
    var box = document.getElementById("group-timer");
    if (!box || asking || !window.fetch || (window.p2pLive && window.p2pLive.streaming())) return;   // live.js
    asking = true;
    fetch(box.getAttribute("data-poll"), {headers: {"HX-Request": "true"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.status === 200 ? response.text() : null; })
      .then(function (html) {
        if (!html) return;   // 204: nothing changed (or the session ended: the page's own links will say so)
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.firstElementChild;
        if (fresh && fresh.id === "group-timer") {
          box.replaceWith(fresh);
          start(fresh);
        }
      })
      .catch(function () { /* no connection just now: keep counting, and ask again next time */ })
      .then(function () { asking = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("group-timer");
    if (!box) return;
    start(box);
    setInterval(tick, 250);
    setInterval(ask, POLL_MS);
    // A start or a stop brought by the page's stream (static/js/live.js) puts a new box in place of this one.
    document.addEventListener("p2p:updated", function () {
      var now = document.getElementById("group-timer");
      if (now && now !== shown) start(now);
    });
  });
})();
