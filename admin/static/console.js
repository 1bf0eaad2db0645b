// Live job progress: each [data-job-events] element follows its job's server-sent events (the browser resumes
// after a reconnect with Last-Event-ID) and updates the progress bar, counters and status around it, in the page's
// language (#console-words gives the words and badge colours). On a job's own page, the end of the job hides Cancel
// and reloads the page once, which then shows the files, deliveries and report.
"use strict";
(function () {
  var FINAL = ["succeeded", "failed", "cancelled", "partial"];
  var MAX_STREAMS = 20;
  var words = document.getElementById("console-words");
  var lang = document.documentElement.lang || undefined;
  var numbers = new Intl.NumberFormat(lang);

  function dictionary(name) {
    try { return JSON.parse((words && words.getAttribute("data-" + name)) || "{}"); } catch (e) { return {}; }
  }
  var STATUSES = dictionary("statuses"), PHASES = dictionary("phases"), COLOURS = dictionary("colours");

  function phrase(name, key, value) {
    var text = (words && words.getAttribute("data-" + name)) || "{" + key + "}";
    return text.replace("{" + key + "}", value);
  }

  function setText(scope, role, value) {
    scope.querySelectorAll('[data-role="' + role + '"]').forEach(function (node) { node.textContent = value; });
  }

  function setStatus(scope, status) {
    scope.querySelectorAll('[data-role="status"]').forEach(function (badge) {
      badge.textContent = STATUSES[status] || status;
      badge.setAttribute("data-status", status);
      badge.className = "badge badge-" + (COLOURS[status] || "light");
    });
  }

  function setPhase(scope, phase) {
    scope.querySelectorAll('[data-role="phase"]').forEach(function (node) {
      node.textContent = PHASES[phase] || phase;
      node.setAttribute("data-phase", phase);
    });
  }

  function ended(element, scope, status) {
    element.setAttribute("data-final", status);
    if (scope !== document) { return; }
    document.querySelectorAll('[data-role="cancel-form"]').forEach(function (form) { form.remove(); });
    var summary = document.getElementById("job-summary");
    var key = "pmx-ended-" + (summary ? summary.getAttribute("data-job-id") : location.pathname);
    var files = document.querySelector('[data-role="show-files"]');
    try {
      if (!sessionStorage.getItem(key)) {  // once: should the page still read "running", the button stays
        sessionStorage.setItem(key, "1");
        location.reload();
        return;
      }
    } catch (e) { /* no storage: offer the button */ }
    if (files) { files.hidden = false; }
  }

  function follow(element) {
    var scope = element.closest("tr") || document;
    var heading = scope === document ? (document.getElementById("job-summary") || document) : scope;
    var source = new EventSource(element.getAttribute("data-job-events"));
    source.addEventListener("progress", function (message) {
      var event = JSON.parse(message.data);
      var percent = event.total ? Math.floor(100 * event.processed / event.total) : (event.status === "succeeded" ? 100 : 0);
      if (event.status === "succeeded") { percent = 100; }
      element.querySelector('[data-role="bar"]').setAttribute("value", percent);
      setText(element, "percent", percent + " %");
      if (event.rate) {
        var rate = phrase("rate", "rate", numbers.format(Math.round(event.rate)));
        var eta = event.eta ? " · " + phrase("eta", "seconds", numbers.format(Math.ceil(event.eta))) : "";
        setText(element, "rate", rate + eta);
      }
      ["total", "processed", "exported", "excluded", "failed"].forEach(function (key) {
        if (event[key] !== undefined) { setText(scope, key, numbers.format(event[key])); }
      });
      if (event.phase !== undefined) { setPhase(heading, event.phase); }
      if (event.status !== undefined) { setStatus(heading, event.status); }
      if (FINAL.indexOf(event.status) >= 0) {
        source.close();
        ended(element, scope, event.status);
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
