// Draw the dashboards' charts with Chart.js, in DSFR colours, from the JSON data blocks
// (<script type="application/json">) next to each canvas: no inline script (strict CSP).
(function () {
  "use strict";
  if (window.portalChartsLoaded) { return; }
  window.portalChartsLoaded = true;

  var nf = new Intl.NumberFormat("fr-FR", {maximumFractionDigits: 2});
  function format(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    if (unit === "€") { return nf.format(value) + " €"; }
    if (unit === "%") { return nf.format(value) + " %"; }
    return nf.format(value);
  }

  function config(spec) {
    var hasRight = spec.datasets.some(function (d) { return d.yAxisID === "y2"; });
    var scales = {
      x: {stacked: spec.stacked, grid: {display: false}},
      // Counts (no unit) step by whole numbers: no « 0,5 déclaration » on the axis.
      y: {stacked: spec.stacked, beginAtZero: true,
          ticks: {precision: spec.unit ? undefined : 0,
                  callback: function (v) { return format(v, spec.unit); }}}
    };
    if (hasRight) {
      scales.y2 = {position: "right", beginAtZero: true, suggestedMax: 100, grid: {drawOnChartArea: false},
                   ticks: {callback: function (v) { return format(v, spec.unit2); }}};
    }
    return {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d) {
          var line = (d.type || spec.type) === "line";
          return {label: d.label, data: d.data, type: d.type || undefined, yAxisID: d.yAxisID,
                  backgroundColor: d.color, borderColor: d.color, borderWidth: line ? 2 : 0,
                  pointRadius: line ? 2 : 0, tension: 0.2, spanGaps: true, order: line ? 0 : 1,
                  stack: d.yAxisID === "y2" ? "taux" : undefined};
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: "index", intersect: false},
        plugins: {
          legend: {position: "bottom", labels: {boxWidth: 12}},
          tooltip: {callbacks: {label: function (ctx) {
            var unit = ctx.dataset.yAxisID === "y2" ? spec.unit2 : spec.unit;
            return ctx.dataset.label + " : " + format(ctx.parsed.y, unit);
          }}}
        },
        scales: scales
      }
    };
  }

  function draw() {
    if (!window.Chart) { return; }
    Chart.defaults.font.family = "Marianne, arial, sans-serif";
    Chart.defaults.color = "#3a3a3a";
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.rendered) { return; }
      var block = document.getElementById(canvas.dataset.chart);
      if (!block) { return; }
      new Chart(canvas, config(JSON.parse(block.textContent)));
      canvas.dataset.rendered = "1";
    });
  }

  // Marianne is a web font: draw once it is loaded (a canvas never redraws when it arrives).
  function whenFontReady() {
    if (document.fonts && document.fonts.load) {
      Promise.all([document.fonts.load("12px Marianne"), document.fonts.load("bold 12px Marianne")])
        .then(draw, draw);
    } else {
      draw();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenFontReady);
  } else {
    whenFontReady();
  }
})();
