// The Copy button next to a password shown once.
(function () {
  "use strict";
  var button = document.getElementById("copy-password");
  if (!button) { return; }
  var field = document.getElementById(button.getAttribute("data-copy-target"));
  var result = document.getElementById("copy-result");
  button.addEventListener("click", function () {
    field.select();
    var done = function () { result.textContent = "Copied to the clipboard."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        result.textContent = "Select the password and copy it by hand.";
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
