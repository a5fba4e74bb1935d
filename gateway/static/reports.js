/* The report charts: Chart.js (vendored, no CDN) draws what the page embedded as JSON in
   #report-data. The same figures are in the tables below each chart. */
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = { received: "#2f5d9e", followed_up: "#1b7a43" };

  function bars(id, part, horizontal) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    var chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: part.labels,
        datasets: [
          { label: data.series.received, data: part.received, backgroundColor: colours.received },
          { label: data.series.followed_up, data: part.followed_up, backgroundColor: colours.followed_up }
        ]
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.dataset.rendered = String(part.labels.length);
    return chart;
  }

  bars("chart-trend", data.trend, false);
  bars("chart-agencies", data.agencies, true);
  bars("chart-channels", data.channels, false);
}());
