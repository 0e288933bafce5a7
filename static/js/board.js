/* The live boards' one script (the code of behaviour board and the discussion boards), for what htmx does not do by
   itself when the Wi-Fi drops: a request that cannot reach the server is simply lost, without a word. Here a
   response or a commitment that could not be sent is sent again as soon as the server can be reached (the screen
   keeps showing the person's choice meanwhile). A proposal or a thought that could not be sent says so, and its
   words stay in the box: sending it again is safe, because its form carries a key (request_key) by which the
   server makes it once, even if the first one did arrive and only its answer was lost. */
(function () {
  "use strict";
  var unsent = {};   // address -> {body, choice}: per behaviour (and for the commitment), the last tap not yet sent
  var resending = {};   // address -> the re-send on its way (a promise)
  var RESENT = /\/(respond|commit)$/;

  function resend() {
    Object.keys(unsent).forEach(function (address) {
      var waiting = unsent[address];
      // The form's own fields, its CSRF token among them; HX-Request: the server answers 204, as to htmx.
      if (resending[address]) { return; }
      var sent = fetch(address, {method: "POST", body: waiting.body, credentials: "same-origin",
                                 headers: {"HX-Request": "true"}})
        .then(function (answer) { if (answer.ok && unsent[address] === waiting) { delete unsent[address]; } })
        .catch(function () { /* still away: the next poll that gets through, or the "online" event, tries again */ })
        .then(function () { delete resending[address]; });
      resending[address] = sent;
    });
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

  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt;
    if (!(form instanceof HTMLFormElement)) { return; }
    if (RESENT.test(form.action)) {
      var chosen = form.querySelector("input[type=radio]:checked");
      unsent[form.action] = {body: new URLSearchParams(new FormData(form)), choice: chosen && chosen.id};
    } else if (form.elements.request_key) {
      var status = form.querySelector("[role=status]");
      var line = status && (status.querySelector("span") || status);
      var button = form.querySelector("button[type=submit]");
      form.dataset.unsent = "true";
      if (line) {
        line.dataset.tone = "problem";
        line.textContent = "Not sent yet: the connection dropped. Your words are still here. Press “" +
          (button ? button.textContent.trim() : "Send") + "” again once you are back online: it will not be " +
          "added twice.";
      }
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
    else if (elt instanceof HTMLFormElement) { delete unsent[elt.action]; }   // a later tap got through itself
  });

  // A live update redraws the choices as the server has them: the one not yet sent stays shown as chosen.
  document.addEventListener("htmx:afterSwap", function () {
    Object.keys(unsent).forEach(function (address) {
      var radio = unsent[address].choice && document.getElementById(unsent[address].choice);
      if (radio) { radio.checked = true; }
    });
  });

  window.addEventListener("online", resend);
})();
