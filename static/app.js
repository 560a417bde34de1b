// guildhall app script. Loaded as an external file because the CSP forbids
// inline scripts. One job: <button data-copy-target="ID"> copies the text of
// element #ID to the clipboard and shows "Copied" for 2 s.
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
    ta.style.position = "fixed";
    ta.style.top = "-1000px";
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
})();
