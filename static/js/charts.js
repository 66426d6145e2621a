// Charts for pages that carry their data in a <script type="application/json"> block.
// <canvas data-chart="key" data-chart-source="block-id" data-chart-type="bar|line|doughnut">
// Every chart has a table beside it; without JavaScript or Chart.js the tables remain.
(function () {
  "use strict";

  var palette = ["#1971c2", "#2f9e44", "#e8590c", "#c2255c", "#6741d9", "#0c8599", "#f08c00", "#5c940d", "#862e9c", "#495057"];
  var outcomeColours = { success: "#2f9e44", failure: "#e8590c", denied: "#c92a2a" };

  function readData(id) {
    var block = document.getElementById(id);
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function draw(root) {
    if (!window.Chart) { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = readData(canvas.dataset.chartSource);
      var series = data && data[canvas.dataset.chart];
      if (!series) { return; }
      var existing = window.Chart.getChart(canvas);
      if (existing) { existing.destroy(); }
      var type = canvas.dataset.chartType || "bar";
      // "keys": the series' machine values when its labels are words in the reader's language.
      var keys = series.keys || series.labels;
      var colours = series.labels.map(function (label, i) {
        return outcomeColours[keys[i]] || palette[i % palette.length];
      });
      new window.Chart(canvas, {
        type: type,
        data: {
          labels: series.labels,
          datasets: [{
            label: canvas.dataset.chartLabel || "",
            data: series.values,
            backgroundColor: type === "bar" && canvas.dataset.chartHorizontal === undefined ? palette[0] : colours
          }]
        },
        options: {
          indexAxis: canvas.dataset.chartHorizontal !== undefined ? "y" : "x",
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: type === "doughnut" } },
          scales: type === "doughnut" ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // Redraw after htmx swaps in new figures (a different period).
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
