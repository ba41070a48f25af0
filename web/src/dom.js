// dom.js — building DOM without HTML strings. Every user string goes
// through textContent or an attribute value, never innerHTML, so a run named
// "<script>…" is shown as text and cannot execute.

// h('div', {class: 'x', onclick: fn}, child, 'text', [more]) → element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else if (k === 'href' || k === 'src') el.setAttribute(k, safeUrl(v));
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// Only same-origin paths and http(s) links: never javascript: URLs.
export function safeUrl(u) {
  const s = String(u);
  if (s.startsWith('/') && !s.startsWith('//')) return s;
  try {
    const p = new URL(s, location.origin);
    if (p.protocol === 'http:' || p.protocol === 'https:') return p.href;
  } catch { /* fall through */ }
  return '#';
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Human formats.
export function fmtNum(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v !== 'number') return JSON.stringify(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(5)));
}

export function fmtValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return fmtNum(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && !Array.isArray(v) && 'last' in v) return fmtNum(v.last);
  return JSON.stringify(v);
}

export function fmtTime(unix) {
  if (!unix) return '';
  const d = new Date(unix * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return '';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function runDuration(r) {
  const end = r.finished_at || (r.state === 'running' ? Date.now() / 1000 : r.heartbeat_at || r.updated_at);
  return end && r.created_at ? end - r.created_at : null;
}

export function stateBadge(state) {
  return h('span', { class: `badge state-${/^[a-z]+$/.test(state) ? state : 'unknown'}` }, state);
}

// Flatten {"a": {"b": 1}} into [["a.b", 1]].
export function flatten(obj, prefix = '', out = []) {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && !('last' in v && prefix === '__summary')) {
        flatten(v, prefix ? `${prefix}.${k}` : k, out);
      } else {
        out.push([prefix ? `${prefix}.${k}` : k, v]);
      }
    }
  }
  return out;
}

export function getPath(obj, path) {
  if (!obj) return undefined;
  if (path in obj) return obj[path];
  let cur = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(part in cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

// Distinct colours for many runs: golden-angle hues.
export function runColor(i) {
  const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#db2777', '#65a30d',
    '#4f46e5', '#b45309'];
  if (i < palette.length) return palette[i];
  return `hsl(${Math.round((i * 137.508) % 360)}, 65%, 45%)`;
}

// A value as text for a table cell. Past LONG characters (a 100 KB config
// value, a huge report cell) it is cut, with the full length said, a button
// that expands it into a scrolling box and one that copies it: a page never
// grows to the size of a value.
const LONG = 160;
export function valueText(v) {
  const text = fmtValue(v);
  if (text.length <= LONG) return text;
  const full = h('pre', { class: 'long-full', hidden: true }, text);
  const more = h('button', { type: 'button', class: 'linkish long-more' }, 'expand');
  more.addEventListener('click', () => {
    full.hidden = !full.hidden;
    more.textContent = full.hidden ? 'expand' : 'collapse';
  });
  const copy = h('button', { type: 'button', class: 'linkish long-copy' }, 'copy');
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(text).then(() => { copy.textContent = 'copied'; }, () => { copy.textContent = 'copy failed'; });
  });
  return h('span', { class: 'long-value' }, h('span', { class: 'long-head' }, `${text.slice(0, LONG)}…`),
    h('span', { class: 'muted small' }, ` (${text.length.toLocaleString('en-US')} characters) `), more, ' ', copy, full);
}

export function kv(rows) {
  return h('table', { class: 'kv' }, h('tbody', null, rows.map(([k, v]) =>
    h('tr', null, h('th', null, valueText(k)), h('td', null, valueText(v))))));
}
