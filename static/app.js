// guildhall app script. Loaded as an external file because the CSP forbids
// inline scripts. Everything here improves a page that works without it:
//  - <button data-copy-target="ID"> copies the text of element #ID to the
//    clipboard and shows "Copied" for 2 s;
//  - <time data-local="text|title" datetime="..."> shows the moment in the
//    reader's own time zone (the server writes UTC);
//  - a confirmation htmx puts in #dialog-slot opens as a modal dialog, and
//    is removed once closed (the page without script links to a page that
//    asks instead).
(function () {
  "use strict";

  function textOf(el) {
    if ("value" in el && typeof el.value === "string" && el.tagName !== "BUTTON" && el.tagName !== "OUTPUT") {
      return el.value;
    }
    return (el.textContent || "").trim();
  }

  // Fallback for browsers/contexts without navigator.clipboard
  // (it is only available in secure contexts: https or localhost).
  function legacyCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target instanceof Element ? ev.target.closest("button[data-copy-target]") : null;
    if (!btn) return;
    var target = document.getElementById(btn.getAttribute("data-copy-target"));
    if (!target) return;
    ev.preventDefault();

    copy(textOf(target)).then(function () {
      if (btn.dataset.copyLabel === undefined) btn.dataset.copyLabel = btn.textContent;
      btn.textContent = "Copied";
      clearTimeout(btn._copyTimer);
      btn._copyTimer = setTimeout(function () {
        btn.textContent = btn.dataset.copyLabel;
        delete btn.dataset.copyLabel;
      }, 2000);
    }, function () { /* leave the label unchanged on failure */ });
  });

  // Local times. The UTC text stays in the title, for reference.
  var localFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  function localizeTimes(root) {
    root.querySelectorAll("time[data-local][datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var local = localFormat.format(when);
      if (el.dataset.local === "text") {
        el.title = el.textContent;
        el.textContent = local;
      } else {
        el.title = local;
      }
      el.removeAttribute("data-local");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); });
  document.addEventListener("htmx:afterSettle", function (ev) {
    localizeTimes(ev.detail.elt || document);
    // After an action replaced the control that had the keyboard focus
    // (and closed its dialog), the server marks where the focus goes.
    // It waits a task: the dialog's own button, removed with it, must not
    // take the focus back to <body> after it has moved.
    var here = document.querySelector("[data-focus-here]");
    if (here) {
      here.removeAttribute("data-focus-here");
      setTimeout(function () { here.focus(); }, 0);
    }
  });
  // Out-of-band swaps (the audit trail beside the member list) settle too.
  document.addEventListener("htmx:oobAfterSwap", function (ev) { localizeTimes(ev.detail.target || document); });

  // Confirmation dialogs, opened once htmx has settled them: only then
  // are their forms wired to post with htmx.
  document.addEventListener("htmx:afterSettle", function (ev) {
    var slot = ev.detail.target;
    if (!slot || slot.id !== "dialog-slot") return;
    var dialog = slot.querySelector("dialog[data-confirm]");
    if (dialog && !dialog.open) dialog.showModal();
  });
  // "close" does not bubble; a listener in the capture phase still sees it.
  document.addEventListener("close", function (ev) {
    var dialog = ev.target;
    if (dialog instanceof Element && dialog.matches("dialog[data-confirm]")) dialog.remove();
  }, true);
})();
