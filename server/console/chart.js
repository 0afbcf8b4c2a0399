// chart.js: the overview's charts, drawn as inline SVG through createElementNS (core.js
// svg()): no library, nothing fetched, no markup parsed. Numbers become attributes and
// labels text nodes; the look (fills, strokes, fonts) is in app.css by class name, since
// the CSP allows no inline style.
//
// Each chart keeps its data on its marks (data-day, data-n; data-ratio) so that the browser
// test reads back what was drawn, and each mark carries a <title> a person sees on hover.
import { t, svg, fmtDay, pct } from './core.js';

// The smallest "round" number (1, 2, 5 times a power of ten) at or above n (at least 1):
// the top of a count axis.
export function niceMax(n) {
  if (!(n > 1)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

// Visits per day: one bar per entry of byDay ({day: "2026-11-18", n}), oldest on the left,
// a count axis with three gridlines, a date under every fifth bar and the last one.
export function visitsChart(byDay) {
  const W = 760, H = 220, left = 34, right = 8, top = 12, bottom = 30;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = niceMax(Math.max(0, ...byDay.map((d) => d.n)));
  const step = byDay.length ? plotW / byDay.length : plotW;
  const barW = Math.max(1, step * 0.7);
  const y = (n) => top + plotH - (n / max) * plotH;
  const total = byDay.reduce((s, d) => s + d.n, 0);
  const root = svg('svg', {
    class: 'chart visits', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': t('chart_visits_label', byDay.length, total), 'data-testid': 'visits-chart',
    preserveAspectRatio: 'xMidYMid meet',
  }, svg('title', null, t('chart_visits_label', byDay.length, total)));
  const grid = svg('g', { class: 'axis' });
  for (const v of [0, max / 2, max]) {
    if (v !== Math.round(v)) continue; // max 1: no gridline at 0.5
    grid.appendChild(svg('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: v ? 'gridline' : 'baseline' }));
    grid.appendChild(svg('text', { x: left - 6, y: y(v) + 4, class: 'ylabel', 'text-anchor': 'end' }, String(v)));
  }
  root.appendChild(grid);
  const bars = svg('g', { class: 'bars' });
  const labels = svg('g', { class: 'xlabels' });
  byDay.forEach((d, i) => {
    const x = left + i * step + (step - barW) / 2;
    const hgt = (d.n / max) * plotH;
    bars.appendChild(svg('rect', {
      class: d.n ? 'bar' : 'bar zero', x: x.toFixed(2), y: (top + plotH - hgt).toFixed(2),
      width: barW.toFixed(2), height: hgt.toFixed(2), 'data-day': d.day, 'data-n': d.n,
    }, svg('title', null, t('chart_visits_bar', fmtDay(d.day), d.n))));
    if (i % 5 === 0 || i === byDay.length - 1) {
      labels.appendChild(svg('text', { x: (x + barW / 2).toFixed(2), y: H - 10, class: 'xlabel', 'text-anchor': 'middle' }, fmtDay(d.day)));
    }
  });
  root.appendChild(bars);
  root.appendChild(labels);
  return root;
}

// A ratio (0..1) as a horizontal bar: the track and the filled part. null draws the empty
// track (nothing to measure). cls adds a colour class (ok / attn / alert).
export function ratioBar(ratio, cls, label) {
  const r = ratio === null || ratio === undefined || !Number.isFinite(ratio) ? 0 : Math.max(0, Math.min(1, ratio));
  return svg('svg', {
    class: 'ratio-bar ' + (cls || ''), viewBox: '0 0 100 10', preserveAspectRatio: 'none',
    role: 'img', 'aria-label': label || pct(ratio), 'data-ratio': ratio === null || ratio === undefined ? '' : ratio,
  },
  svg('title', null, label || pct(ratio)),
  svg('rect', { class: 'track', x: 0, y: 0, width: 100, height: 10, rx: 2 }),
  svg('rect', { class: 'fill', x: 0, y: 0, width: (r * 100).toFixed(2), height: 10, rx: 2 }));
}

// A count against the largest of its list, as a short bar (residents by tag).
export function countBar(n, max, label) {
  return ratioBar(max > 0 ? n / max : 0, 'count', label);
}
