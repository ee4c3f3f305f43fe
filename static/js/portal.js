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

// Tables wider (or taller) than their box scroll inside it (.table-responsive) rather than
// widen the page. A box that scrolls must be reachable by keyboard (arrow keys scroll it) and
// named for screen readers; one that fits is no extra tab stop.
const scrollBoxes = () => {
  document.querySelectorAll(".table-responsive").forEach((box) => {
    const scrolls =
      box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight;
    if (scrolls && !box.hasAttribute("tabindex")) {
      const table = box.querySelector("table");
      const heading = box.closest(".card, section")?.querySelector("h1, h2, h3");
      const name =
        table?.getAttribute("aria-label") ||
        table?.querySelector("caption")?.textContent.trim() ||
        heading?.textContent.trim() ||
        "Table";
      box.tabIndex = 0;
      box.dataset.scrollBox = "true";
      box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", `${name} (scrolls sideways)`);
    } else if (!scrolls && box.dataset.scrollBox) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
      delete box.dataset.scrollBox;
    }
  });
};
document.addEventListener("DOMContentLoaded", scrollBoxes);
document.addEventListener("htmx:afterSettle", scrollBoxes);
window.addEventListener("resize", scrollBoxes);

// Pop-over choosers made of <details> (the column chooser): opening moves the focus into it,
// Escape closes it and gives the focus back to its summary, a click elsewhere closes it.
document.addEventListener("toggle", (event) => {
  const details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.matches(".column-chooser")) return;
  if (details.open) details.querySelector("input[type=checkbox]:not([disabled]), button")?.focus();
}, true);
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const details = document.activeElement?.closest("details.column-chooser[open]");
  if (!details) return;
  event.preventDefault();
  details.open = false;
  details.querySelector("summary")?.focus();
});
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.column-chooser[open]").forEach((details) => {
    if (!details.contains(event.target)) details.open = false;
  });
});

// Toasts (.portal-toast): their close button, and those marked data-autohide go after 10 s.
document.addEventListener("click", (event) => {
  const close = event.target.closest("[data-dismiss-toast]");
  if (close) close.closest(".portal-toast")?.remove();
});
const autohideToasts = () => {
  document.querySelectorAll(".portal-toast[data-autohide]:not([data-timed])").forEach((toast) => {
    toast.dataset.timed = "true";
    setTimeout(() => toast.remove(), 10_000);
  });
};
document.addEventListener("DOMContentLoaded", autohideToasts);
document.addEventListener("htmx:afterSettle", autohideToasts);
