// chart.js — line charts on uPlot, fed by the server's downsampling.
//
// A chart never holds more than about one point per horizontal pixel: it
// asks /history for `buckets` M4 buckets (min, max, last) over the visible
// step range, draws `last` as the line and min..max as a band, and on zoom
// asks again for the new range, so a 10M-point series costs the same as a
// 1,000-point one.
import uPlot from 'uplot';
import { h, fmtNum, runColor } from './dom.js';

// TensorBoard-style debiased exponential moving average; weight in [0, 1).
export function smooth(ys, weight) {
  if (!weight) return ys;
  const out = new Array(ys.length);
  let last = 0, n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) { out[i] = y; continue; }
    last = last * weight + (1 - weight) * y;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

// Piecewise-linear map from steps to another series' values (wall time, or
// any metric logged at the same steps). xs are the steps of the mapping,
// vs its values; both ascending by step.
export function makeStepMap(xs, vs) {
  return (s) => {
    if (!xs.length) return null;
    let lo = 0, hi = xs.length - 1;
    if (s <= xs[0]) return vs[0];
    if (s >= xs[hi]) return vs[hi];
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] <= s) lo = mid; else hi = mid;
    }
    const t = (s - xs[lo]) / (xs[hi] - xs[lo] || 1);
    return vs[lo] + t * (vs[hi] - vs[lo]);
  };
}

const numFmt = (u, vals) => vals.map((v) => (v === null ? '' : fmtNum(v)));
// a tick formatter from f(value, increment between ticks)
const fmtWith = (f) => (u, vals, ax, space, incr) => vals.map((v) => (v === null ? '' : f(v, incr)));

// A chart card. opts: {title, label?, xLabel, xTime, xFmt?(x), yFmt?(y), log, width, height,
// onZoom(x0, x1), onReset()}: title is the metric key (data-key), label the
// text shown (default title); xFmt/yFmt format axis ticks and legend values;
// yRange(u, min, max) → [lo, hi] fixes the y scale (uPlot's scale range).
// series: [{label, color, x: [...], y: [...], min?: [...], max?: [...], dots?}] (dots: points, no line)
export class Chart {
  constructor(opts) {
    this.opts = opts;
    this.el = h('div', { class: 'chart', dataset: { key: opts.title, state: 'loading' } });
    this.plotEl = h('div', { class: 'plot' });
    this.el.appendChild(h('div', { class: 'chart-title' }, opts.label || opts.title));
    this.el.appendChild(this.plotEl);
    this.u = null;
    this.series = [];
  }

  // Build the aligned table uPlot wants: one x array and a y array per line.
  static align(series) {
    if (series.length === 1) {
      const s = series[0];
      const cols = [s.x, s.y];
      if (s.min) cols.push(s.min, s.max);
      return cols;
    }
    const tables = series.map((s) => [s.x, s.y]);
    return uPlot.join(tables);
  }

  setData(series) {
    this.series = series;
    const data = Chart.align(series);
    const width = Math.max(200, this.plotEl.clientWidth || this.opts.width || 600);
    // A new plot when the lines change (not only their count: one line with a
    // band and three lines both make four columns), else just new data.
    const sig = JSON.stringify([series.map((x) => [x.label, x.color, !!x.min, !!x.dots]), !!this.opts.log]);
    const needNew = !this.u || this.u._sig !== sig;
    if (this.opts.log) {
      for (let i = 1; i < data.length; i++) data[i] = data[i].map((v) => (v > 0 ? v : null));
    }
    if (needNew) {
      if (this.u) this.u.destroy();
      this.u = new uPlot(this.config(series, width), data, this.plotEl);
      this.u._sig = sig;
    } else {
      this.u.setData(data, true);
    }
    this.el.dataset.state = 'ready';
    this.el.dataset.points = String(data[0].length);
  }

  config(series, width) {
    const o = this.opts;
    const many = series.length > 12;
    const xf = o.xFmt || fmtNum, yf = o.yFmt || fmtNum;
    const uSeries = [{ label: o.xLabel || 'step', value: o.xTime ? (u, v) => (v == null ? '' : new Date(v * 1000).toLocaleString()) : (u, v) => (v == null ? '' : xf(v)) }];
    const bands = [];
    series.forEach((s, i) => {
      const c = s.color || runColor(i);
      uSeries.push(s.dots
        ? { label: s.label, stroke: c, width: 0, paths: () => null, points: { show: true, size: 5, width: 1, stroke: c, fill: c },
          value: (u, v) => (v == null ? '' : yf(v)) }
        : { label: s.label, stroke: c, width: many ? 1 : 1.5, spanGaps: true,
          points: { show: false }, value: (u, v) => (v == null ? '' : yf(v)) });
    });
    if (series.length === 1 && series[0].min) {
      const c = series[0].color || runColor(0);
      uSeries.push({ label: 'min', stroke: c, alpha: 0.25, width: 0.5, points: { show: false }, spanGaps: true });
      uSeries.push({ label: 'max', stroke: c, alpha: 0.25, width: 0.5, points: { show: false }, spanGaps: true });
      bands.push({ series: [3, 2], fill: hexAlpha(c, 0.12) });
    }
    return {
      width,
      height: o.height || 240,
      series: uSeries,
      bands,
      legend: { show: !many, live: true },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: !many } },
      scales: { x: { time: !!o.xTime }, y: o.log ? { distr: 3 } : o.yRange ? { range: o.yRange } : {} },
      axes: [
        { stroke: '#64748b', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#e2e8f0' }, values: o.xTime ? undefined : o.xFmt ? fmtWith(o.xFmt) : numFmt },
        { stroke: '#64748b', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#e2e8f0' }, size: o.yFmt ? 84 : 60, values: o.yFmt ? fmtWith(o.yFmt) : numFmt },
      ],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 2) return;
          const x0 = u.posToVal(u.select.left, 'x');
          const x1 = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          if (o.onZoom) o.onZoom(x0, x1);
        }],
        ready: [(u) => {
          u.over.addEventListener('dblclick', () => { if (o.onReset) o.onReset(); });
        }],
      },
    };
  }

  resize() {
    if (this.u && this.plotEl.clientWidth) this.u.setSize({ width: this.plotEl.clientWidth, height: this.u.height });
  }

  destroy() {
    if (this.u) this.u.destroy();
    this.u = null;
  }
}

function hexAlpha(c, a) {
  if (/^#[0-9a-f]{6}$/i.test(c)) {
    const n = parseInt(c.slice(1), 16);
    return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
  }
  return c.replace(/^hsl\((.*)\)$/, `hsla($1, ${a})`);
}
