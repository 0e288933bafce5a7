/* The room's screen (body.projector, data-pages naming its list): the list fills the screen below the heading, in
   as many columns as fit (app.css), in the largest of a few type sizes that shows all of it at once. When even the
   smallest does not (it is still 32 px on a 1080p screen), the columns carry on to the right, out of sight, and
   the list is shown a screen at a time: a page is exactly the list's width (and the gap after it) further on.

   The pages turn by themselves, every 15 s: the projector's computer is usually one nobody stands at, and the
   facilitator is with the group, not at a second screen. A presentation clicker or a keyboard turns them by hand
   (Page Down, Page Up, the arrow keys), and "Stop turning the pages" keeps the one showing (WCAG 2.2.2). A page
   simply replaces the one before, with no animation.

   Live updates (htmx) replace the list: it is fitted again before the new one is painted, on the same page. */
(function () {
  "use strict";

  var TURN_MS = 15000;
  var FITS = 4;   // app.css: [data-fit="0"] is the largest type, [data-fit="3"] the smallest
  var KEYS = {PageDown: 1, ArrowRight: 1, ArrowDown: 1, PageUp: -1, ArrowLeft: -1, ArrowUp: -1};
  var page = 0, pages = 1, turning = true, turner = null;

  function list() {
    return document.querySelector(document.body.getAttribute("data-pages"));
  }

  function gap(el) {
    return parseFloat(getComputedStyle(el).columnGap) || 0;
  }

  function show(number) {
    var el = list(), pager = document.querySelector("[data-pager]");
    page = number;
    if (el) el.scrollLeft = page * (el.clientWidth + gap(el));
    if (!pager) return;
    pager.hidden = pages < 2;
    pager.querySelector("[data-page-number]").textContent = "Page " + (page + 1) + " of " + pages;
  }

  function fit() {
    var el = list();
    if (!el) return;
    var level = 0;
    el.setAttribute("data-fit", level);
    while (el.scrollWidth > el.clientWidth + 1 && level < FITS - 1) {
      level += 1;
      el.setAttribute("data-fit", level);
    }
    // Less one pixel: column widths are fractional, and a rounding must not make a page of nothing.
    pages = Math.max(1, Math.ceil((el.scrollWidth + gap(el) - 1) / (el.clientWidth + gap(el))));
    show(Math.min(page, pages - 1));
  }

  function turnByItself() {
    clearInterval(turner);
    turner = turning ? setInterval(function () { if (pages > 1) show((page + 1) % pages); }, TURN_MS) : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!list()) return;
    fit();
    turnByItself();
    // htmx swaps (the list, the phase above it), before they are painted and once they have settled.
    document.addEventListener("htmx:afterSwap", fit);
    document.addEventListener("p2p:updated", fit);   // the stream's changes (static/js/live.js)
    document.addEventListener("htmx:afterSettle", fit);
    window.addEventListener("resize", fit);
    // The group's timer (static/js/timer.js) coming or going changes the room left for the list.
    new MutationObserver(fit).observe(document.getElementById("main"), {childList: true});

    document.addEventListener("keydown", function (event) {
      var step = KEYS[event.key];
      if (!step || pages < 2 || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      show((page + step + pages) % pages);
      turnByItself();   // a whole turn's time for the page just chosen
    });
    var pause = document.querySelector("[data-page-pause]");
    if (pause) {
      pause.addEventListener("click", function () {
        turning = !turning;
        pause.textContent = turning ? "Stop turning the pages" : "Turn the pages again";
        turnByItself();
      });
    }
  });
})();
