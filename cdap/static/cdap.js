/* CDAP pages: QF chart (Chart.js, data from the canvas' data-qf attribute; the table next to
   it is the accessible alternative) and the print button. No inline script (strict CSP). */
(function () {
  "use strict";
  var canvas = document.getElementById("qf-chart");
  function drawQf() {
    var data = JSON.parse(canvas.getAttribute("data-qf") || "[]");
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.map(function (d) { return d.libelle || d.mois; }),
        datasets: [{ label: "Quotient familial (€)", data: data.map(function (d) { return d.qf; }),
                     borderColor: "#000091", backgroundColor: "#e3e3fd", tension: 0.2, fill: true }]
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }
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
