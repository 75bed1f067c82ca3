// Numbers page: draws orders (bars) and revenue (line) per day from the JSON the page embeds.
// The same figures are in the table under the chart, so the page is complete without this file.
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("orders-chart");
    var source = document.getElementById("orders-chart-data");
    if (!canvas || !source || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    var accent = styles.getPropertyValue("--accent").trim() || "#1d4ed8";
    new window.Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          { type: "bar", label: data.ordersLabel, data: data.orders, yAxisID: "orders", backgroundColor: "#94a3b8" },
          { type: "line", label: data.revenueLabel, data: data.revenue, yAxisID: "revenue", borderColor: accent,
            backgroundColor: accent, pointRadius: data.labels.length > 45 ? 0 : 3 }
        ]
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          orders: { type: "linear", position: "left", beginAtZero: true, ticks: { precision: 0 } },
          revenue: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false } }
        }
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
