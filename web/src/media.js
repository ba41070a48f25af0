// media.js — the rich data of a run page: histograms as a distribution
// over steps (a heatmap on a canvas: x = step, y = value, darker = more of
// the step's values in that bin), images with a step slider and their
// captions, tables as HTML tables. Everything comes from
// GET .../media and .../media/<kind>?key=; every user string (keys,
// captions, cells) goes through textContent (dom.js h), never HTML.
// Images need the API key, which an <img src> cannot send: they are
// fetched and shown as data: URLs (allowed by the page's CSP), typed by the
// server from their signature.
import { h, clear, fmtNum, fmtValue } from './dom.js';
import { api, apiRaw, enc } from './api.js';

const HIST_SAMPLES = 200; // steps drawn per histogram (the server downsamples)
const W = 560, HGT = 220, PAD_L = 56, PAD_B = 22, PAD_T = 6, PAD_R = 8;

// Everything the heatmap drew, for tests: per column the step and per bin its colour intensity (0..1).
function heatModel(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v.edges.length) { lo = Math.min(lo, v.edges[0]); hi = Math.max(hi, v.edges[v.edges.length - 1]); }
  }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  // Each step is normalised by its own densest bin (count per unit of value), so a step with
  // ten times the values does not wash out the others: the picture is the shape over time.
  const cols = values.map((v) => {
    const dens = v.counts.map((c, i) => c / Math.max(v.edges[i + 1] - v.edges[i], (hi - lo) / (HGT - PAD_B - PAD_T)));
    const max = Math.max(0, ...dens);
    return { step: v.step, edges: v.edges, intensity: dens.map((d) => (max > 0 ? d / max : 0)),
      nan: v.nan, inf: v.inf, neg_inf: v.neg_inf };
  });
  return { lo, hi, cols };
}

// Pixel geometry of the model: whole-pixel x range of column i, the value at the middle of pixel row y.
function geometry(m) {
  const plotW = W - PAD_L - PAD_R, plotH = HGT - PAD_T - PAD_B;
  const n = m.cols.length;
  const colX = (i) => [PAD_L + Math.floor((i * plotW) / n), PAD_L + Math.floor(((i + 1) * plotW) / n)];
  const valueAt = (y) => m.lo + ((PAD_T + plotH - (y + 0.5)) / plotH) * (m.hi - m.lo);
  return { plotW, plotH, colX, valueAt };
}

// The intensity (0..1) a column shows at value v: its bin's, 0 outside (bins are [a, b), the last [a, b]).
export function intensityAt(col, v, pixel) {
  const e = col.edges, n = col.intensity.length;
  if (!n) return 0;
  if (e[0] === e[n]) return Math.abs(v - e[0]) <= pixel / 2 ? col.intensity[0] : 0; // one value: one row
  if (v < e[0] || v > e[n]) return 0;
  let a = 0, b = n - 1;
  while (a < b) { const mid = (a + b + 1) >> 1; if (e[mid] <= v) a = mid; else b = mid - 1; }
  return col.intensity[a];
}

// white → deep blue (#1e3a8a) by intensity t
export function heatColor(t) {
  return [Math.round(255 - t * (255 - 30)), Math.round(255 - t * (255 - 58)), Math.round(255 - t * (255 - 138))];
}

// Drawn pixel row by pixel row: each row takes the intensity of the bin its middle falls in, so
// bins thinner than a pixel never overdraw each other and every pixel has one exact colour.
function drawHeat(canvas, m) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = W * dpr;
  canvas.height = HGT * dpr;
  canvas.style.width = `${W}px`;
  canvas.style.height = `${HGT}px`;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, W, HGT);
  const { plotW, plotH, colX, valueAt } = geometry(m);
  const pixel = (m.hi - m.lo) / plotH;
  m.cols.forEach((c, i) => {
    const [x0, x1] = colX(i);
    if (x1 <= x0) return;
    for (let y = PAD_T; y < PAD_T + plotH; y++) {
      const t = intensityAt(c, valueAt(y), pixel);
      if (t <= 0) continue;
      const [r, gr, b] = heatColor(t);
      g.fillStyle = `rgb(${r},${gr},${b})`;
      g.fillRect(x0, y, x1 - x0, 1);
    }
  });
  g.strokeStyle = '#94a3b8';
  g.strokeRect(PAD_L - 0.5, PAD_T - 0.5, plotW + 1, plotH + 1);
  g.fillStyle = '#475569';
  g.font = '11px sans-serif';
  g.textAlign = 'right';
  g.fillText(fmtNum(m.hi), PAD_L - 4, PAD_T + 10);
  g.fillText(fmtNum(m.lo), PAD_L - 4, PAD_T + plotH);
  g.textAlign = 'left';
  if (m.cols.length) {
    g.fillText(`step ${m.cols[0].step}`, PAD_L, HGT - 6);
    g.textAlign = 'right';
    g.fillText(`step ${m.cols[m.cols.length - 1].step}`, W - PAD_R, HGT - 6);
  }
}

async function histogramCard(rp, item) {
  const d = await api(`${rp}/media/histogram?key=${enc(item.key)}&samples=${HIST_SAMPLES}`);
  const m = heatModel(d.values);
  const canvas = h('canvas', { class: 'heatmap', dataset: { key: item.key } });
  drawHeat(canvas, m);
  const last = d.values[d.values.length - 1];
  const odd = last && (last.nan || last.inf || last.neg_inf)
    ? `last step: ${last.nan} NaN, ${last.inf} +Inf, ${last.neg_inf} -Inf` : '';
  window.__wb.media[`histogram:${item.key}`] = { ...m, total: d.total, downsampled: d.downsampled,
    geometry: { W, HGT, PAD_L, PAD_R, PAD_T, PAD_B } };
  return h('div', { class: 'chart media-card hist-card' },
    h('div', { class: 'chart-title' }, item.key),
    canvas,
    h('div', { class: 'muted small' }, `${d.total} steps${d.downsampled ? `, ${d.values.length} shown` : ''}`, odd ? ` · ${odd}` : ''));
}

// The bytes of an image of the run as a data: URL (signed in by key or session).
async function imageUrl(rp, sha) {
  const res = await apiRaw(`${rp}/images/${enc(sha)}`);
  const blob = await res.blob();
  if (blob.type !== 'image/png' && blob.type !== 'image/jpeg') throw new Error(`image ${sha}: type ${blob.type}`);
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}

// A slider over the steps that have a value; show(i) renders value i.
function stepSlider(n, onChange) {
  const input = h('input', { type: 'range', class: 'step-slider', min: 0, max: Math.max(0, n - 1), step: 1, value: Math.max(0, n - 1) });
  input.addEventListener('input', () => onChange(Number(input.value)));
  return input;
}

async function imageCard(rp, item) {
  const d = await api(`${rp}/media/image?key=${enc(item.key)}&samples=1000`);
  const img = h('img', { class: 'media-image', alt: '' });
  const cap = h('div', { class: 'caption' });
  const label = h('span', { class: 'muted small step-label' });
  const state = { key: item.key, steps: d.values.map((v) => v.step), shown: null };
  window.__wb.media[`image:${item.key}`] = state;
  let seq = 0;
  async function show(i) {
    const v = d.values[i];
    if (!v) return;
    const mine = ++seq;
    label.textContent = `step ${v.step} (${i + 1} of ${d.values.length})`;
    cap.textContent = v.caption; // text, never markup
    img.alt = v.caption;
    const url = await imageUrl(rp, v.sha256);
    if (mine !== seq) return; // the slider moved on
    img.src = url; // a data: URL of an image type checked above
    await img.decode().catch(() => {});
    Object.assign(state, { shown: { index: i, step: v.step, sha256: v.sha256, caption: v.caption,
      width: img.naturalWidth, height: img.naturalHeight } });
  }
  const card = h('div', { class: 'chart media-card image-card', dataset: { key: item.key } },
    h('div', { class: 'chart-title' }, item.key),
    h('div', { class: 'toolbar' }, stepSlider(d.values.length, show), label),
    img, cap);
  await show(d.values.length - 1);
  return card;
}

function tableView(t) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'media-table' },
    h('thead', null, h('tr', null, t.columns.map((c) => h('th', null, c)))),
    h('tbody', null, t.data.map((row) => h('tr', null, row.map((cell) => h('td', null, cell === null ? '' : fmtValue(cell))))))));
}

async function tableCard(rp, item) {
  const d = await api(`${rp}/media/table?key=${enc(item.key)}&samples=1000`);
  const box = h('div');
  const label = h('span', { class: 'muted small step-label' });
  const state = { key: item.key, steps: d.values.map((v) => v.step), shown: null };
  window.__wb.media[`table:${item.key}`] = state;
  function show(i) {
    const v = d.values[i];
    if (!v) return;
    label.textContent = `step ${v.step} (${i + 1} of ${d.values.length})`;
    clear(box).appendChild(tableView(v.table));
    state.shown = { index: i, step: v.step, table: v.table };
  }
  const card = h('div', { class: 'chart media-card table-card', dataset: { key: item.key } },
    h('div', { class: 'chart-title' }, item.key),
    h('div', { class: 'toolbar' }, stepSlider(d.values.length, show), label), box);
  show(d.values.length - 1);
  return card;
}

// Fill box with the run's rich data; hides it when there is none.
export async function renderMedia(box, rp, known) {
  window.__wb.media = {};
  const { media } = known || await api(`${rp}/media`);
  box.dataset.sig = JSON.stringify(media);
  clear(box);
  if (!media.length) { box.style.display = 'none'; return; }
  box.style.display = '';
  const make = { histogram: histogramCard, image: imageCard, table: tableCard };
  const titles = { histogram: 'Histograms', image: 'Images', table: 'Tables' };
  for (const kind of ['histogram', 'image', 'table']) {
    const items = media.filter((m) => m.kind === kind);
    if (!items.length) continue;
    const grid = h('div', { class: 'charts', id: `media-${kind}` });
    box.append(h('h2', null, titles[kind]), grid);
    // fetched together (a watched model has a histogram per layer), shown in key order
    for (const card of await Promise.all(items.map((item) => make[kind](rp, item)))) grid.appendChild(card);
  }
  window.__wb.mediaReady = true;
}

// While a run is running: render again when its keys or counts changed.
export async function refreshMedia(box, rp) {
  const answer = await api(`${rp}/media`);
  if (JSON.stringify(answer.media) !== box.dataset.sig) await renderMedia(box, rp, answer);
}
