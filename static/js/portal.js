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

  // htmx errors: the page stays as it was, so say what went wrong in an alert beside the
  // control, in the words the page without JavaScript would use (errors/_alert.html).
  // A later answer that succeeds takes the alert away.
  function alertRegion(elt, create) {
    var form = elt.closest("form");
    var region = form ? form.querySelector(":scope > .htmx-alert") : elt.nextElementSibling;
    if (region && region.classList.contains("htmx-alert")) { return region; }
    if (!create) { return null; }
    region = document.createElement("div");
    region.className = "flash flash-error htmx-alert";
    region.setAttribute("role", "alert");
    if (form) { form.prepend(region); } else { elt.after(region); }
    return region;
  }

  function showAlert(elt, content) {
    var region = alertRegion(elt, true);
    if (typeof content === "string") {
      var p = document.createElement("p");
      p.textContent = content;
      content = p;
    }
    region.replaceChildren(content);
  }

  // Words of our own, in the page's language: the layout puts them on <body> (data-msg-*),
  // with {name} where a number goes.
  function words(name, values) {
    var text = document.body.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      text = text.split("{" + key + "}").join(String(values[key]));
    });
    return text;
  }

  // The alert Portal sent, or words of our own when something else answered (a proxy).
  function errorFrom(xhr) {
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var sent = doc.querySelector(".error-alert");
    if (sent) { return document.importNode(sent, true); }
    if (xhr.status === 429) {
      var wait = parseInt(xhr.getResponseHeader("Retry-After"), 10);
      if (!(wait > 0)) { return words("busy"); }
      return words(wait === 1 ? "wait-one" : "wait-other", {seconds: wait});
    }
    return words("failed", {status: xhr.status});
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail, elt = detail.requestConfig.elt;
    // Form errors (422) and conflicts (409) are swapped in like any page; an error alert is not.
    var error = detail.xhr.status >= 400 && (detail.isError || detail.xhr.getResponseHeader("HX-Reswap") === "none");
    if (!error) {
      var region = alertRegion(elt, false);
      if (region) { region.remove(); }
      return;
    }
    detail.shouldSwap = false;
    detail.isError = false; // shown here: htmx need not log it as well
    showAlert(elt, errorFrom(detail.xhr));
  });

  function unreachable(event) {
    showAlert(event.detail.elt, words("unreachable"));
  }
  document.addEventListener("htmx:sendError", unreachable);
  document.addEventListener("htmx:timeout", unreachable);

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
  // My account: a time zone never chosen (data-browser-zone="suggest") starts as the
  // browser's own, when the list knows it; saving the form keeps it.
  document.querySelectorAll("input[data-browser-zone='suggest']").forEach(function (input) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    var list = input.list;
    if (!zone || zone === input.value || !list) { return; }
    var known = Array.prototype.some.call(list.options, function (o) { return o.value === zone; });
    if (known) { input.value = zone; input.dataset.browserZone = "applied"; }
  });
  // A "select all" box ticks every box of its form (data-select-all="form id"): the roster's
  // bulk confirmation. Without JavaScript each student is ticked by hand.
  document.addEventListener("change", function (event) {
    var all = event.target.closest && event.target.closest("input[data-select-all]");
    if (!all) { return; }
    document.querySelectorAll("input[type=checkbox][form='" + all.dataset.selectAll + "']").forEach(function (box) {
      if (box !== all) { box.checked = all.checked; }
    });
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });

  // "Copy verification link": a plain link to the verification page; with script, a click
  // copies the address instead and says so (data-copied holds the words, in the page's language).
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-copy]") : null;
    if (!link || !navigator.clipboard || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    navigator.clipboard.writeText(link.href).then(function () {
      var note = link.parentNode.querySelector(".copy-done");
      if (note) { note.textContent = link.dataset.copied; }
    }, function () { window.location.href = link.href; });
  });
})();
