// system.js — the "System" section of the run page.
//
// libwb's sampler (sdk/src/sysmon.c) logs `system/*` series whose step is
// milliseconds since the run started, so they are not drawn against the
// training step like the metric charts: x is the time since the start
// (shown as 45s, 3m 20s, 2h 05m) and y is in the unit of the key (percent,
// MiB/GiB, MiB/s, °C, W). Byte values are divided by the unit's size before
// drawing so the axis ticks fall on round numbers of that unit. Zoom
// re-requests the series for the chosen time window (`szoom=<ms>-<ms>` in
// the URL) like the metric charts do for steps.
import { h, clear, fmtNum } from './dom.js';
import { api } from './api.js';
import { setQuery } from './nav.js';
import { Chart } from './chart.js';

const BUCKETS = 1000;
const KIB = 1024, MIB = KIB * 1024, GIB = MIB * 1024;

export const isSystemKey = (k) => k.startsWith('system/');

// The unit of a system key: {kind, label} where kind is pct|bytes|rate|temp|power|none.
export function unitOf(key) {
  const k = key.slice('system/'.length);
  if (k === 'cpu' || k === 'proc.cpu' || /(^|\.)util$/.test(k) || /percent/.test(k)) return { kind: 'pct' };
  if (/temp/.test(k)) return { kind: 'temp' };
  if (/power/.test(k)) return { kind: 'power' };
  if (/^(disk|net)\./.test(k)) return { kind: 'rate' };
  if (/rss|memory/.test(k)) return { kind: 'bytes' };
  return { kind: 'none' };
}

// Divisor and suffix for byte values whose largest is max.
function byteScale(max, perSecond) {
  const sfx = perSecond ? '/s' : '';
  if (perSecond && max < MIB) return { div: KIB, suffix: ` KiB${sfx}` };
  if (max >= GIB) return { div: GIB, suffix: ` GiB${sfx}` };
  return { div: MIB, suffix: ` MiB${sfx}` };
}

// {div, suffix} for a key given the largest value drawn.
export function scaleOf(key, max) {
  const u = unitOf(key);
  switch (u.kind) {
    case 'pct': return { div: 1, suffix: '%' };
    case 'temp': return { div: 1, suffix: ' °C' };
    case 'power': return { div: 1, suffix: ' W' };
    case 'bytes': return byteScale(max, false);
    case 'rate': return byteScale(max, true);
    default: return { div: 1, suffix: '' };
  }
}

// Seconds since the start, readable: 0.25s, 45s, 3m 20s, 2h 05m, 1d 03h.
export function fmtRel(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '';
  const neg = s < 0 ? '-' : '';
  s = Math.abs(s);
  const pad = (n) => String(Math.floor(n)).padStart(2, '0');
  if (s < 60) return `${neg}${fmtNum(Number(s.toPrecision(3)))}s`;
  if (s < 3600) return `${neg}${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${neg}${Math.floor(s / 3600)}h ${pad((s % 3600) / 60)}m`;
  return `${neg}${Math.floor(s / 86400)}d ${pad((s % 86400) / 3600)}h`;
}

// The section: call load() to (re)fetch and draw, destroy() when leaving.
// keys: the run's system/* keys; band(): whether to draw the min/max band.
export function systemSection(root, rp, params, keys, band) {
  const charts = new Map();
  const raw = new Map();
  // the usual questions first: CPU, memory, GPU, then I/O
  const ORDER = [/^cpu$/, /^proc\.cpu$/, /^memory\.used$/, /^proc\.rss$/, /^memory\./, /^gpu\./, /^disk\./, /^net\./];
  const rank = (k) => { const i = ORDER.findIndex((re) => re.test(k.slice(7))); return i < 0 ? ORDER.length : i; };
  keys = [...keys].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const grid = h('div', { class: 'charts system', id: 'system-charts' });
  const info = h('span', { class: 'muted small', id: 'system-zoom' });
  clear(root);
  if (!keys.length) return { load: async () => {}, destroy() {}, keys };
  root.append(h('h2', null, 'System'),
    h('div', { class: 'toolbar' }, h('span', { class: 'muted small' },
      'sampled by libwb on the training host; x: time since the run started'), info,
    h('span', { class: 'spacer' }), h('span', { class: 'muted small' }, 'drag to zoom · double-click to reset')),
    grid);

  function zoomRange() {
    const z = /^(\d+)-(\d+)$/.exec(params.get('szoom') || '');
    return z ? [Number(z[1]), Number(z[2])] : null;
  }

  async function zoom(x0, x1) {
    // x is in seconds; the series' steps are milliseconds.
    let a = Math.max(0, Math.floor(x0 * 1000)), b = Math.ceil(x1 * 1000);
    if (b < a) [a, b] = [b, a];
    params.set('szoom', `${a}-${b}`);
    setQuery(params);
    await load();
  }

  async function reset() {
    params.delete('szoom');
    setQuery(params);
    await load();
  }

  for (const key of keys) {
    // percentages from 0 to at least 100 (a process's CPU may pass 100)
    const yRange = unitOf(key).kind === 'pct' ? (u, lo, hi) => [0, hi > 100 ? Math.ceil(hi / 50) * 50 : 100] : undefined;
    const c = new Chart({ title: key, label: key.slice('system/'.length), xLabel: 'time', xFmt: fmtRel, yRange,
      height: 200, onZoom: (x0, x1) => zoom(x0, x1), onReset: () => reset() });
    charts.set(key, c);
    grid.appendChild(c.el);
  }

  function draw(key) {
    const d = raw.get(key), c = charts.get(key);
    if (!d || !c) return;
    const showBand = band() && d.downsampled;
    let max = 0;
    for (const v of showBand ? d.max : d.last) if (Number.isFinite(v) && Math.abs(v) > max) max = Math.abs(v);
    const { div, suffix } = scaleOf(key, max);
    const sc = (arr) => (arr ? arr.map((v) => (v === null ? null : v / div)) : null);
    const x = d.step.map((ms) => ms / 1000);
    const y = sc(d.last);
    // ticks: as many decimals as the tick spacing needs; legend: 4 digits
    c.opts.yFmt = (v, incr) => (incr
      ? `${v.toFixed(Math.max(0, Math.min(6, -Math.floor(Math.log10(incr)))))}${suffix}`
      : `${fmtNum(Number(v.toPrecision(4)))}${suffix}`);
    c.el.querySelector('.chart-title').textContent = `${key.slice('system/'.length)}${suffix ? ` (${suffix.trim()})` : ''}`;
    // the y formatter is part of the plot's config: a new unit needs a new plot
    if (c.u && c.u._suffix !== suffix) { c.u.destroy(); c.u = null; }
    c.setData([{ label: key.slice('system/'.length), x, y, min: showBand ? sc(d.min) : null, max: showBand ? sc(d.max) : null }]);
    c.u._suffix = suffix;
    c.el.dataset.unit = suffix.trim();
    window.__wb.system[key] = { steps: d.step, last: d.last, x, y, div, unit: suffix.trim(), total: d.total };
    (window.__wb.systemPlots = window.__wb.systemPlots || {})[key] = c.u; // for tests: the axes' formatters
  }

  async function load() {
    const z = zoomRange();
    window.__wb.system = window.__wb.system || {};
    const answers = await Promise.all(keys.map((key) => {
      const qs = new URLSearchParams({ key, buckets: String(BUCKETS) });
      if (z) { qs.set('start', String(z[0])); qs.set('end', String(z[1])); }
      return api(`${rp}/history?${qs}`).catch(() => null);
    }));
    keys.forEach((k, i) => { if (answers[i]) raw.set(k, answers[i]); });
    for (const k of keys) draw(k);
    info.textContent = z ? `${fmtRel(z[0] / 1000)} – ${fmtRel(z[1] / 1000)}` : '';
    document.body.dataset.systemLoaded = String((Number(document.body.dataset.systemLoaded) || 0) + 1);
  }

  return {
    keys,
    load,
    resize() { for (const c of charts.values()) c.resize(); },
    destroy() { for (const c of charts.values()) c.destroy(); },
  };
}
