// The tenant switcher (templates/customers/_switcher.html): a combobox over the customers,
// results from /customers/switch/ swapped in by htmx. "/" or Ctrl+K focuses it, arrow keys and
// Enter pick, Escape closes. No inline script: our CSP forbids it.
(() => {
  const input = document.getElementById("switcher-input");
  const listbox = document.getElementById("switcher-listbox");
  const status = document.getElementById("switcher-status");
  const tab = document.getElementById("switcher-tab");
  if (!input || !listbox || !tab) return;

  // The tab we are on: /customers/<tenant id>/<tab>/… keeps <tab> (the server knows which
  // tabs exist and sends anything else to the overview).
  const here = window.location.pathname.match(/^\/customers\/[0-9a-f-]{36}\/([a-z-]+)\//);
  tab.value = here ? here[1] : "overview";

  const options = () => Array.from(listbox.querySelectorAll("[role=option]"));
  let active = -1;

  // index -1: none chosen; otherwise an option's index.
  const setActive = (index) => {
    const all = options();
    active = index >= 0 && index < all.length ? index : -1;
    all.forEach((option, i) => {
      const on = i === active;
      option.setAttribute("aria-selected", on ? "true" : "false");
      option.classList.toggle("active", on);
      if (on) option.scrollIntoView({ block: "nearest" });
    });
    if (active >= 0) input.setAttribute("aria-activedescendant", all[active].id);
    else input.removeAttribute("aria-activedescendant");
  };

  const open = () => {
    listbox.hidden = false;
    listbox.classList.add("show");
    input.setAttribute("aria-expanded", "true");
  };

  const close = () => {
    listbox.hidden = true;
    listbox.classList.remove("show");
    input.setAttribute("aria-expanded", "false");
    setActive(-1);
  };

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    const ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
    if (ctrlK || (event.key === "/" && !typing && !event.altKey)) {
      event.preventDefault();
      input.focus();
      input.select();
    }
  });

  input.addEventListener("keydown", (event) => {
    const expanded = input.getAttribute("aria-expanded") === "true";
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!expanded) open();
      const count = options().length;
      const down = event.key === "ArrowDown";
      if (active < 0) setActive(down ? 0 : count - 1);
      else setActive((active + (down ? 1 : count - 1)) % count);
    } else if (event.key === "Enter") {
      const all = options();
      const chosen = all[active] || (all.length === 1 ? all[0] : null);
      event.preventDefault();
      if (expanded && chosen) window.location.assign(chosen.href);
    } else if (event.key === "Escape") {
      if (expanded) {
        event.preventDefault();
        close();
      } else if (input.value) {
        input.value = "";
      } else {
        input.blur();
      }
    }
  });

  // The box has no name (the page's own search form owns "q"): send its text as q here.
  input.addEventListener("htmx:configRequest", (event) => {
    event.detail.parameters.q = input.value;
  });

  // Fresh results: show them, nothing chosen yet, and say how many for screen readers.
  listbox.addEventListener("htmx:afterSwap", () => {
    const count = options().length;
    setActive(-1);
    if (document.activeElement === input) open();
    if (status) {
      status.textContent = count
        ? `${count} customer${count === 1 ? "" : "s"}, arrow keys to choose`
        : listbox.textContent.trim();
    }
  });

  // A click on an option follows its link; keep the focus in the box until then.
  listbox.addEventListener("mousedown", (event) => event.preventDefault());
  input.addEventListener("blur", close);
})();
