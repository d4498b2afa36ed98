// The idle session lock on screen (CJIS: at most 30 minutes). The server ends a session left idle for
// web.session_idle_minutes; this hides the page at the same moment, so plate data does not stay on an unattended
// screen, and sends the user to sign in again.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  if (!seconds) { return; }
  var deadline = Date.now() + seconds * 1000;
  function lock() {
    var next = window.location.pathname + window.location.search;
    document.body.innerHTML = "";
    window.location.replace("/login?locked=1&next=" + encodeURIComponent(next));
  }
  window.setInterval(function () { if (Date.now() >= deadline) { lock(); } }, 5000);
}());
