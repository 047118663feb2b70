// The time zone page: preselects the zone the browser reports when it is
// one of the server's and differs from the stored one, and says so. The
// form works without it (the stored zone is selected).
(function () {
  "use strict";
  var select = document.getElementById("time-zone-choice");
  var hint = document.getElementById("time-zone-suggestion");
  if (!select || !hint || !window.Intl || !Intl.DateTimeFormat) { return; }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || zone === select.getAttribute("data-current")) { return; }
  var known = Array.prototype.some.call(select.options, function (option) {
    return option.value === zone;
  });
  if (!known) { return; }
  select.value = zone;
  hint.textContent = hint.getAttribute("data-suggestion").replace("%(zone)s", zone);
  hint.hidden = false;
}());
