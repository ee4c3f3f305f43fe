// Compliance charts. Data comes from a json_script tag (not executed); canvases say which
// chart they show with data-chart and where the data is with data-source. No inline script:
// the Content-Security-Policy forbids it.
(() => {
  const STATE_COLOURS = {
    compliant: "#198754",
    noncompliant: "#dc3545",
    inGracePeriod: "#ffc107",
    unknown: "#adb5bd",
    conflict: "#fd7e14",
    error: "#842029",
    configManager: "#6f42c1",
  };
  const OS_COLOURS = ["#2b88d8", "#0f3d68", "#7fba00", "#ffb900", "#f25022", "#6c757d"];

  function readData(id) {
    const node = document.getElementById(id);
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (error) {
      return null;
    }
  }

  const percentAxis = { min: 0, max: 100, ticks: { callback: (value) => `${value}%` } };

  const builders = {
    trend: (data) => ({
      type: "line",
      data: {
        labels: data.trend.labels,
        datasets: [
          { label: "Compliant %", data: data.trend.rate, borderColor: "#198754",
            backgroundColor: "rgba(25, 135, 84, 0.12)", fill: true, tension: 0.25, spanGaps: true },
          { label: "Noncompliant %", data: data.trend.noncompliant, borderColor: "#dc3545",
            tension: 0.25, spanGaps: true },
        ],
      },
      options: { maintainAspectRatio: false, scales: { y: percentAxis },
        interaction: { mode: "index", intersect: false } },
    }),
    states: (data) => ({
      type: "doughnut",
      data: {
        labels: data.states.labels,
        datasets: [{ data: data.states.values,
          backgroundColor: data.states.keys.map((k) => STATE_COLOURS[k] || "#6c757d") }],
      },
      options: { maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
    }),
    systems: (data) => ({
      type: "bar",
      data: {
        labels: data.systems.labels,
        datasets: [{ label: "Devices", data: data.systems.values,
          backgroundColor: data.systems.labels.map((_, i) => OS_COLOURS[i % OS_COLOURS.length]) }],
      },
      options: { maintainAspectRatio: false, plugins: { legend: { display: false } } },
    }),
    history: (data) => ({
      type: "line",
      data: {
        labels: data.history.labels,
        datasets: [{ label: "Compliant %", data: data.history.rate, borderColor: "#198754",
          tension: 0.25, spanGaps: true }],
      },
      options: { maintainAspectRatio: false, scales: { y: percentAxis },
        plugins: { legend: { display: false } } },
    }),
  };

  // Text and grid lines in the page's colours, light or dark (Bootstrap's variables).
  function themeColours() {
    const style = getComputedStyle(document.documentElement);
    const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    window.Chart.defaults.color = read("--bs-body-color", "#212529");
    window.Chart.defaults.borderColor = read("--bs-border-color-translucent", "rgba(0,0,0,.175)");
  }

  function draw() {
    if (typeof window.Chart === "undefined") return;
    themeColours();
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      if (canvas.chart) canvas.chart.destroy();
      const build = builders[canvas.dataset.chart];
      const data = readData(canvas.dataset.source);
      if (!build || !data) return;
      // Chart.js would otherwise animate on every htmx swap and in screenshots.
      const config = build(data);
      config.options.animation = false;
      canvas.chart = new window.Chart(canvas, config);
      canvas.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  // The theme changes under a drawn page ("auto" following the system): draw again.
  new MutationObserver(() => {
    if (document.querySelector("canvas[data-drawn]")) draw();
  }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-bs-theme"] });
})();
