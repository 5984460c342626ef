// Portal's only script. Pages read fully without it; it only enhances:
// marks the current workflow stage in the navigation and keeps the store
// readiness badge current.
"use strict";

(function () {
  function markStage() {
    var slug = location.hash.replace(/^#/, "");
    var links = document.querySelectorAll("nav [data-stage]");
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute("data-stage") === slug) links[i].setAttribute("aria-current", "step");
      else links[i].removeAttribute("aria-current");
    }
  }

  function refreshReady() {
    var badge = document.querySelector("[data-ready]");
    if (!badge || !window.fetch) return;
    fetch("/readyz", { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (doc) {
        var ok = doc && doc.status === "ready";
        badge.setAttribute("data-state", ok ? "ready" : "not-ready");
        badge.textContent = ok ? "Store ready" : "Store not ready";
      })
      .catch(function () {
        badge.setAttribute("data-state", "not-ready");
        badge.textContent = "Portal unreachable";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    markStage();
    window.addEventListener("hashchange", markStage);
    refreshReady();
    setInterval(refreshReady, 15000);
  });
})();
