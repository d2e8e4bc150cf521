// The usage chart: tokens per day, one line per group, drawn by uPlot (served by the gateway as an asset).
import { daysAgo, h, isoDay, main } from './dom.js';

let chartLibrary;
/** uPlot, loaded the first time a chart is drawn: the pages without one (most first loads) do without it. */
function loadChartLibrary() {
  chartLibrary ??= new Promise((resolve, reject) => {
    document.head.append(h('link', { rel: 'stylesheet', href: '/admin/assets/uPlot.min.css' }));
    document.head.append(h('script', { src: '/admin/assets/uPlot.iife.min.js', onload: resolve, onerror: reject }));
  });
  return chartLibrary;
}

const COLORS = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00', '#888888'];

/** A figure named `Usage per day` over the last `days` days: a line per group of `groups`, `groupOf(row)` naming a row's. */
export function usageChart(rows, groupOf, days, groups) {
  const figure = h('figure', { role: 'img', 'aria-label': 'Usage per day' }, h('figcaption', {}, 'Usage per day (tokens)'));
  const dates = Array.from({ length: days }, (_, i) => isoDay(daysAgo(days - 1 - i)));
  const at = new Map(dates.map((date, i) => [date, i]));
  const series = groups.map(() => dates.map(() => 0));
  const line = new Map(groups.map((group, i) => [group, series[i]]));
  for (const r of rows) {
    const values = line.get(groupOf(r));
    const i = at.get(r.date);
    if (values !== undefined && i !== undefined) values[i] += r.promptTokens + r.completionTokens;
  }
  const draw = () => {
    const x = dates.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    // eslint-disable-next-line no-new
    new globalThis.uPlot({
      width: Math.min(1100, main.clientWidth - 20), height: 280,
      series: [{}, ...groups.map((g, i) => ({ label: String(g), stroke: COLORS[i % COLORS.length], width: 2 }))],
      axes: [{}, { size: 70 }],
    }, [x, ...series], figure);
  };
  // Drawn once the library is there and the figure is in the page (its width is the page's).
  loadChartLibrary().then(draw, () => figure.append(h('p', { class: 'error' }, 'The chart could not be loaded.')));
  return figure;
}
