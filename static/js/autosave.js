/* Autosave for workbook answers: the one place where htmx is not enough, because a dropped Wi-Fi must lose
   nothing. Each answer is a plain <form> that posts to /workbook/save (it works without this script, with a
   Save button). This script saves while typing, shows "Saved" only after the server has committed, keeps
   unsent text in sessionStorage until the server acknowledges it, retries when the network is back, and asks
   to log in again (keeping the text) when the session has ended. */
(function () {
  "use strict";

  var DRAFT_PREFIX = "p2p-draft:";
  var TYPING_PAUSE_MS = 800;
  var FIRST_RETRY_MS = 2000;
  var LONGEST_RETRY_MS = 30000;
  var LOGIN_CHECK_MS = 4000;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("data-hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function useCsrfToken(token) {
    // After logging in again the session is new, and so is its form token: every form and request uses it.
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("data-hx-headers") || "{}"); } catch (e) {}
    headers["X-CSRFToken"] = token;
    document.body.setAttribute("data-hx-headers", JSON.stringify(headers));
    Array.prototype.forEach.call(document.querySelectorAll("input[name=csrf_token]"), function (input) {
      input.value = token;
    });
  }

  function draftKey(place) {
    // Drafts are kept per person: on a shared tablet one person's unsent text is never offered to another.
    return DRAFT_PREFIX + (document.body.getAttribute("data-owner") || "") + ":" + place;
  }

  function clearAllDrafts() {
    for (var i = sessionStorage.length - 1; i >= 0; i--) {
      var k = sessionStorage.key(i);
      if (k && k.indexOf(DRAFT_PREFIX) === 0) sessionStorage.removeItem(k);
    }
  }

  function Answer(form) {
    this.form = form;
    this.place = form.getAttribute("data-place");
    this.revision = form.getAttribute("data-revision") || "";
    this.limit = parseInt(form.getAttribute("data-limit") || "0", 10);
    this.status = form.querySelector(".save-status");
    this.timer = null;
    this.waiting = false;     // text typed, to be saved after the pause in typing
    this.loggedOutShown = false;
    this.sending = false;
    this.sendAgain = false;
    this.retryDelay = FIRST_RETRY_MS;
    this.restored = false;  // text brought back from sessionStorage, not yet saved: said until it is
    form.classList.add("autosaving");
    var self = this;
    form.addEventListener("input", function (event) {
      // A tick or a choice is saved on "change", which follows its "input" at once: handled there only, so a
      // tick refused for being one too many is not then saved anyway (and its kind message kept on screen).
      if (event.target.type === "checkbox" || event.target.type === "radio") return;
      self.changed(event, false);
    });
    form.addEventListener("change", function (event) {
      if (event.target.type === "checkbox" || event.target.type === "radio") self.changed(event, true);
      // Leaving a text field saves at once what was waiting for the pause in typing, and nothing if nothing was
      // (a save on every blur would also redraw the status line under the pointer, as a link in it is clicked).
      else if (self.waiting) self.send();
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); self.send(); });
    this.restoreDraft();
  }

  Answer.prototype.controls = function () {
    return Array.prototype.slice.call(this.form.querySelectorAll("[name=value]"));
  };

  Answer.prototype.value = function () {
    var controls = this.controls();
    if (controls.length && (controls[0].type === "checkbox" || controls[0].type === "radio")) {
      return controls.filter(function (c) { return c.checked; }).map(function (c) { return c.value; }).join(",");
    }
    return controls.length ? controls[0].value : "";
  };

  Answer.prototype.setValue = function (value) {
    var controls = this.controls();
    if (controls.length && (controls[0].type === "checkbox" || controls[0].type === "radio")) {
      var chosen = value.split(",");
      controls.forEach(function (c) { c.checked = chosen.indexOf(c.value) !== -1; });
    } else if (controls.length) {
      controls[0].value = value;
    }
  };

  Answer.prototype.show = function (message, tone) {
    if (!this.status) return;
    this.status.textContent = message;
    this.status.setAttribute("data-tone", tone || "");
  };

  Answer.prototype.changed = function (event, immediate) {
    if (this.limit && event.target.type === "checkbox" && event.target.checked) {
      var chosen = this.controls().filter(function (c) { return c.checked; }).length;
      if (chosen > this.limit) {
        // Kindly, in place: no error page, nothing lost. The box simply does not stay ticked.
        event.target.checked = false;
        this.show("You have chosen " + this.limit + ", the most for this. To choose another, untick one first.",
                  "notice");
        return;
      }
    }
    sessionStorage.setItem(draftKey(this.place), this.value());
    // "Saved" is true of the text as it was: once it changes, say nothing until the new text is saved.
    if (this.status && this.status.getAttribute("data-tone") === "saved") this.show("", "");
    clearTimeout(this.timer);
    var self = this;
    if (immediate) this.send();
    else { this.waiting = true; this.timer = setTimeout(function () { self.send(); }, TYPING_PAUSE_MS); }
  };

  Answer.prototype.restoreDraft = function () {
    var draft = sessionStorage.getItem(draftKey(this.place));
    if (draft === null) return;
    if (draft === this.value()) { sessionStorage.removeItem(draftKey(this.place)); return; }
    this.setValue(draft);
    this.restored = true;
    this.send();
  };

  Answer.prototype.send = function () {
    clearTimeout(this.timer);
    this.waiting = false;
    if (this.sending) { this.sendAgain = true; return; }  // one save in flight per answer, then the latest
    var self = this;
    var value = this.value();
    var body = new URLSearchParams();
    body.set("place", this.place);
    body.set("value", value);
    body.set("revision", this.revision);
    this.sending = true;
    // Once logged out, the "log in again" message and its link stay put while the person types on.
    if (!this.loggedOutShown) this.show(this.restored ? "Your unsaved text is back. Saving…" : "Saving…", "pending");
    fetch(this.form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        self.sending = false;
        self.answered(response.status, data, value);
      });
    }, function () {
      self.sending = false;
      self.retry();
    });
  };

  Answer.prototype.answered = function (status, data, sentValue) {
    if (status === 401) return this.loggedOut();
    if (status >= 500 || status === 429 || status === 0) return this.retry();
    if (status >= 400) {  // said kindly by the server; the text stays on the page and in the draft
      this.show(data.problem || "This could not be saved. Your text is still here.", "problem");
      return;
    }
    this.revision = String(data.revision);
    this.retryDelay = FIRST_RETRY_MS;
    this.loggedOutShown = false;
    if (this.value() === sentValue) sessionStorage.removeItem(draftKey(this.place));
    this.show(data.conflict
      ? "Saved. This answer had also been changed in another tab or on another device; this version is the one kept."
      : this.restored ? "Saved. Your unsaved text is back." : "Saved", data.conflict ? "notice" : "saved");
    this.restored = false;
    this.form.dispatchEvent(new CustomEvent("p2p:saved", {bubbles: true}));
    if (this.sendAgain || this.value() !== sentValue) { this.sendAgain = false; this.send(); }
  };

  Answer.prototype.retry = function () {
    var self = this;
    this.loggedOutShown = false;
    this.show("Not saved — retrying", "problem");
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.send(); }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, LONGEST_RETRY_MS);
  };

  Answer.prototype.loggedOut = function () {
    if (!this.status || this.loggedOutShown) return;
    this.loggedOutShown = true;
    var here = window.location.pathname + window.location.search + "#" + this.form.id;
    this.status.textContent = "Not saved: you have been logged out. Your text is kept on this device. ";
    var link = document.createElement("a");
    link.href = "/login?next=" + encodeURIComponent(here);
    link.textContent = "Log in again to save it";
    this.status.appendChild(link);
    this.status.setAttribute("data-tone", "problem");
    watchForLogIn();
  };

  Answer.prototype.outOfDate = function (revision) {
    if (sessionStorage.getItem(draftKey(this.place)) !== null || this.sending) return;
    if (Number(revision) > Number(this.revision || 0)) {
      this.show("This answer was changed in another tab or on another device. Reload the page to see the latest.",
                "notice");
    }
  };

  var answers = [];
  var loginWatch = null;

  // Logged out with text kept: ask now and then whether the same person has logged in again (another tab, the
  // link above in a new tab); then save what was kept. Someone else logged in on this device never gets it.
  function watchForLogIn() {
    if (loginWatch === null) loginWatch = setInterval(checkLoggedInAgain, LOGIN_CHECK_MS);
  }

  function checkLoggedInAgain() {
    fetch("/session", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || !state.workbook || String(state.user) !== document.body.getAttribute("data-owner")) return;
        clearInterval(loginWatch);
        loginWatch = null;
        useCsrfToken(state.csrf);
        answers.forEach(function (a) {
          if (a.loggedOutShown) { a.loggedOutShown = false; a.restored = true; a.send(); }
        });
      }, function () {});
  }

  function checkForChangesElsewhere() {
    if (!answers.length) return;
    var body = new URLSearchParams();
    answers.forEach(function (a) { body.append("place", a.place); });
    fetch("/workbook/revisions", {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}
    }).then(function (r) { return r.ok ? r.json() : {}; }).then(function (saved) {
      answers.forEach(function (a) { if (a.place in saved) a.outOfDate(saved[a.place]); });
    }, function () {});
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosave]"), function (form) {
      answers.push(new Answer(form));
    });
    window.addEventListener("online", function () {
      answers.forEach(function (a) { if (sessionStorage.getItem(draftKey(a.place)) !== null) a.send(); });
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "visible") return;
      if (loginWatch !== null) checkLoggedInAgain(); else checkForChangesElsewhere();
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-clear-drafts]"), function (form) {
      form.addEventListener("submit", clearAllDrafts);
    });
    // Print buttons wait hidden until this script can make them work.
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function (event) { event.preventDefault(); window.print(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
