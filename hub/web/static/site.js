/* Progressive enhancement only: every page works without this script.
   1. The referral checklist counts its "yes" answers as they are ticked
      (the hub counts them again on submit, whatever this shows).
   2. A page marked data-refresh (a verification in progress) reloads itself. */
(function () {
  "use strict";
  var list = document.getElementById("checklist");
  var out = document.getElementById("yes-count");
  if (list && out) {
    var level = document.getElementById("yes-level");
    var count = function () {
      var n = list.querySelectorAll('input[type="radio"][value="yes"]:checked').length;
      out.textContent = String(n);
      if (level) {
        level.textContent = n >= 14 ? "high risk (visible high risk)" : n >= 10 ? "medium" : "standard";
      }
    };
    list.addEventListener("change", count);
    count();
    var live = document.getElementById("live-score");
    if (live) { live.hidden = false; }
  }
  var refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    window.setTimeout(function () { window.location.reload(); }, 1000);
  }
})();
