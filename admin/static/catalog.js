// Catalogue: choosing a status filters the list at once (the form also works without this script).
document.addEventListener("DOMContentLoaded", () => {
  const status = document.querySelector('[data-testid="browse-status"]');
  if (status && status.form) {
    status.addEventListener("change", () => status.form.submit());
  }
});
