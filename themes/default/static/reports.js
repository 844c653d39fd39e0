/* Report charts: every element with data-chart (JSON: type, categories, series) is drawn
   with Apache ECharts, on page load and whenever htmx swaps one in (dashboards refresh,
   the builder's preview). Data only: the server never sends code. */
(function () {
  "use strict";

  function option(spec, animate) {
    var base = {animation: animate, tooltip: {trigger: spec.type === "pie" || spec.type === "funnel" ? "item" : "axis"},
                legend: {type: "scroll", bottom: 0}, grid: {left: 8, right: 8, top: 16, bottom: 40, containLabel: true}};
    if (spec.type === "pie" || spec.type === "funnel") {
      var first = spec.series[0] || {data: []};
      base.series = [{type: spec.type, name: first.name, radius: spec.type === "pie" ? ["35%", "65%"] : undefined,
        data: spec.categories.map(function (c, i) { return {name: c, value: first.data[i]}; })
                .filter(function (d) { return d.value !== null && d.value !== undefined; })}];
      return base;
    }
    base.xAxis = {type: "category", data: spec.categories};
    base.yAxis = {type: "value"};
    base.series = spec.series.map(function (s) {
      return {type: spec.type, name: s.name, data: s.data, stack: spec.series.length > 1 && spec.type === "bar" ? "total" : undefined};
    });
    return base;
  }

  function draw(el) {
    if (!window.echarts || !el.dataset.chart) return;
    var spec = JSON.parse(el.dataset.chart);
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
    chart.setOption(option(spec, !document.body.classList.contains("yiti-print")), true);
  }

  function drawAll(root) {
    if (root.matches && root.matches("[data-chart]")) draw(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-chart]").forEach(draw);
  }

  if (window.htmx) { window.htmx.onLoad(drawAll); } else {
    document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  }
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts && window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts && window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
