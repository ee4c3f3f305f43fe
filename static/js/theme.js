// The colour theme before first paint. The server sets data-bs-theme for "light" and "dark";
// for "auto" (the default) this follows the system's prefers-color-scheme, now and when it
// changes. Loaded without defer in <head>: inline script is forbidden by our CSP.
(() => {
  const root = document.documentElement;
  if (root.dataset.theme !== "auto") return;
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const apply = () => {
    root.dataset.bsTheme = dark.matches ? "dark" : "light";
  };
  apply();
  dark.addEventListener("change", apply);
})();
