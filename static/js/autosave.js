/* Autosave for workbook answers: the one place where htmx is not enough, because a dropped Wi-Fi must lose
   nothing. Each answer is a plain <form> that posts to /workbook/save (it works without this script, with a
   Save button). This script saves while typing and ticking, and shows "Saved" only after the server has
   committed. Until then the text is kept on this device, sealed (see Drafts), so a closed tab or a reload while
   offline loses nothing; it retries when the network is back, asks to log in again (keeping the text) when the
   session has ended, and asks before the page is left while anything is unsaved. When another tab or device has
   saved a version this page had not seen, the server keeps it and this page shows it beside the person's own,
   for them to choose which to keep. */
(function () {
  "use strict";

  var TYPING_PAUSE_MS = 800;
  var FIRST_RETRY_MS = 2000;
  var LONGEST_RETRY_MS = 30000;
  var LOGIN_CHECK_MS = 4000;
  var RESTORED = "Your unsaved text from earlier is back.";

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

  function owner() { return document.body.getAttribute("data-owner") || ""; }

  function isOwnPath(path) {
    return typeof path === "string" && path.charAt(0) === "/" && path.charAt(1) !== "/" && path.charAt(1) !== "\\";
  }

  // -------------------------------------------------------------------------------------------------
  // Drafts: text not yet acknowledged by the server, kept in localStorage so that it outlives the tab. Each is
  // sealed with AES-GCM under a key that only this person's own pages receive (data-drafts-key, derived on the
  // server from their workbook key), bound to owner and answer: the next person on a shared device finds only
  // sealed bytes. The cipher is @noble/ciphers (static/vendor/), because crypto.subtle does not exist over plain
  // HTTP on a LAN. Without the key or the cipher, text is kept in the page only, as before.

  var Drafts = (function () {
    var PREFIX = "p2p-draft:";
    var KEEP_MS = 14 * 24 * 60 * 60 * 1000;   // then it is dropped, whoever it belonged to
    var LEGACY = "p2p-draft:";                 // earlier versions kept drafts, unsealed, in sessionStorage
    var LOGGING_OUT = "p2p-logging-out";
    var key = null, store = null;

    function toBase64(bytes) {
      var text = "";
      for (var i = 0; i < bytes.length; i += 0x8000) {
        text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      }
      return btoa(text);
    }

    function fromBase64(text) {
      var binary = atob(text), bytes = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return bytes;
    }

    function utf8(text) { return new TextEncoder().encode(text); }

    function storageKey(place) { return PREFIX + owner() + ":" + place; }

    // What the draft is bound to: sealed for one person and one answer, it opens nowhere else.
    function boundTo(place) { return utf8("draft:" + owner() + ":" + place); }

    function start() {
      try { store = window.localStorage; } catch (e) { store = null; }
      var encoded = document.body.getAttribute("data-drafts-key");
      if (encoded && window.nobleCiphers && owner()) {
        try { key = fromBase64(encoded); } catch (e) { key = null; }
      }
    }

    function usable() { return store !== null && key !== null; }

    function keep(place, data) {
      if (!usable()) return null;
      try {
        var nonce = window.nobleCiphers.randomBytes(12);
        var sealed = window.nobleCiphers.gcm(key, nonce, boundTo(place)).encrypt(utf8(JSON.stringify(data)));
        var stored = JSON.stringify({t: Date.now(), n: toBase64(nonce), c: toBase64(sealed)});
        store.setItem(storageKey(place), stored);
        return stored;
      } catch (e) {
        return null;   // storage full or refused: the text stays in the page, and leaving it still asks first
      }
    }

    function open(place, stored) {
      try {
        var record = JSON.parse(stored);
        var plain = window.nobleCiphers.gcm(key, fromBase64(record.n), boundTo(place)).decrypt(fromBase64(record.c));
        var data = JSON.parse(new TextDecoder().decode(plain));
        return typeof data.value === "string" ? data : null;
      } catch (e) {
        return null;   // sealed with another key (a workbook since started afresh) or damaged: left to expire
      }
    }

    function read(place) {
      if (!usable()) return null;
      var stored = store.getItem(storageKey(place));
      var data = stored === null ? null : open(place, stored);
      return data && {data: data, stored: stored};
    }

    function forget(place, onlyIf) {
      // Only the copy this page kept: another tab may have kept a newer one since.
      if (store === null || onlyIf === null) return;
      if (store.getItem(storageKey(place)) === onlyIf) store.removeItem(storageKey(place));
    }

    function each(prefix, fn) {
      if (store === null) return;
      for (var i = store.length - 1; i >= 0; i--) {
        var name = store.key(i);
        if (name && name.indexOf(prefix) === 0) fn(name, store.getItem(name));
      }
    }

    function mine() {
      var found = [], prefix = storageKey("");
      if (!usable()) return found;
      each(prefix, function (name, stored) {
        var place = name.slice(prefix.length), data = open(place, stored);
        if (data) found.push({place: place, data: data});
      });
      return found;
    }

    function forgetOld() {
      var now = Date.now();
      each(PREFIX, function (name, stored) {
        var savedAt = 0;
        try { savedAt = JSON.parse(stored).t || 0; } catch (e) {}
        if (!(now - savedAt < KEEP_MS)) store.removeItem(name);
      });
    }

    // Logging out leaves no draft of this person on the device (a shared tablet). They are forgotten on the
    // page the logout leads to, once it has happened: not when the button is pressed, as the logout may not
    // happen (no network, or "stay on this page" when the browser asks).
    function loggingOut() {
      try { sessionStorage.setItem(LOGGING_OUT, owner()); } catch (e) {}
    }

    function afterLogOut() {
      var who = null;
      try { who = sessionStorage.getItem(LOGGING_OUT); sessionStorage.removeItem(LOGGING_OUT); } catch (e) {}
      if (who && who !== owner()) each(PREFIX + who + ":", function (name) { store.removeItem(name); });
    }

    function legacy() {
      // Unsealed drafts an earlier version of this script kept in this tab: taken over (sealed), then removed.
      var found = {}, prefix = LEGACY + owner() + ":";
      try {
        for (var i = sessionStorage.length - 1; i >= 0; i--) {
          var name = sessionStorage.key(i);
          if (name && name.indexOf(LEGACY) === 0) {
            if (owner() && name.indexOf(prefix) === 0) found[name.slice(prefix.length)] = sessionStorage.getItem(name);
            sessionStorage.removeItem(name);
          }
        }
      } catch (e) {}
      return found;
    }

    return {start: start, keep: keep, read: read, forget: forget, mine: mine, forgetOld: forgetOld,
            loggingOut: loggingOut, afterLogOut: afterLogOut, legacy: legacy};
  })();

  function pageTitle() {
    var heading = document.querySelector("main h1");
    return heading ? heading.textContent.trim() : document.title;
  }

  // -------------------------------------------------------------------------------------------------

  function Answer(form) {
    this.form = form;
    this.place = form.getAttribute("data-place");
    this.revision = form.getAttribute("data-revision") || "";
    this.limit = parseInt(form.getAttribute("data-limit") || "0", 10);
    // The form's own status line; a control outside the form (a ladder statement) may be described by another,
    // nearer one: "Saved" is said where the person just was.
    this.formStatus = form.querySelector(".save-status");
    this.status = this.formStatus;
    this.savedValue = this.value();   // what the server holds, as far as this page knows
    this.lastControl = null;
    this.timer = null;
    this.waiting = false;     // text typed, to be saved after the pause in typing
    this.loggedOutShown = false;
    this.sending = false;
    this.sendAgain = false;
    this.retryDelay = FIRST_RETRY_MS;
    this.restored = false;    // text brought back from an earlier page, not yet saved: said until it is
    this.kept = null;         // the sealed draft this page last kept
    this.conflict = null;     // {revision, value, display}: another version, waiting for the person's choice
    this.panel = null;
    this.handedOver = false;  // the form itself is being sent (the ladder's snapshot): the page may go
    this.clearButton = form.querySelector("[data-clear]");   // "Clear my answer", for a single choice
    this.count = form.querySelector("[data-count]");         // "5 of 8 chosen", kept in view while choosing
    this.refusal = null;   // "you have chosen 8 …", shown under the box that was tapped one too many
    form.classList.add("autosaving");
  }

  Answer.prototype.controls = function () {
    // form.elements: controls that belong to the form from elsewhere in the page (form="…") too.
    return Array.prototype.filter.call(this.form.elements, function (c) { return c.name === "value"; });
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
    this.showChoices();
  };

  Answer.prototype.showChoices = function () {
    var chosen = this.value() === "" ? 0 : this.value().split(",").length;
    if (this.clearButton) this.clearButton.hidden = chosen === 0;
    if (this.count) this.count.textContent = chosen + " of " + this.limit + " chosen";
    if (this.refusal && chosen < this.limit) { this.refusal.remove(); this.refusal = null; }
  };

  Answer.prototype.refuse = function (control) {
    // Kindly, where the person tapped: no error page, nothing lost. The box simply does not stay ticked.
    if (!this.refusal) {
      this.refusal = document.createElement("p");
      this.refusal.className = "pick-refused";
      this.refusal.setAttribute("role", "status");
    }
    var place = control.closest(".choice") || control;
    place.insertAdjacentElement("afterend", this.refusal);
    this.refusal.textContent = "You have chosen " + this.limit + ", the most for this. To choose another, " +
                               "untick one first.";
  };

  Answer.prototype.clear = function () {
    this.controls().forEach(function (c) { c.checked = false; });
    this.lastControl = null;
    this.handedOver = false;
    this.showChoices();
    this.keepDraft();
    clearTimeout(this.timer);
    this.send();
    var first = this.controls()[0];   // the button has gone: focus goes back to the choices
    if (first) first.focus();
  };

  Answer.prototype.unsaved = function () {
    return !this.handedOver && (this.conflict !== null || this.value() !== this.savedValue);
  };

  Answer.prototype.statusFor = function (control) {
    var ids = (control.getAttribute("aria-describedby") || "").split(/\s+/);
    for (var i = 0; i < ids.length; i++) {
      var line = ids[i] && document.getElementById(ids[i]);
      if (line && line.classList.contains("save-status")) return line;
    }
    return this.formStatus;
  };

  Answer.prototype.show = function (message, tone) {
    if (!this.status) return;
    this.status.textContent = message;
    this.status.setAttribute("data-tone", tone || "");
  };

  Answer.prototype.changed = function (event, immediate) {
    var control = event.target;
    if (this.limit && control.type === "checkbox" && control.checked) {
      var chosen = this.controls().filter(function (c) { return c.checked; }).length;
      if (chosen > this.limit) {
        control.checked = false;
        this.refuse(control);
        return;
      }
    }
    this.showChoices();
    this.lastControl = control;
    this.handedOver = false;   // still here, and changing it again
    var status = this.statusFor(control);
    if (status !== this.status && !this.loggedOutShown && !this.conflict) {
      this.show("", "");
      this.status = status;
    }
    this.keepDraft();
    // "Saved" is true of the text as it was: once it changes, say nothing until the new text is saved.
    if (this.status && this.status.getAttribute("data-tone") === "saved") this.show("", "");
    clearTimeout(this.timer);
    var self = this;
    if (immediate) this.send();
    else { this.waiting = true; this.timer = setTimeout(function () { self.send(); }, TYPING_PAUSE_MS); }
  };

  Answer.prototype.keepDraft = function () {
    this.kept = Drafts.keep(this.place, {value: this.value(), revision: this.revision,
                                         page: window.location.pathname + "#" + this.form.id, title: pageTitle()});
  };

  Answer.prototype.restoreDraft = function (legacyValue) {
    var draft = Drafts.read(this.place);
    var data = draft ? draft.data : legacyValue !== undefined ? {value: legacyValue, revision: ""} : null;
    if (data === null) return;
    if (data.value === this.value()) { Drafts.forget(this.place, draft && draft.stored); return; }
    this.setValue(data.value);
    // Sent as written on top of the version it was typed on: if the answer has changed since, elsewhere, the
    // server keeps that version and both are shown.
    this.revision = String(data.revision || "");
    this.kept = draft ? draft.stored : null;
    if (!draft) this.keepDraft();
    this.restored = true;
    this.send();
  };

  Answer.prototype.send = function () {
    clearTimeout(this.timer);
    this.waiting = false;
    if (this.conflict) return;   // nothing is sent until the person has chosen which version to keep
    if (this.sending) { this.sendAgain = true; return; }  // one save in flight per answer, then the latest
    var self = this;
    var value = this.value();
    var body = new URLSearchParams();
    body.set("place", this.place);
    body.set("value", value);
    body.set("revision", this.revision);
    this.sending = true;
    // Once logged out, the "log in again" message and its link stay put while the person types on.
    if (!this.loggedOutShown) this.show(this.restored ? RESTORED + " Saving…" : "Saving…", "pending");
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
    if (status === 409) return this.bothVersions(data);
    if (status >= 500 || status === 429 || status === 0) return this.retry();
    if (status >= 400) {  // said kindly by the server; the text stays on the page and in the draft
      this.show(data.problem || "This could not be saved. Your text is still here.", "problem");
      return;
    }
    this.revision = String(data.revision);
    this.savedValue = sentValue;
    this.retryDelay = FIRST_RETRY_MS;
    this.loggedOutShown = false;
    if (this.value() === sentValue) { Drafts.forget(this.place, this.kept); this.kept = null; }
    else this.keepDraft();   // still unsent: kept again, on top of the version just saved
    // A single choice cleared says so: "Saved" would leave one wondering what was kept.
    var said = this.clearButton && sentValue === "" ? "Cleared" : "Saved";
    this.show(this.restored ? said + ". " + RESTORED : said, "saved");
    this.restored = false;
    this.form.dispatchEvent(new CustomEvent("p2p:saved", {bubbles: true}));
    if (this.sendAgain || this.value() !== sentValue) { this.sendAgain = false; this.send(); }
  };

  // Another tab or device saved a version this page had not seen. Nothing was written: the page keeps the
  // person's own version where it is, shows the other one under it, and lets them choose.
  Answer.prototype.bothVersions = function (data) {
    this.sendAgain = false;
    this.conflict = {revision: String(data.revision), value: data.other || "", display: data.other_display || ""};
    this.show(data.problem, "notice");
    if (this.panel) this.panel.remove();
    var id = this.form.id + "-other";
    var panel = document.createElement("div");
    panel.className = "answer-conflict";
    panel.setAttribute("role", "group");
    panel.setAttribute("aria-labelledby", id + "-label");
    var label = document.createElement("p");
    label.id = id + "-label";
    label.className = "answer-conflict__label";
    label.textContent = "The version from the other tab or device";
    var text = document.createElement("div");
    text.className = "answer-text";
    text.textContent = this.conflict.display || "(empty)";
    var choices = document.createElement("div");
    choices.className = "actions";
    var self = this;
    [["Keep the version on this page", "button button--small", function () { self.keepMine(); }],
     ["Use the other version", "button button--small button--quiet", function () { self.useOther(); }]]
      .forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = choice[1];
        button.textContent = choice[0];
        button.addEventListener("click", choice[2]);
        choices.appendChild(button);
      });
    panel.appendChild(label);
    panel.appendChild(text);
    panel.appendChild(choices);
    this.formStatus.insertAdjacentElement("afterend", panel);
    this.panel = panel;
  };

  Answer.prototype.chosen = function () {
    this.conflict = null;
    var hadFocus = this.panel && this.panel.contains(document.activeElement);
    this.panel.remove();
    this.panel = null;
    // The button pressed has gone: a keyboard user carries on from the answer itself.
    if (hadFocus) (this.lastControl || this.controls()[0]).focus();
  };

  Answer.prototype.keepMine = function () {
    this.revision = this.conflict.revision;   // written over the other version, now that it has been seen
    this.chosen();
    this.keepDraft();
    this.send();
  };

  Answer.prototype.useOther = function () {
    var other = this.conflict;
    this.setValue(other.value);
    this.revision = other.revision;
    this.savedValue = other.value;
    this.chosen();
    Drafts.forget(this.place, this.kept);
    this.kept = null;
    this.show("Saved: the other version is the one kept.", "saved");
    this.form.dispatchEvent(new CustomEvent("p2p:saved", {bubbles: true}));
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
    if (this.unsaved() || this.sending) return;   // anything unsaved meets the other version when it is sent
    if (Number(revision) > Number(this.revision || 0)) {
      this.show("This answer was changed in another tab or on another device. Reload the page to see the latest.",
                "notice");
    }
  };

  var answers = [];
  var loginWatch = null;

  function answerOf(control) {
    var form = control && control.form;
    for (var i = 0; i < answers.length; i++) if (answers[i].form === form) return answers[i];
    return null;
  }

  // Logged out with text kept: ask now and then whether the same person has logged in again (another tab, the
  // link above in a new tab); then save what was kept. Someone else logged in on this device never gets it.
  function watchForLogIn() {
    if (loginWatch === null) loginWatch = setInterval(checkLoggedInAgain, LOGIN_CHECK_MS);
  }

  function checkLoggedInAgain() {
    fetch("/session", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || !state.workbook || String(state.user) !== owner()) return;
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

  // Drafts kept for answers on other pages (a tab closed while offline): said at the top of this page, with a way
  // to each page, where the text comes back into its answer and is saved.
  function showDraftsElsewhere() {
    var main = document.querySelector("main");
    if (!main || document.body.classList.contains("projector")) return;
    var here = {}, pages = {}, found = false;
    answers.forEach(function (a) { here[a.place] = true; });
    Drafts.mine().forEach(function (draft) {
      var path = String(draft.data.page || "").split("#")[0];
      if (here[draft.place] || !isOwnPath(path) || path in pages) return;
      pages[path] = {href: draft.data.page, title: String(draft.data.title || path)};
      found = true;
    });
    if (!found) return;
    var note = document.createElement("div");
    note.className = "notice drafts-elsewhere";
    note.setAttribute("role", "status");
    var words = document.createElement("p");
    words.textContent = "Some text you wrote earlier is kept on this device but not saved yet. " +
                        "Open its page to bring it back and save it:";
    var list = document.createElement("ul");
    Object.keys(pages).forEach(function (path) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = pages[path].href;
      link.textContent = pages[path].title;
      item.appendChild(link);
      list.appendChild(item);
    });
    note.appendChild(words);
    note.appendChild(list);
    var heading = main.querySelector("h1");
    if (heading) heading.insertAdjacentElement("afterend", note); else main.insertBefore(note, main.firstChild);
  }

  function start() {
    Drafts.start();
    Drafts.afterLogOut();
    Drafts.forgetOld();
    var legacy = Drafts.legacy();
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosave]"), function (form) {
      answers.push(new Answer(form));
    });
    answers.forEach(function (a) { a.restoreDraft(legacy[a.place]); });
    showDraftsElsewhere();

    // Listened for on the document: a ladder statement sits outside the form it belongs to.
    document.addEventListener("input", function (event) {
      var answer = answerOf(event.target);
      // A tick or a choice is saved on "change", which follows its "input" at once: handled there only, so a
      // tick refused for being one too many is not then saved anyway (and its kind message kept on screen).
      if (!answer || event.target.type === "checkbox" || event.target.type === "radio") return;
      answer.changed(event, false);
    });
    document.addEventListener("change", function (event) {
      var answer = answerOf(event.target);
      if (!answer) return;
      if (event.target.type === "checkbox" || event.target.type === "radio") answer.changed(event, true);
      // Leaving a text field saves at once what was waiting for the pause in typing, and nothing if nothing was
      // (a save on every blur would also redraw the status line under the pointer, as a link in it is clicked).
      else if (answer.waiting) answer.send();
    });
    // A button marked data-leaves-page (the ladder's "Save today's snapshot") sends its form as it is, to a page
    // of its own: what it sends is no longer at risk, so leaving for it does not ask. What was written beside it
    // and is not saved yet (a stage's reflection, typed a moment ago) is saved first, so the snapshot keeps it.
    // A button marked data-clear clears its answer (a single choice).
    document.addEventListener("click", function (event) {
      var clear = event.target.closest ? event.target.closest("[data-clear]") : null;
      var cleared = clear && answerOf(clear);
      if (cleared) { event.preventDefault(); cleared.clear(); return; }
      var button = event.target.closest ? event.target.closest("[data-leaves-page]") : null;
      var answer = button && answerOf(button);
      if (!answer) return;
      var section = button.closest("section");
      var waiting = answers.filter(function (a) {
        return a !== answer && section && section.contains(a.form) && a.unsaved();
      });
      if (!waiting.length) { answer.handedOver = true; return; }
      event.preventDefault();
      var said = section.querySelector("[role=status][tabindex]");
      if (said) said.textContent = "Saving what you wrote first: the snapshot follows once it is saved.";
      var sendWhenSaved = function () {
        if (waiting.some(function (a) { return a.unsaved(); })) return;
        document.removeEventListener("p2p:saved", sendWhenSaved);
        answer.handedOver = true;
        answer.form.requestSubmit(button);
      };
      document.addEventListener("p2p:saved", sendWhenSaved);
      waiting.forEach(function (a) { if (!a.sending) a.send(); });
    });
    document.addEventListener("submit", function (event) {
      var answer = answers.filter(function (a) { return a.form === event.target; })[0];
      if (!answer || answer.handedOver) return;
      event.preventDefault();
      answer.send();
    });

    window.addEventListener("online", function () {
      answers.forEach(function (a) { if (a.unsaved() && !a.sending) a.send(); });
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "visible") return;
      if (loginWatch !== null) checkLoggedInAgain(); else checkForChangesElsewhere();
    });
    window.addEventListener("beforeunload", function (event) {
      if (!answers.some(function (a) { return a.unsaved(); })) return;
      event.preventDefault();
      event.returnValue = "";   // some browsers still need this to ask "Leave this page?"
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-clear-drafts]"), function (form) {
      form.addEventListener("submit", function () { Drafts.loggingOut(); });
    });
    // The session's progress panel: its count is brought up to date a moment after the last save. Only the words
    // change (focus may be in the panel); a request that finds no network is simply tried after the next save.
    // Asked as htmx asks (HX-Request): logged out in the meantime, the answer is a bare 204, not the log-in page
    // fetched in the background, which would take the "You have logged out" message meant for the next page.
    var progressTimer = null;
    document.addEventListener("p2p:saved", function () {
      clearTimeout(progressTimer);
      progressTimer = setTimeout(function () {
        var panel = document.getElementById("progress");
        var url = panel && panel.getAttribute("data-refresh");
        if (!url) return;
        fetch(url, {credentials: "same-origin", headers: {"HX-Request": "true"}}).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
          var count = new DOMParser().parseFromString(html, "text/html").getElementById("progress-count");
          var here = document.getElementById("progress-count");
          if (count && here) here.textContent = count.textContent;
        }, function () {});
      }, 1500);
    });
    // What a page says on arrival beside the button it came back to (the ladder's snapshot, saved or deleted):
    // focused, so a screen reader reads it out and it is in view, where the person was.
    var said = document.querySelector("[data-said-on-arrival]");
    if (said) said.focus();
    // "Show password" (the join form's one password box): the password as text while ticked, to check it by eye.
    Array.prototype.forEach.call(document.querySelectorAll("[data-shows-password]"), function (box) {
      var input = document.getElementById(box.getAttribute("data-shows-password"));
      if (!input) return;
      box.closest(".show-password").hidden = false;
      box.addEventListener("change", function () { input.type = box.checked ? "text" : "password"; });
      // Sent as a password box again, so the browser keeps no copy of it among what was typed in text boxes.
      if (input.form) input.form.addEventListener("submit", function () { input.type = "password"; });
    });
    // Print buttons wait hidden until this script can make them work.
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        // A paper chosen with the button (the code's poster: A4 or A3) is the printed page's size (app.css).
        if (button.dataset.paper) document.body.dataset.paper = button.dataset.paper;
        window.print();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
