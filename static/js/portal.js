// Small behaviours that would otherwise need inline script (forbidden by our CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Buttons marked data-busy show progress once their form is submitted.
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[data-busy]").forEach((button) => {
        button.disabled = true;
        button.textContent = button.dataset.busy;
      });
    });
  });
});
