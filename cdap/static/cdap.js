/* CDAP pages: QF chart (Chart.js, data from the canvas' data-qf attribute; the table next to
   it is the accessible alternative) and the print button. No inline script (strict CSP). */
(function () {
  "use strict";
  var canvas = document.getElementById("qf-chart");
  function drawQf() {
    var data = JSON.parse(canvas.getAttribute("data-qf") || "[]");
    // Under the axis « déc. 2025 », level (some skipped when they do not fit); the tooltip
    // keeps « décembre 2025 ». Turned full names were cut at the chart's left edge.
    var short = data.map(function (d) { return d.court || d.libelle || d.mois; });
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.map(function (d) { return d.libelle || d.mois; }),
        datasets: [{ label: "Quotient familial (€)", data: data.map(function (d) { return d.qf; }),
                     borderColor: "#000091", backgroundColor: "#e3e3fd", tension: 0.2, fill: true }]
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false, locale: "fr-FR",
                 // « Quotient familial : 1 234 € » in the tooltip, French spacing and grouping
                 plugins: { legend: { display: false },
                            tooltip: { callbacks: { label: function (item) {
                              return "Quotient familial\u00a0: " + item.formattedValue + "\u00a0€"; } } } },
                 scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 12,
                                         callback: function (value) { return short[value]; } } },
                           y: { beginAtZero: true } } }
    });
  }
  if (canvas && window.Chart) {
    window.Chart.defaults.font.family = "Marianne, arial, sans-serif";
    window.Chart.defaults.color = "#3a3a3a";
    // Marianne is a web font: draw once it is loaded (a canvas never redraws when it arrives).
    if (document.fonts && document.fonts.load) {
      document.fonts.load("12px Marianne").then(drawQf, drawQf);
    } else {
      drawQf();
    }
  }
  document.querySelectorAll("[data-action=print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
