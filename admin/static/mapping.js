// The template editor's mapping columns: choosing another transformation shows that transformation's arguments at
// once (from the engine's vocabulary in the form's data-vocabulary); without JavaScript the next round trip does.
"use strict";
(function () {
  var form = document.getElementById("template-editor");
  if (!form) { return; }
  var vocabulary = JSON.parse(form.getAttribute("data-vocabulary") || "{}");
  var defaultLabel = form.getAttribute("data-default-label") || "default";
  var argLimit = parseInt(form.getAttribute("data-arg-limit") || "0", 10);  // the bound the save checks

  function argInput(prefix, arg) {
    var id = prefix + "a-" + arg.name;
    var input;
    if (arg.types.length === 1 && arg.types[0] === "bool") {
      input = document.createElement("select");
      ["", "true", "false"].forEach(function (value) {
        var option = document.createElement("option");
        option.value = value;
        option.textContent = value || defaultLabel;
        input.appendChild(option);
      });
    } else if (arg.types.indexOf("dict") >= 0) {
      input = document.createElement("textarea");
      input.rows = 2;
    } else {
      input = document.createElement("input");
      input.placeholder = arg.hint || arg.types.join(" | ");
    }
    if (argLimit > 0 && input.tagName !== "SELECT") { input.maxLength = argLimit; }
    input.id = id;
    input.name = id;
    input.className = "form-control form-control-sm";
    input.setAttribute("data-arg", arg.name);
    var label = document.createElement("label");
    label.className = "small mb-0";
    label.htmlFor = id;
    label.textContent = arg.name + (arg.required ? "*" : "");
    return [label, input];
  }

  form.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches('select[data-role="transform"]')) { return; }
    var holder = select.closest(".mapping-step").querySelector('[data-role="args"]');
    var prefix = select.getAttribute("data-prefix");
    while (holder.firstChild) { holder.removeChild(holder.firstChild); }
    (vocabulary[select.value] || []).forEach(function (arg) {
      argInput(prefix, arg).forEach(function (node) { holder.appendChild(node); });
    });
  });
})();
