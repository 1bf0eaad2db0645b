// Schedules: the form shows the fields of the chosen kind of frequency and previews the next 5 fire times (and the
// frequency in words) as it is edited, from the console's preview endpoint; forms with data-confirm ask first.
"use strict";
(function () {
  var form = document.getElementById("schedule-form");
  var PARTS = ["kind", "time", "month_day", "interval", "unit", "cron", "timezone"];

  function showKind() {
    var kind = form.querySelector('[name="kind"]').value;
    form.querySelectorAll("[data-kinds]").forEach(function (group) {
      group.hidden = group.getAttribute("data-kinds").split(" ").indexOf(kind) < 0;
    });
  }

  function query() {
    var params = new URLSearchParams();
    PARTS.forEach(function (name) { params.append(name, form.querySelector('[name="' + name + '"]').value); });
    form.querySelectorAll('[name="days"]:checked').forEach(function (box) { params.append("days", box.value); });
    var after = document.querySelector('[data-role="preview-after"]');
    if (after && after.value) { params.append("after", after.value); }
    return params.toString();
  }

  var panel = document.querySelector('[data-testid="preview"]');
  var timer = null;
  var asked = 0;

  function render(answer) {
    var list = panel.querySelector('[data-testid="preview-runs"]');
    var error = panel.querySelector('[data-role="preview-error"]');
    list.textContent = "";
    if (answer.error) {
      error.textContent = answer.field ? answer.field + ": " + answer.error : answer.error;
      error.hidden = false;
      panel.querySelector('[data-role="preview-words"]').textContent = "";
      return;
    }
    error.hidden = true;
    panel.querySelector('[data-role="preview-words"]').textContent = answer.words;
    answer.runs.forEach(function (run) {
      var item = document.createElement("li");
      item.setAttribute("data-role", "fire-time");
      item.setAttribute("data-iso", run.iso);
      var strong = document.createElement("strong");
      strong.textContent = run.local;
      var small = document.createElement("span");
      small.className = "text-muted small";
      small.textContent = " · " + run.utc;
      item.appendChild(strong);
      item.appendChild(small);
      list.appendChild(item);
    });
  }

  function preview() {
    var ticket = ++asked;
    fetch(form.getAttribute("data-preview-url") + "?" + query(), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (answer) { if (ticket === asked) { render(answer); } })
      .catch(function () { /* the next edit asks again */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(preview, 250);
  }

  if (form) {
    showKind();
    form.querySelector('[name="kind"]').addEventListener("change", showKind);
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    var after = document.querySelector('[data-role="preview-after"]');
    if (after) { after.addEventListener("change", later); }
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (confirmed) {
    confirmed.addEventListener("submit", function (event) {
      if (!window.confirm(confirmed.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
