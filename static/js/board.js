/* The live boards' one script (the code of behaviour board and the discussion boards), for what htmx does not do by
   itself when the Wi-Fi drops: a request that cannot reach the server is simply lost, without a word. Here a
   response or a commitment that could not be sent is sent again as soon as the server can be reached (the screen
   keeps showing the person's choice meanwhile). A proposal or a thought that could not be sent says so, and its
   words stay in the box: sending it again is safe, because its form carries a key (request_key) by which the
   server makes it once, even if the first one did arrive and only its answer was lost.
   It also makes responding one tap (or one key) that shows at once and is counted in "n of m answered", moves the
   keyboard between a behaviour's choices without sending any, and counts the characters in a box with a limit. */
(function () {
  "use strict";
  var unsent = {};   // address -> {body, kind}: per behaviour (and for the commitment), the last tap not yet sent
  var resending = {};   // address -> the re-send on its way (a promise)
  var RESENT = /\/(respond|commit)$/;
  var RESPONSE = /\/respond$/;

  function resend() {
    Object.keys(unsent).forEach(function (address) {
      var waiting = unsent[address];
      // The form's own fields, its CSRF token among them; HX-Request: the server answers 204, as to htmx.
      if (resending[address]) { return; }
      var sent = fetch(address, {method: "POST", body: waiting.body, credentials: "same-origin",
                                 headers: {"HX-Request": "true"}})
        .then(function (answer) {
          if (answer.ok) {
            if (unsent[address] === waiting) { delete unsent[address]; }
            gotThrough();
          } else if (answer.status >= 500) {
            resendLater();   // (the server is there, too busy: no "online" event or new stream would come)
          }
        })
        .catch(function () { resendLater(); /* still away: this, or the "online" event, tries again */ })
        .then(function () { delete resending[address]; });
      resending[address] = sent;
    });
  }

  // Sent again by itself after a while, longer each time it meets a server too busy (or away), up to RETRY_MOST_MS.
  var RETRY_MS = 3000, RETRY_MOST_MS = 30000;
  var retryIn = RETRY_MS, retrying = null;
  function resendLater() {
    if (retrying) { return; }
    retrying = setTimeout(function () { retrying = null; resend(); }, retryIn);
    retryIn = Math.min(retryIn * 2, RETRY_MOST_MS);
  }
  function gotThrough() {   // a tap or a re-send reached the server: the next wait starts short again
    retryIn = RETRY_MS;
    if (!Object.keys(unsent).length) { notCountedSaid(null); }
  }

  // What the status line by the answered count says of a choice not counted yet (null: it has been, or none).
  function notCountedSaid(why) {
    var said = document.getElementById("respond-said");
    if (!said || (why === null && said.dataset.unsent !== "true")) { return; }
    if (why === null) { said.textContent = ""; delete said.dataset.unsent; return; }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link-button";
    close.dataset.closeSaid = "";
    close.textContent = "OK";
    said.replaceChildren("Your choice is not counted yet: " + why + ". It is shown, and sent again by itself. ",
                         close);
    said.dataset.unsent = "true";
  }

  // A new tap on a behaviour whose older tap is being re-sent waits for that to arrive first, so the newer one
  // is the one the server keeps (a re-send is not in htmx's queue for the form). The older tap is then dropped.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (!(form instanceof HTMLFormElement)) { return; }
    delete unsent[form.action];
    var sending = resending[form.action];
    if (!sending) { return; }
    event.preventDefault();
    sending.then(function () { event.detail.issueRequest(true); });
  });

  // The facilitator's status line says what went wrong (a change not sent, choices not fetched).
  function sayProblem(text) {
    var done = document.getElementById("board-done");
    if (!done) { return; }
    var said = document.createElement("p");
    said.className = "board-done__text";
    said.dataset.tone = "problem";
    said.textContent = text;
    done.replaceChildren(said);
  }

  // "Merge with…" asks for the behaviours to choose from as it opens (each time: they may have changed), not as
  // it closes; and again after a merge not made (the behaviour chosen had gone meanwhile: the status line says
  // so), which leaves its panel open. If they cannot be had, the status line says so and how to try again.
  function isMergePanel(element) {
    return element && element.matches && element.matches("details.merge-with");
  }
  function askForChoices(panel) {
    if (isMergePanel(panel) && panel.open && panel.isConnected) { htmx.trigger(panel, "p2p:opened"); }
  }
  document.addEventListener("toggle", function (event) { askForChoices(event.target); }, true);
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form instanceof HTMLFormElement) { askForChoices(form.closest("details.merge-with")); }
  });
  function choicesNotFetched(event) {
    if (!isMergePanel(event.detail.elt)) { return; }
    sayProblem("The behaviours to merge with could not be fetched just now. Close “Merge with…” and open it again" +
               (navigator.onLine === false ? " once you are back online." : "."));
  }
  document.addEventListener("htmx:sendError", choicesNotFetched);
  document.addEventListener("htmx:responseError", choicesNotFetched);

  // A form not sent (the connection dropped) or not done (the server was too busy, or failed: a 5xx answer; a
  // form the server refuses for a reason of its own is answered with what to do instead): said, and the words kept.
  function notSent(form, why, when) {
    if (RESENT.test(form.action)) {
      var body = new URLSearchParams(new FormData(form));
      if (form.dataset.kind) { body.set("kind", form.dataset.kind); }
      unsent[form.action] = {body: body, kind: form.dataset.kind};
    } else if (form.dataset.hxTarget === "#board-list") {
      // One of the facilitator's changes (templates/board/_facilitating.html): said in their status line. Each is
      // safe to send again: it sets the board to a state (hidden, agreed, a phase), or carries a request key.
      sayProblem("Not sent: " + why + ". Press it again " + when + ": it is never done twice.");
    } else if (form.elements.request_key) {
      var status = form.querySelector("[role=status]");
      var line = status && (status.querySelector("span") || status);
      var button = form.querySelector("button[type=submit]");
      form.dataset.unsent = "true";
      if (line) {
        line.dataset.tone = "problem";
        line.textContent = "Not sent yet: " + why + ". Your words are still here. Press “" +
          (button ? button.textContent.trim() : "Send") + "” again " + when + ": it will not be added twice.";
      }
    }
  }
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt;
    if (form instanceof HTMLFormElement) { notSent(form, "the connection dropped", "once you are back online"); }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt;
    var status = event.detail.xhr.status;
    if (!(form instanceof HTMLFormElement) || status < 500) { return; }
    var why = status === 503 ? "many people are sending things at once" : "something went wrong on our side";
    notSent(form, why, "in a moment");
    if (RESENT.test(form.action)) {
      if (RESPONSE.test(form.action)) { notCountedSaid(why); }
      resendLater();
    }
  });

  // Words changed after a send that got no answer are something new: a new key, so they are not taken for the
  // same thing sent again (which the server would answer without adding them).
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (!form || form.dataset.unsent !== "true" || !form.elements.request_key) { return; }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);   // also on plain HTTP, where crypto.randomUUID is missing
    form.elements.request_key.value = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    delete form.dataset.unsent;
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!event.detail.successful) { return; }
    if (elt.id === "board-poller") { resend(); }
    else if (elt instanceof HTMLFormElement) {
      delete unsent[elt.action];   // a later tap got through itself
      gotThrough();                 // ("not counted yet" stays while another choice waits)
      if (Object.keys(unsent).length) { resend(); }   // the server takes taps again: the others now
      // Counted: what was said about an earlier tap that came too late is over (a too-late one answers 200).
      var said = document.getElementById("respond-said");
      if (said && said.dataset.unsent !== "true" && RESPONSE.test(elt.action) && event.detail.xhr.status === 204) {
        said.textContent = "";
      }
    }
  });

  // A change that takes the pressed button away with what it was on (a merge, a split, a take-out: the update
  // that redraws the list comes with the answer or, on a stream, just after it) would leave focus at the page's
  // start: it goes to the status line, which says what was done, on its Undo if it has one. Only for this
  // screen's own change (not a response: its buttons stay), while its button is gone and nothing else has focus,
  // and until shortly after its answer: someone else's change later never moves anyone's focus. A key still held
  // down, or pressed twice, does not press the Undo it lands on (a pointer's click on it does).
  var pressed = null;   // {form, button, until}: this screen's own change, watched until shortly after its answer
  var undoFrom = 0;     // when the Undo that focus moved to may be pressed
  var ANSWER_MS = 2000, STEADY_MS = 700;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    var active = document.activeElement;
    if (form instanceof HTMLFormElement && !form.classList.contains("respond") && form.contains(active)) {
      pressed = {form: form, button: active, until: Infinity};
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (pressed && pressed.form === (event.detail.requestConfig || {}).elt) { pressed.until = Date.now() + ANSWER_MS; }
    focusLost();
  });
  document.addEventListener("htmx:afterSwap", focusLost);
  document.addEventListener("p2p:updated", focusLost);
  function focusLost() {
    if (!pressed || Date.now() > pressed.until) { pressed = null; return; }
    var active = document.activeElement;
    if (pressed.button.isConnected || (active && active !== document.body && active.isConnected)) { return; }
    pressed = null;
    var done = document.getElementById("board-undo") || document.getElementById("board-done");
    if (done) {
      if (!done.matches("button")) { done.setAttribute("tabindex", "-1"); }
      undoFrom = Date.now() + STEADY_MS;
      done.focus();
    }
  }
  // Someone else's change that makes a behaviour's controls anew (another facilitator rewording it: its "Merge
  // with…" is made for the new words) takes away the control this screen's focus was on, and focus would fall to
  // the page's start. It goes to the same behaviour instead: its "Merge with…" if it was in there, else the
  // behaviour itself. (Only once focus has been lost: nobody's focus is moved from where it still is.)
  var focusedIn = null;   // {item: the behaviour's id, element: the control focused in it}
  document.addEventListener("focusin", function (event) {
    var item = event.target.closest && event.target.closest("#board-list li[id]");
    focusedIn = item ? {item: item.id, element: event.target} : null;
  });
  function focusKeptInItsBehaviour() {
    var active = document.activeElement;
    if (!focusedIn || focusedIn.element.isConnected || (active && active !== document.body)) { return; }
    var item = document.getElementById(focusedIn.item);
    var merging = focusedIn.element.closest("details.merge-with");
    focusedIn = null;
    if (!item) { return; }   // the behaviour itself has gone (merged into another)
    var target = (merging && item.querySelector("details.merge-with > summary")) || item;
    if (target === item) { item.setAttribute("tabindex", "-1"); }
    target.focus();
  }
  document.addEventListener("htmx:afterSwap", focusKeptInItsBehaviour);
  document.addEventListener("p2p:updated", focusKeptInItsBehaviour);

  function tooSoon(event) {   // (by keyboard: a click made by Enter or Space has no detail; a pointer's is deliberate)
    var key = event.type === "keydown" || event.detail === 0;
    if (event.target.id === "board-undo" && key && (Date.now() < undoFrom || event.repeat)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }
  document.addEventListener("keydown", tooSoon, true);
  document.addEventListener("click", tooSoon, true);

  // A live update (a poll's answer, or the stream's: static/js/live.js) redraws the choices as the server has
  // them: the one not yet sent stays shown as chosen.
  document.addEventListener("p2p:updated", redrawn);
  document.addEventListener("htmx:afterSwap", redrawn);
  function redrawn() {
    Object.keys(unsent).forEach(function (address) {
      Array.prototype.forEach.call(document.querySelectorAll("form.respond"), function (form) {
        if (form.action === address && unsent[address].kind) { show(form, unsent[address].kind); }
      });
    });
    countAnswered();
  }

  // -- Responding: one tap on a big choice; the keyboard chooses before anything is sent. ---------------------


  function choicesOf(form) { return Array.prototype.slice.call(form.querySelectorAll("button[data-kind]")); }

  // Shows `kind` as this person's choice on this behaviour ("clear": none), before the server has it.
  function show(form, kind) {
    choicesOf(form).forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.kind === kind));
    });
  }

  // "n of m answered", as the screen now shows the choices (the server says the same at the next poll).
  function countAnswered() {
    var count = document.getElementById("respond-count");
    var forms = document.querySelectorAll("form.respond");
    if (!count || !forms.length) { return; }
    var answered = Array.prototype.filter.call(forms, function (form) {
      return form.querySelector("button[aria-pressed=true]");
    }).length;
    var words = answered + " of " + forms.length + " answered";
    if (count.textContent !== words) { count.textContent = words; }
  }

  // A press is the choice (Enter and Space press a button too): pressing the one already chosen takes it back.
  // What is sent is decided here, when pressed, and kept on the form (htmx:configRequest below): a response
  // queued behind another (hx-sync) is built only when its turn comes, when the buttons may show newer taps.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-close-said]")) {   // read: the line goes
      document.getElementById("respond-said").textContent = "";
      document.querySelector("main").focus();   // the button is gone: focus goes back to the page, not lost
      return;
    }
    var button = event.target.closest && event.target.closest("form.respond button[data-kind]");
    if (!button) { return; }
    var form = button.form;
    // A double tap (or click) is one: its second half would take the choice back at once.
    if (event.detail > 1) {
      event.preventDefault();
      return;
    }
    form.dataset.kind = button.getAttribute("aria-pressed") === "true" ? "clear" : button.dataset.kind;
    show(form, form.dataset.kind);
    countAnswered();
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (form instanceof HTMLFormElement && form.classList.contains("respond") && form.dataset.kind) {
      event.detail.parameters.set("kind", form.dataset.kind);
    }
  });

  // The arrow keys (and Home, End) move between one behaviour's choices, as in a group of radio buttons, but
  // only move: nothing is chosen or sent until a choice is pressed. Tab goes through them too.
  var STEPS = {ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1};
  document.addEventListener("keydown", function (event) {
    var button = event.target.closest && event.target.closest("form.respond button[data-kind]");
    if (!button || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var all = choicesOf(button.form);
    var at = all.indexOf(button);
    var to = event.key === "Home" ? 0 : event.key === "End" ? all.length - 1
      : event.key in STEPS ? (at + STEPS[event.key] + all.length) % all.length : -1;
    if (to < 0) { return; }
    event.preventDefault();   // and no scrolling
    all[to].focus();
  });

  // -- Words with a length limit: a count once they near it (templates/_macros.html char_count). ---------------

  var SAID_AFTER_MS = 1000;   // screen readers hear the count when typing pauses, not at every key
  var pauses = {};

  function characters(text) {   // as the server keeps them (models.one_line), in characters, not UTF-16 units
    return Array.from(text.trim().split(/\s+/).join(" ")).length;
  }

  document.addEventListener("input", function (event) {
    var box = event.target;
    var max = box.dataset && Number(box.dataset.textMax);
    var shown = max && document.getElementById(box.id + "-count");
    if (!shown) { return; }
    var count = characters(box.value);
    var over = count - max;
    var words = count + " of " + max + " characters" + (over > 0 ? ": " + over + " too many" : "");
    shown.hidden = count < max * 0.8;
    shown.textContent = words;
    if (over > 0) { shown.dataset.tone = "problem"; } else { delete shown.dataset.tone; }
    clearTimeout(pauses[box.id]);
    pauses[box.id] = setTimeout(function () {
      var said = document.getElementById(box.id + "-count-said");
      var now = shown.hidden ? "" : words;
      if (said && said.textContent !== now) { said.textContent = now; }
    }, SAID_AFTER_MS);
  });

  window.addEventListener("online", resend);
  document.addEventListener("p2p:live", function (event) { if (event.detail.streaming) { resend(); } });
})();
