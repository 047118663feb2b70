// The Copy button beside a password shown once. The page works without it
// (the field is readonly and can be selected); the button and its messages
// come from the field's data-copy-* attributes, translated by the template.
(function () {
  "use strict";
  var field = document.querySelector("[data-copy-label]");
  if (!field) { return; }
  var result = document.getElementById(field.getAttribute("data-copy-status"));
  var button = document.createElement("button");
  button.type = "button";
  button.id = "copy-password";
  button.className = "btn btn-outline-primary";
  button.textContent = field.getAttribute("data-copy-label");
  field.parentNode.appendChild(button);
  var say = function (text) {
    // Emptied first, so that a second copy is announced again.
    result.textContent = "";
    window.setTimeout(function () { result.textContent = text; }, 50);
  };
  var done = function () { say(field.getAttribute("data-copy-done")); };
  var failed = function () { say(field.getAttribute("data-copy-failed")); };
  field.addEventListener("focus", function () { field.select(); });
  button.addEventListener("click", function () {
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, failed);
    } else {
      try {
        if (document.execCommand("copy")) { done(); } else { failed(); }
      } catch (error) {
        failed();
      }
    }
  });
})();
