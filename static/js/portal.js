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

// Bulk selection: "select every row on this page" and the count of rows ticked.
document.addEventListener("change", (event) => {
  const table = event.target.closest("table");
  if (!table) return;
  const rows = table.querySelectorAll("input[data-select-row]");
  if (event.target.matches("[data-select-all]")) {
    rows.forEach((row) => {
      row.checked = event.target.checked;
    });
  } else if (!event.target.matches("[data-select-row]")) {
    return;
  }
  const ticked = Array.from(rows).filter((row) => row.checked).length;
  const all = table.querySelector("[data-select-all]");
  if (all) all.checked = ticked === rows.length && ticked > 0;
  document.querySelectorAll("[data-bulk-count]").forEach((counter) => {
    counter.textContent = `${ticked} selected`;
  });
});
