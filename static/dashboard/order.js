// The order page: the ship dialog and carrier detection as a tracking number is typed.
// Without this file the "Ship…" link opens the ship page and the server detects and checks the carrier.
(function () {
  "use strict";

  function normalise(number) {
    return (number || "").replace(/[\s-]+/g, "").toUpperCase();
  }

  function matchingCarriers(select, number) {
    var found = [];
    Array.prototype.forEach.call(select.options, function (option) {
      var pattern = option.getAttribute("data-pattern");
      if (!pattern || !number) { return; }
      try {
        if (new RegExp("^(?:" + pattern + ")$").test(number)) { found.push(option); }
      } catch (error) { /* a pattern JavaScript cannot read: the server still checks it */ }
    });
    return found;
  }

  function detect(form) {
    var input = form.querySelector("[data-tracking-input]");
    var select = form.querySelector("[data-carrier-select]");
    var status = form.querySelector("[data-carrier-detected]");
    if (!input || !select || !status) { return; }
    var number = normalise(input.value);
    if (!number) { status.textContent = ""; return; }
    var found = matchingCarriers(select, number);
    if (found.length === 1) {
      if (!select.hasAttribute("data-chosen-by-hand")) { select.value = found[0].value; }
      status.textContent = (select.getAttribute("data-detected-label") || "Detected carrier:") + " " + found[0].textContent;
    } else if (found.length > 1) {
      status.textContent = (select.getAttribute("data-ambiguous-label") || "Could be:") + " " +
        found.map(function (o) { return o.textContent; }).join(", ");
    } else {
      status.textContent = select.getAttribute("data-unknown-label") || "No carrier recognised yet.";
    }
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("[data-ship-form]");
    if (form && event.target.matches("[data-tracking-input]")) { detect(form); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-carrier-select]")) {
      event.target.setAttribute("data-chosen-by-hand", "");
      var form = event.target.closest("[data-ship-form]");
      if (form) { detect(form); }
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
