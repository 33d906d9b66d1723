// Charts: uPlot (vendored, /ui/assets/vendor) for series over days, plain bars for shares.
// Every chart has a text alternative (aria-label, and a table the page shows beside it).

import { h } from "./dom.js";

function colors() {
  const style = getComputedStyle(document.documentElement);
  return {
    fg: style.getPropertyValue("--fg").trim() || "#16181d",
    line: style.getPropertyValue("--line").trim() || "#d5d9e0",
    accent: style.getPropertyValue("--accent").trim() || "#1f5fd1",
  };
}

const PALETTE = ["#1f5fd1", "#d1741f", "#2e9e5b", "#b8407a", "#7a5bd1", "#8a8a1f", "#1f9eb8"];

/** Series over days: ``days`` are "YYYY-MM-DD", each series {label, values}. */
export function dayChart(container, days, series, { title, unit = "$" } = {}) {
  const box = h("div", { class: "chart", role: "img", "aria-label": title || "chart" });
  container.append(box);
  if (!window.uPlot || days.length === 0) return box;
  const x = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
  // Colors are read at each draw, so the chart follows a switch to dark mode and back.
  const fg = () => colors().fg;
  const line = () => colors().line;
  const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line } };
  const width = Math.max(280, box.clientWidth || container.clientWidth || 600);
  const chart = new window.uPlot({
    width,
    height: 240,
    title,
    tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true } },
    axes: [axis, {
      ...axis,
      size: 72,  // room for small dollar amounts ("$0.00125")
      values: (u, ticks) => ticks.map((v) => `${unit}${+v.toFixed(6)}`),
    }],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2,
        fill: series.length === 1 ? `${PALETTE[0]}22` : undefined,
        points: { show: days.length < 40 },
      })),
    ],
  }, [x, ...series.map((s) => s.values)], box);
  new ResizeObserver(() => chart.setSize({ width: Math.max(280, box.clientWidth), height: 240 }))
    .observe(box);
  matchMedia("(prefers-color-scheme: dark)")
    .addEventListener("change", () => chart.redraw(false, true));
  return box;
}

/** Horizontal bars for shares (spend by model): rows of {label, value}, biggest first. */
export function bars(container, rows, { title, format = (v) => String(v) } = {}) {
  const max = Math.max(0, ...rows.map((row) => row.value)) || 1;
  const list = h("ul", { class: "bars", "aria-label": title || "bars" });
  for (const row of rows) {
    const bar = h("span", { class: "bar" });
    bar.style.width = `${Math.max(1, (row.value / max) * 100)}%`;
    list.append(h("li", {}, h("span", { class: "bar-label" }, row.label), bar,
      h("span", { class: "bar-value" }, format(row.value))));
  }
  container.append(list);
  return list;
}
