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

// Copy buttons: data-copy names the element whose text goes to the clipboard (a password
// shown once). Bound once on the document, so content swapped in by htmx works too.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = "Copied";
  });
});
