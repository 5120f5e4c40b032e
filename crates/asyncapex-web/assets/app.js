// asyncapex dashboard: confirmations for destructive actions, and a light self-refresh while
// jobs run (skipped while the operator is typing or the tab is hidden). No dependencies.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  var seconds = Number(document.body.getAttribute("data-refresh") || 0);
  if (seconds > 0) {
    var tick = function () {
      var active = document.activeElement;
      var busy = active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
      if (busy || document.hidden) {
        window.setTimeout(tick, seconds * 1000);
      } else {
        window.location.reload();
      }
    };
    window.setTimeout(tick, seconds * 1000);
  }
})();
