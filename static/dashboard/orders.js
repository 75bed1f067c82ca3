// Order list enhancements. The page works without this file: every control is a plain form or link.
(function () {
  "use strict";

  // "Select every order on this page": shown only when this script runs.
  function wireSelectAll(root) {
    root.querySelectorAll(".select-all").forEach(function (box) {
      box.hidden = false;
      var form = box.form;
      var rows = function () { return form ? form.querySelectorAll("input[name='orders']") : []; };
      var sync = function () {
        var all = rows(), checked = 0;
        all.forEach(function (r) { if (r.checked) { checked += 1; } });
        box.checked = all.length > 0 && checked === all.length;
        box.indeterminate = checked > 0 && checked < all.length;
      };
      box.addEventListener("change", function () {
        rows().forEach(function (r) { r.checked = box.checked; });
      });
      if (form) { form.addEventListener("change", function (e) { if (e.target.name === "orders") { sync(); } }); }
      sync();
    });
  }

  // The export confirmation page starts its download by itself after a moment.
  function autostart(root) {
    var link = root.querySelector("a[data-autostart]");
    if (link && !link.dataset.started) {
      link.dataset.started = "1";
      window.setTimeout(function () { window.location.assign(link.href); }, 800);
    }
  }

  // Packing slips: a Print button.
  function wirePrint(root) {
    root.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function init(root) { wireSelectAll(root); autostart(root); wirePrint(root); }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // After htmx swaps the listing in, wire the new table.
  document.addEventListener("htmx:afterSettle", function (event) { wireSelectAll(event.target); });
})();
