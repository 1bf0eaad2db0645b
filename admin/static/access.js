// Integrations, API keys, users: a kept secret's field is enabled by its "Replace" button (left as is, the secret
// is kept), and forms with data-confirm ask before they are sent.
"use strict";
(function () {
  document.querySelectorAll("[data-replace]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-replace"));
      input.disabled = false;
      input.removeAttribute("data-secret-kept");
      input.placeholder = "";
      input.focus();
      button.disabled = true;
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
