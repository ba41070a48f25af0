// sweep_plots.js — the sweep page's two hand-drawn canvas plots: parallel
// coordinates of parameters → metric with brushing on any axis, and the
// scatter of one parameter against the metric. Axes come from
// sweep_data.js's makeAxis (log, categorical), colours from metricColor.
//
// Canvas, not SVG or DOM: 1,000 trials × a dozen axes are 12,000 segments,
// which a canvas strokes in a few milliseconds when lines of one colour go
// into one path (colours are quantised to COLORS buckets for that), and a
// brush drag redraws at frame rate. Nothing of the user's reaches the DOM
// from here: names and values are drawn as canvas text.
import { h, fmtNum, fmtValue } from './dom.js';

const COLORS = 24;
// low → high metric quality (t = 0 worst, 1 best): blue, purple, red, orange, gold.
const STOPS = [[37, 52, 148], [122, 48, 160], [200, 55, 110], [234, 118, 46], [214, 166, 0]];
const BUCKET = Array.from({ length: COLORS }, (_, i) => {
  const t = i / (COLORS - 1), x = t * (STOPS.length - 1), k = Math.min(STOPS.length - 2, Math.floor(x)), f = x - k;
  const c = STOPS[k].map((v, j) => Math.round(v + f * (STOPS[k + 1][j] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
});
const NO_VALUE = '#94a3b8';
const DIMMED = 'rgba(203,213,225,0.55)';

// The colour of quality t in [0, 1] (NaN: no metric value).
export function metricColor(t) {
  return Number.isFinite(t) ? BUCKET[Math.max(0, Math.min(COLORS - 1, Math.round(t * (COLORS - 1))))] : NO_VALUE;
}

// A CSS gradient of the scale, for the legend.
export const colorGradient = () => `linear-gradient(to right, ${BUCKET.join(', ')})`;

// Tick positions and labels of an axis: [[p, text]].
export function axisTicks(a, room) {
  if (a.cat) {
    const n = a.cats.length, step = Math.max(1, Math.ceil(n / Math.max(2, room)));
    const out = [];
    for (let i = 0; i < n; i += step) out.push([n === 1 ? 0.5 : i / (n - 1), fmtValue(a.cats[i])]);
    return out;
  }
  if (a.min === a.max) return [[0.5, fmtNum(a.min)]];
  if (a.log) {
    const lo = Math.log10(a.min), hi = Math.log10(a.max), out = [];
    for (let e = Math.ceil(lo - 1e-9); e <= hi + 1e-9; e++) out.push([(e - lo) / (hi - lo), e < -3 || e > 5 ? `1e${e}` : fmtNum(Math.pow(10, e))]);
    if (out.length >= 2) return out;
  }
  const k = Math.max(2, Math.min(5, room));
  return Array.from({ length: k }, (_, i) => { const p = i / (k - 1); return [p, fmtNum(a.at(p))]; });
}

function sizeCanvas(canvas, W, H) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  canvas.style.width = `${W}px`; canvas.style.height = `${H}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  return ctx;
}

const clip = (s, n) => (s.length > n ? `${s.slice(0, Math.max(1, n - 1))}…` : s);

// Parallel coordinates. opts.onBrush(): called when a brush is set or
// cleared (after the drag). setData(axes, pos, color, ids): axes from
// makeAxis; pos[j][i] the position of row i on axis j (NaN: none); color[i]
// quality in [0, 1] or NaN. brushes: Map axis name → [p0, p1] positions.
export class ParallelPlot {
  constructor(opts) {
    this.opts = opts;
    this.canvas = h('canvas', { id: 'sweep-parallel', class: 'sweep-canvas' });
    this.el = h('div', { class: 'card pc' }, this.canvas);
    this.axes = []; this.pos = []; this.color = []; this.n = 0;
    this.brushes = new Map();
    this.sel = new Uint8Array(0);
    this.geom = null;
    this.canvas.addEventListener('mousedown', (ev) => this.down(ev));
  }

  setData(axes, pos, color, n) {
    this.axes = axes; this.pos = pos; this.color = color; this.n = n;
    for (const k of [...this.brushes.keys()]) if (!axes.some((a) => a.name === k)) this.brushes.delete(k);
    this.select();
    this.draw();
  }

  // sel[i] = 1 when row i lies inside every brush (a row without a value on
  // a brushed axis is outside it).
  select() {
    const sel = new Uint8Array(this.n).fill(1);
    this.axes.forEach((a, j) => {
      const b = this.brushes.get(a.name);
      if (!b) return;
      const p = this.pos[j];
      for (let i = 0; i < this.n; i++) if (!(p[i] >= b[0] - 1e-9 && p[i] <= b[1] + 1e-9)) sel[i] = 0;
    });
    this.sel = sel;
    return sel;
  }

  draw() {
    const t0 = performance.now();
    const W = Math.max(400, (this.el.clientWidth || 1000) - 34), H = 360;
    const ctx = sizeCanvas(this.canvas, W, H);
    const axes = this.axes, n = this.n;
    const top = 44, bottom = H - 22, left = 70, right = W - 70;
    const span = axes.length > 1 ? (right - left) / (axes.length - 1) : 0;
    const xs = axes.map((_, j) => (axes.length > 1 ? left + j * span : W / 2));
    const y = (p) => bottom - p * (bottom - top);
    this.geom = { top, bottom, xs, W, H };
    this.canvas.dataset.axes = String(axes.length);
    if (axes.length < 2 || !n) {
      ctx.fillStyle = '#64748b'; ctx.font = '13px system-ui';
      ctx.fillText(n ? 'Needs a parameter and a metric.' : 'No trials yet.', 16, 30);
      this.canvas.dataset.lines = '0';
      return;
    }
    const brushing = this.brushes.size > 0;
    // Paths by colour: dimmed rows first, then each colour bucket, no value last.
    const paths = new Map();
    const pathOf = (key) => { let p = paths.get(key); if (!p) { p = new Path2D(); paths.set(key, p); } return p; };
    let selected = 0;
    for (let i = 0; i < n; i++) {
      const inSel = this.sel[i] === 1;
      if (inSel) selected++;
      const key = brushing && !inSel ? DIMMED : metricColor(this.color[i]);
      const path = pathOf(key);
      let started = false;
      for (let j = 0; j < axes.length; j++) {
        const p = this.pos[j][i];
        if (!Number.isFinite(p)) { started = false; continue; }
        if (started) path.lineTo(xs[j], y(p)); else path.moveTo(xs[j], y(p));
        started = true;
      }
    }
    ctx.lineWidth = n > 300 ? 0.8 : 1.4;
    ctx.globalAlpha = n > 300 ? 0.55 : 0.85;
    const order = [DIMMED, NO_VALUE, ...BUCKET];
    for (const key of order) if (paths.has(key)) { ctx.strokeStyle = key; ctx.stroke(paths.get(key)); }
    ctx.globalAlpha = 1;
    // Axes, brushes, names, ticks.
    const room = Math.max(2, Math.floor((bottom - top) / 18));
    ctx.font = '12px system-ui';
    axes.forEach((a, j) => {
      const x = xs[j];
      const b = this.brushes.get(a.name);
      if (b) {
        ctx.fillStyle = 'rgba(37,99,235,0.18)'; ctx.strokeStyle = '#2563eb';
        ctx.fillRect(x - 8, y(b[1]), 16, y(b[0]) - y(b[1]));
        ctx.strokeRect(x - 8, y(b[1]), 16, y(b[0]) - y(b[1]));
      }
      ctx.strokeStyle = '#475569'; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.fillStyle = '#0f172a'; ctx.textAlign = 'center'; ctx.font = '600 12px system-ui';
      const chars = Math.max(6, Math.floor((span || 200) / 7));
      ctx.fillText(clip(a.name, chars), x, 14);
      ctx.font = '11px system-ui'; ctx.fillStyle = '#64748b';
      ctx.fillText(a.log ? 'log' : a.cat ? 'categorical' : a.metric ? 'metric' : '', x, 28);
      ctx.textAlign = j === axes.length - 1 ? 'left' : 'right';
      for (const [p, label] of axisTicks(a, room)) {
        const ty = y(p);
        ctx.beginPath(); ctx.moveTo(x - 3, ty); ctx.lineTo(x + 3, ty); ctx.stroke();
        ctx.fillStyle = '#334155';
        ctx.fillText(clip(label, 12), j === axes.length - 1 ? x + 6 : x - 6, ty + 4);
      }
    });
    this.canvas.dataset.lines = String(n);
    this.canvas.dataset.selected = String(selected);
    this.drawMs = performance.now() - t0;
  }

  // A drag along an axis sets its brush; a click on it clears it.
  down(ev) {
    if (!this.geom || ev.button !== 0) return;
    const r = this.canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, yy = ev.clientY - r.top;
    const { top, bottom, xs } = this.geom;
    const j = xs.findIndex((ax) => Math.abs(ax - x) <= 14);
    if (j < 0 || yy < top - 8 || yy > bottom + 8) return;
    ev.preventDefault();
    const name = this.axes[j].name;
    const toP = (cy) => Math.max(0, Math.min(1, (bottom - (cy - r.top)) / (bottom - top)));
    const p0 = toP(ev.clientY), y0 = ev.clientY;
    let frame = 0;
    const move = (e) => {
      if (Math.abs(e.clientY - y0) < 3) return;
      const p1 = toP(e.clientY);
      this.brushes.set(name, [Math.min(p0, p1), Math.max(p0, p1)]);
      this.select();
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; this.draw(); });
    };
    const up = (e) => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      if (frame) cancelAnimationFrame(frame);
      if (Math.abs(e.clientY - y0) < 3) this.brushes.delete(name);
      else move(e);
      this.select();
      this.draw();
      if (this.opts.onBrush) this.opts.onBrush();
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  }
}

// Scatter of one parameter (x) against the metric (y). setData(xAxis,
// yAxis, xs, ys, color, sel, label(i)): positions in [0, 1] (NaN: not
// drawn), sel[i] 0 draws row i dimmed; label(i) the text for the hover line.
export class ScatterPlot {
  constructor() {
    this.canvas = h('canvas', { id: 'sweep-scatter', class: 'sweep-canvas' });
    this.info = h('div', { class: 'muted small scatter-info' }, '\u00a0');
    this.el = h('div', { class: 'card' }, this.canvas, this.info);
    this.pts = null;
    this.canvas.addEventListener('mousemove', (ev) => this.hover(ev));
  }

  setData(xAxis, yAxis, xs, ys, color, sel, label) {
    this.args = [xAxis, yAxis, xs, ys, color, sel, label];
    this.draw();
  }

  draw() {
    if (!this.args) return;
    const [xa, ya, xs, ys, color, sel, label] = this.args;
    const W = Math.max(360, (this.el.clientWidth || 800) - 34), H = 320;
    const ctx = sizeCanvas(this.canvas, W, H);
    const left = 72, right = W - 20, top = 14, bottom = H - 44;
    const X = (p) => left + p * (right - left), Y = (p) => bottom - p * (bottom - top);
    ctx.strokeStyle = '#e2e8f0'; ctx.fillStyle = '#64748b'; ctx.font = '11px system-ui'; ctx.lineWidth = 1;
    ctx.textAlign = 'center';
    for (const [p, t] of axisTicks(xa, Math.floor((right - left) / 90))) {
      ctx.beginPath(); ctx.moveTo(X(p), top); ctx.lineTo(X(p), bottom); ctx.stroke();
      ctx.fillText(clip(t, 14), X(p), bottom + 14);
    }
    ctx.textAlign = 'right';
    for (const [p, t] of axisTicks(ya, 6)) {
      ctx.beginPath(); ctx.moveTo(left, Y(p)); ctx.lineTo(right, Y(p)); ctx.stroke();
      ctx.fillText(clip(t, 12), left - 6, Y(p) + 4);
    }
    ctx.fillStyle = '#0f172a'; ctx.textAlign = 'center'; ctx.font = '600 12px system-ui';
    ctx.fillText(`${xa.name}${xa.log ? ' (log)' : ''}`, (left + right) / 2, H - 8);
    // Categorical x: a deterministic jitter spreads the points of one value.
    const jit = xa.cat && xa.cats.length > 1 ? 0.28 / (xa.cats.length - 1) : 0;
    const pts = [];
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < xs.length; i++) {
        if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i]) || (sel[i] === 1) !== (pass === 1)) continue;
        const j = jit ? (((i * 2654435761) >>> 0) / 4294967296 - 0.5) * jit : 0;
        const px = X(Math.max(0, Math.min(1, xs[i] + j))), py = Y(ys[i]);
        ctx.fillStyle = pass ? metricColor(color[i]) : DIMMED;
        ctx.beginPath(); ctx.arc(px, py, 3.2, 0, 2 * Math.PI); ctx.fill();
        pts.push([px, py, i]);
      }
    }
    this.pts = pts;
    this.label = label;
    this.canvas.dataset.points = String(pts.length);
    this.canvas.dataset.x = xa.name;
    this.canvas.dataset.log = xa.log ? '1' : '0';
  }

  hover(ev) {
    if (!this.pts) return;
    const r = this.canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let best = null, bd = 64;
    for (const [px, py, i] of this.pts) { const d = (px - x) ** 2 + (py - y) ** 2; if (d < bd) { bd = d; best = i; } }
    this.info.textContent = best === null ? '\u00a0' : this.label(best);
  }
}
