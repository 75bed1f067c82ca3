// The order page: the ship dialog and carrier detection (asked of the API) as a tracking number is typed.
// Without this file the "Ship…" link opens the ship page and the server detects and checks the carrier.
(function () {
  "use strict";

  function normalise(number) {
    return (number || "").replace(/[\s-]+/g, "").toUpperCase();
  }

  // As the seller types, the carrier is asked of GET /api/v1/carriers/detect/ (the same rules the server
  // applies when the form is sent): one carrier is chosen, several are listed, a bad check digit is said.
  var DEBOUNCE_MS = 250;
  var pending = new WeakMap();

  function show(form, text) {
    var status = form.querySelector("[data-carrier-detected]");
    if (status && status.textContent !== text) { status.textContent = text; }
  }

  function choose(select, code) {
    if (select.hasAttribute("data-chosen-by-hand")) { return; }
    var known = Array.prototype.some.call(select.options, function (option) { return option.value === code; });
    select.value = known ? code : "";
  }

  function render(form, select, detection) {
    var names = detection.candidates.map(function (candidate) { return candidate.name; });
    if (detection.carrier) {
      choose(select, detection.carrier);
      show(form, select.getAttribute("data-detected-label") + " " + names[0]);
    } else if (names.length > 1) {
      choose(select, "");
      show(form, select.getAttribute("data-ambiguous-label") + " " + names.join(", "));
    } else {
      choose(select, "");
      show(form, select.getAttribute("data-invalid-label"));
    }
  }

  function detect(form) {
    var input = form.querySelector("[data-tracking-input]");
    var select = form.querySelector("[data-carrier-select]");
    if (!input || !select) { return; }
    var previous = pending.get(form);
    if (previous) {
      clearTimeout(previous.timer);
      if (previous.controller) { previous.controller.abort(); }
    }
    var number = normalise(input.value);
    if (!number) { pending.delete(form); show(form, ""); return; }
    var job = {};
    pending.set(form, job);
    job.timer = setTimeout(function () {
      job.controller = window.AbortController ? new AbortController() : null;
      var url = select.getAttribute("data-detect-url") + "?number=" + encodeURIComponent(number);
      fetch(url, {
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
        signal: job.controller ? job.controller.signal : undefined
      }).then(function (response) {
        if (response.status === 400) { return { candidates: [], carrier: null, valid: false }; }
        if (!response.ok) { throw new Error("detect " + response.status); }
        return response.json();
      }).then(function (detection) {
        if (pending.get(form) === job) { render(form, select, detection); }
      }).catch(function (error) {
        if (error.name !== "AbortError" && pending.get(form) === job) {
          show(form, select.getAttribute("data-failed-label"));
        }
      });
    }, DEBOUNCE_MS);
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("[data-ship-form]");
    if (form && event.target.matches("[data-tracking-input]")) { detect(form); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-carrier-select]")) {
      // A carrier the seller picks stays picked; "Detect from the tracking number" hands it back.
      if (event.target.value) {
        event.target.setAttribute("data-chosen-by-hand", "");
      } else {
        event.target.removeAttribute("data-chosen-by-hand");
      }
    }
  });

  // Links with data-open-dialog open the <dialog> instead of the page they point to.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) {
        event.preventDefault();
        dialog.showModal();
        var first = dialog.querySelector("[data-tracking-input]");
        if (first) { first.focus(); }
      }
      return;
    }
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { open.close(); }
    }
  });

  // After htmx swaps the order in: reopen a dialog whose form came back with errors, else move focus to the
  // heading so keyboard and screen reader users land on the fresh state.
  function afterSwap(root) {
    var dialog = root.querySelector("dialog[data-open]");
    if (dialog && dialog.showModal) {
      dialog.showModal();
      var invalid = dialog.querySelector("[aria-invalid='true'], .field-error input, .field-error select");
      if (invalid) { invalid.focus(); }
      dialog.querySelectorAll("[data-ship-form]").forEach(detect);
      return;
    }
    var heading = root.querySelector("#order-heading");
    if (heading) { heading.focus(); }
  }
  var settled = new WeakSet();
  document.addEventListener("htmx:afterSettle", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var root = document.getElementById("order-detail");
    if (!root || !xhr || settled.has(xhr)) { return; }
    settled.add(xhr);
    afterSwap(root);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-ship-form]").forEach(detect);
    var dialog = document.querySelector("dialog[data-open]");
    if (dialog && dialog.showModal) { dialog.showModal(); }
  });
})();
