// Follows a running operation: polls its status and reloads the page when it
// has finished, so the outcome shows. The page works without this script
// (a <noscript> refresh and the reload button do the same).
(function () {
  "use strict";
  var box = document.querySelector("[data-operation-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-operation-status");
  var stateText = box.querySelector("[data-operation-state]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && !data.active) { window.location.reload(); return; }
        if (data && stateText) { stateText.textContent = data.state_display.toLowerCase(); }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
