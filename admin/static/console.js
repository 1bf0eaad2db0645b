// Live job progress: each [data-job-events] element follows its job's server-sent events (the browser resumes
// after a reconnect with Last-Event-ID) and updates the progress bar, counters and status around it.
"use strict";
(function () {
  var FINAL = ["succeeded", "failed", "cancelled", "partial"];
  var MAX_STREAMS = 20;

  function setText(scope, role, value) {
    scope.querySelectorAll('[data-role="' + role + '"]').forEach(function (node) { node.textContent = value; });
  }

  function follow(element) {
    var scope = element.closest("tr") || document;
    var source = new EventSource(element.getAttribute("data-job-events"));
    source.addEventListener("progress", function (message) {
      var event = JSON.parse(message.data);
      var percent = event.total ? Math.floor(100 * event.processed / event.total) : (event.status === "succeeded" ? 100 : 0);
      if (event.status === "succeeded") { percent = 100; }
      element.querySelector('[data-role="bar"]').setAttribute("value", percent);
      setText(element, "percent", percent + " %");
      if (event.rate) {
        var eta = event.eta ? " · " + Math.ceil(event.eta) + " s left" : "";
        setText(element, "rate", Math.round(event.rate) + " rows/s" + eta);
      }
      ["total", "processed", "exported", "excluded", "failed", "phase", "status"].forEach(function (key) {
        if (event[key] !== undefined) { setText(scope, key, event[key]); }
      });
      if (FINAL.indexOf(event.status) >= 0) {
        source.close();
        element.setAttribute("data-final", event.status);
        var files = document.querySelector('[data-role="show-files"]');
        if (files) { files.hidden = false; }
      }
    });
    source.addEventListener("unavailable", function (message) {
      setText(element, "rate", JSON.parse(message.data).message);
    });
  }

  // The login form sends the browser's time zone: the console shows dates in it.
  document.querySelectorAll('[data-role="browser-time-zone"]').forEach(function (input) {
    try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { input.value = ""; }
  });

  document.querySelectorAll("[data-job-events]").forEach(function (element, index) {
    if (index < MAX_STREAMS) { follow(element); }
  });
})();
