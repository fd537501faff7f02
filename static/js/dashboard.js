/* The leadership dashboard's charts, drawn by Apache ECharts (served from static/vendor/).
   The figures come from the page's JSON element (#dashboard-data), the same rows as each chart's
   table; nothing here is fetched. Tooltips are drawn on the canvas (richText), not as HTML, so
   the page's Content-Security-Policy (no inline styles) holds. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  var palette = ["#b4282d", "#3b6fb6", "#d98c1f", "#3a8f5c", "#7d5ba6", "#2a9d9a", "#8c6d46", "#c25b8a"];
  var drawn = [];

  function base(chart) {
    return {
      animation: false,
      color: palette,
      textStyle: { fontFamily: "sans-serif" },
      tooltip: { renderMode: "richText", trigger: chart.kind === "pie" ? "item" : "axis" },
      toolbox: {
        right: 8,
        feature: { saveAsImage: { name: chart.title, title: "保存为图片", pixelRatio: 2, backgroundColor: "#fff" } }
      },
      legend: chart.series.length > 1 || chart.kind === "pie" ? { top: 0, left: 0 } : undefined,
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true }
    };
  }

  function option(chart) {
    var o = base(chart);
    var labels = chart.rows.map(function (r) { return r[0]; });
    var column = function (i) { return chart.rows.map(function (r) { return r[i + 1]; }); };
    if (chart.kind === "pie") {
      o.series = [{
        type: "pie", radius: ["35%", "65%"], top: 24,
        label: { formatter: "{b}：{c}（{d}%）" },
        data: chart.rows.map(function (r) { return { name: r[0], value: r[1] }; })
      }];
      return o;
    }
    if (chart.kind === "line") {
      o.xAxis = { type: "category", data: labels, boundaryGap: false };
      o.yAxis = { type: "value", minInterval: 1 };
      o.series = chart.series.map(function (name, i) {
        return { type: "line", name: name, data: column(i), symbolSize: 6 };
      });
      return o;
    }
    // Bars, one row per label, largest first as the table lists them.
    o.yAxis = { type: "category", data: labels, inverse: true };
    o.xAxis = { type: "value", minInterval: 1 };
    o.series = chart.series.map(function (name, i) {
      return {
        type: "bar", name: name, data: column(i), stack: chart.kind === "stack" ? "total" : undefined,
        label: { show: true, position: chart.kind === "stack" ? "inside" : "right" }, barMaxWidth: 28
      };
    });
    return o;
  }

  charts.forEach(function (chart) {
    var el = document.getElementById("chart-" + chart.key);
    if (!el) { return; }
    if (chart.kind === "bar" || chart.kind === "stack") {
      el.style.height = Math.max(220, 60 + chart.rows.length * 34) + "px";
    }
    var instance = echarts.init(el, null, { renderer: "canvas", locale: "ZH" });
    instance.setOption(option(chart));
    drawn.push(instance);
  });
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
}());
