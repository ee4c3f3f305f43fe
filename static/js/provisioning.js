// Provisioning status: live countdowns (no inline script under our CSP; Copy is in portal.js).
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
})();
