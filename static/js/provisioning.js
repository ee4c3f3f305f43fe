// Provisioning status: live countdowns and the copy button (no inline script under our CSP).
// htmx re-renders the status every 2 s with a fresh `data-countdown` (seconds left when the
// server rendered it); between renders this counts down locally.
(() => {
  if (window.provisioningStatus) return; // loaded by both the page and an included card
  window.provisioningStatus = true;
  const seen = new WeakMap();

  function format(seconds) {
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach((element) => {
      if (!seen.has(element)) seen.set(element, now);
      const total = Number(element.dataset.countdown) || 0;
      const left = Math.max(0, Math.ceil(total - (now - seen.get(element)) / 1000));
      element.textContent = left > 0 ? format(left) : "a moment";
    });
  }

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  window.setInterval(tick, 250);

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      button.textContent = "Copied";
    });
  });
})();
