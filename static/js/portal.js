// Portal's own small enhancements. Everything works without them.
(function () {
  "use strict";

  // Confirmation for destructive actions: <button data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // htmx: confirm before requests from elements with data-confirm, too.
  document.addEventListener("htmx:confirm", function (event) {
    var el = event.detail.elt;
    var message = el && el.dataset ? el.dataset.confirm : null;
    if (!message) { return; }
    event.preventDefault();
    if (window.confirm(message)) { event.detail.issueRequest(true); }
  });

  // A thin progress bar at the top while any htmx request runs.
  var active = 0;
  function setBusy(delta) {
    active = Math.max(0, active + delta);
    document.documentElement.classList.toggle("htmx-busy", active > 0);
  }
  document.addEventListener("htmx:beforeRequest", function () { setBusy(1); });
  document.addEventListener("htmx:afterRequest", function () { setBusy(-1); });

  // Elements marked data-autosubmit submit their form when changed (filters).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.form && el.form.dataset.autosubmit !== undefined && !window.htmx) {
      el.form.requestSubmit();
    }
  });

  // Flash messages fade away after a while (they stay for screen-reader users in the live region).
  window.setTimeout(function () {
    document.querySelectorAll(".flash.flash-success, .flash.flash-info").forEach(function (el) {
      el.classList.add("flash-fade");
    });
  }, 6000);
})();
