/* The group's countdown (templates/sessions/_timer.html). The server says how many seconds are left; this counts
   down by the device's own monotonic clock, so a phone whose clock is wrong still shows the right time left.
   Screen readers hear the start, a stop, and "Time is up" once, in a polite live region that stays in the page
   (#timer-announce): only its text changes. No sound, and nothing turns red. */
(function () {
  "use strict";

  var current = null;   // {clock, deadline, done}

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

  function start(root) {
    var box = root && root.id === "group-timer" ? root : (root && root.querySelector && root.querySelector("#group-timer"));
    if (!box) return;
    var clock = box.querySelector("[data-remaining]");
    var wasRunning = current && !current.done;
    if (box.getAttribute("data-fresh")) {
      // A start or a stop that arrived while this page was open.
      if (clock) announce("A timer has started: " + clock.getAttribute("data-length") + ".");
      else if (wasRunning) announce("The timer was stopped.");
    }
    current = clock ? {clock: clock, deadline: performance.now() + Number(clock.getAttribute("data-remaining")) * 1000,
                       done: false} : null;
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:load", function (event) {
    // htmx:load also fires for the page itself and for other regions (the board's list): only a new timer counts.
    if (event.target && event.target.id === "group-timer") start(event.target);
  });
  setInterval(tick, 250);
})();
