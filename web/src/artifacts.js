// artifacts.js — the artifact pages and the run page's artifact section:
//
//   /<entity>/<project>/artifacts                   the project's artifacts
//   /<entity>/<project>/artifacts/<name>            an artifact's versions and aliases
//   /<entity>/<project>/artifacts/<name>/<v|alias>  a version: files, metadata, aliases, lineage
//
// A version URL with vN is permanent (it always shows that content); an
// alias URL follows the alias. The lineage graph is SVG built with
// createElementNS and textContent (no markup strings): producing runs on the
// left, the version in the middle, consuming runs on the right, each run a
// link to its page. Files download through fetch with the API key (the
// browser cannot put the key on a plain link) into a blob URL.
import { h, clear, fmtNum } from './dom.js';
import { api, apiRaw, enc } from './api.js';
import { setCrumbs } from './nav.js';

const artPath = (e, p) => `/projects/${enc(e)}/${enc(p)}/artifacts`;
const pageBase = (e, p) => `/${enc(e)}/${enc(p)}`;

function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return i ? `${v.toFixed(1)} ${u[i]}` : `${n} B`;
}

const fmtTime = (t) => (t ? new Date(t * 1000).toLocaleString() : '');

export async function renderArtifacts(root, e, p) {
  setCrumbs([['projects', '/'], [`${e}/${p}`, pageBase(e, p)], ['artifacts']]);
  const { artifacts } = await api(artPath(e, p));
  clear(root);
  root.appendChild(h('h1', null, 'Artifacts', h('span', { class: 'muted small' }, ` · ${e}/${p}`)));
  if (!artifacts.length) {
    root.appendChild(h('p', { class: 'muted', id: 'no-artifacts' }, 'No artifacts yet. Log one with wb_log_artifact or `wb artifact put`.'));
    return;
  }
  const body = h('tbody');
  for (const a of artifacts) {
    const href = `${pageBase(e, p)}/artifacts/${enc(a.name)}`;
    body.appendChild(h('tr', null,
      h('td', null, h('a', { href, class: 'artifact-link' }, a.name)),
      h('td', null, a.type),
      h('td', { class: 'num' }, String(a.versions)),
      h('td', null, a.latest ? h('a', { href: `${href}/${enc(a.latest)}` }, a.latest) : ''),
      h('td', { class: 'num' }, fmtBytes(a.size)),
      h('td', null, fmtTime(a.updated_at))));
  }
  root.appendChild(h('table', { class: 'grid', id: 'artifacts' },
    h('thead', null, h('tr', null, h('th', null, 'name'), h('th', null, 'type'), h('th', { class: 'num' }, 'versions'),
      h('th', null, 'latest'), h('th', { class: 'num' }, 'size'), h('th', null, 'updated'))), body));
}

export async function renderArtifact(root, e, p, name) {
  setCrumbs([['projects', '/'], [`${e}/${p}`, pageBase(e, p)], ['artifacts', `${pageBase(e, p)}/artifacts`], [name]]);
  const a = await api(`${artPath(e, p)}/${enc(name)}`);
  clear(root);
  root.appendChild(h('h1', null, a.name, h('span', { class: 'muted small' }, ` · ${a.type}`)));
  const body = h('tbody');
  for (const v of a.versions) {
    body.appendChild(h('tr', null,
      h('td', null, h('a', { href: `${pageBase(e, p)}/artifacts/${enc(name)}/${enc(v.version)}` }, v.version)),
      h('td', null, v.aliases.map((al) => h('span', { class: 'tag' }, al))),
      h('td', { class: 'num' }, String(v.file_count)),
      h('td', { class: 'num' }, fmtBytes(v.size)),
      h('td', null, v.producer ? h('a', { href: `${pageBase(e, p)}/runs/${enc(v.producer)}` }, v.producer) : ''),
      h('td', null, fmtTime(v.created_at)),
      h('td', null, h('code', { class: 'muted' }, v.digest.slice(0, 12)))));
  }
  root.appendChild(h('table', { class: 'grid', id: 'versions' },
    h('thead', null, h('tr', null, h('th', null, 'version'), h('th', null, 'aliases'), h('th', { class: 'num' }, 'files'),
      h('th', { class: 'num' }, 'size'), h('th', null, 'logged by'), h('th', null, 'created'), h('th', null, 'digest'))), body));
}

// Download a file of a version (signed in by key or session), as a blob the browser saves.
async function download(path, filename) {
  const res = await apiRaw(path);
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { download: filename });
  a.href = url; // a blob: URL, made here (safeUrl would refuse it)
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// runs → version → runs, as SVG with links to the run pages.
function lineageGraph(e, p, v) {
  const W = 760, rowH = 34, boxW = 200, boxH = 26;
  const left = v.produced_by, right = v.used_by;
  const rows = Math.max(1, left.length, right.length);
  const H = rows * rowH + 20;
  const svg = s('svg', { id: 'lineage', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'lineage' });
  const cx = W / 2 - boxW / 2, cy = H / 2 - boxH / 2;
  const node = (x, y, label, href, cls) => {
    const g = s('g', { class: `node ${cls}` });
    g.appendChild(s('rect', { x, y, width: boxW, height: boxH, rx: 5 }));
    const t = s('text', { x: x + boxW / 2, y: y + boxH / 2 + 4, 'text-anchor': 'middle' }, label.length > 28 ? `${label.slice(0, 27)}…` : label);
    if (href) {
      const a = s('a', { class: 'lineage-run' });
      a.setAttribute('href', href);
      a.appendChild(g);
      g.appendChild(t);
      return a;
    }
    g.appendChild(t);
    return g;
  };
  const edge = (x1, y1, x2, y2) => s('path', { d: `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`, class: 'edge' });
  const ys = (n, i) => (H - n * rowH) / 2 + i * rowH + (rowH - boxH) / 2;
  left.forEach((r, i) => svg.appendChild(edge(10 + boxW, ys(left.length, i) + boxH / 2, cx, cy + boxH / 2)));
  right.forEach((r, i) => svg.appendChild(edge(cx + boxW, cy + boxH / 2, W - 10 - boxW, ys(right.length, i) + boxH / 2)));
  left.forEach((r, i) => svg.appendChild(node(10, ys(left.length, i), `${r.name || r.run_id} (${r.state})`, `${pageBase(e, p)}/runs/${enc(r.run_id)}`, 'producer')));
  svg.appendChild(node(cx, cy, `${v.artifact}:${v.info.version}`, null, 'version'));
  right.forEach((r, i) => svg.appendChild(node(W - 10 - boxW, ys(right.length, i), `${r.name || r.run_id} (${r.state})`, `${pageBase(e, p)}/runs/${enc(r.run_id)}`, 'consumer')));
  if (!left.length) svg.appendChild(s('text', { x: 10, y: H / 2 + 4, class: 'muted' }, 'no producing run'));
  if (!right.length) svg.appendChild(s('text', { x: W - 10, y: H / 2 + 4, 'text-anchor': 'end', class: 'muted' }, 'not used by a run yet'));
  return svg;
}

function kvRows(obj, prefix = '') {
  const out = [];
  for (const [k, v] of Object.entries(obj || {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...kvRows(v, `${prefix}${k}.`));
    else out.push([`${prefix}${k}`, Array.isArray(v) ? JSON.stringify(v) : v]);
  }
  return out;
}

export async function renderVersion(root, e, p, name, sel) {
  setCrumbs([['projects', '/'], [`${e}/${p}`, pageBase(e, p)], ['artifacts', `${pageBase(e, p)}/artifacts`],
    [name, `${pageBase(e, p)}/artifacts/${enc(name)}`], [sel]]);
  const v = await api(`${artPath(e, p)}/${enc(name)}/${enc(sel)}`);
  const info = v.info;
  clear(root);
  const permanent = `${pageBase(e, p)}/artifacts/${enc(name)}/${enc(info.version)}`;
  root.appendChild(h('h1', null, `${v.artifact}:${info.version}`, h('span', { class: 'muted small' }, ` · ${v.type}`)));
  const facts = h('tbody');
  const add = (k, val) => facts.appendChild(h('tr', null, h('th', null, k), h('td', null, val)));
  add('aliases', h('span', { id: 'aliases' }, info.aliases.length ? info.aliases.map((al) => h('span', { class: 'tag' }, al)) : 'none'));
  add('files', `${info.file_count} (${fmtBytes(info.size)})`);
  add('digest', h('code', null, info.digest));
  add('created', fmtTime(info.created_at));
  add('permanent link', h('a', { href: permanent, id: 'permalink' }, permanent));
  add('download', h('code', null, `wb artifact get ${e}/${p}/${v.artifact}:${info.version} DIR`));
  root.appendChild(h('section', { class: 'card' }, h('h3', null, 'Version'), h('table', { class: 'kv' }, facts)));

  root.appendChild(h('section', { class: 'card', id: 'lineage-card' }, h('h3', null, 'Lineage'), lineageGraph(e, p, v)));

  const meta = kvRows(v.metadata);
  const mbody = h('tbody');
  for (const [k, val] of meta) mbody.appendChild(h('tr', null, h('th', null, k), h('td', null, fmtNum(val))));
  root.appendChild(h('section', { class: 'card', id: 'art-metadata' }, h('h3', null, 'Metadata'),
    meta.length ? h('table', { class: 'kv' }, mbody) : h('p', { class: 'muted' }, 'none')));

  const fbody = h('tbody');
  for (const f of v.files) {
    const base = f.path.split('/').pop();
    const fpath = `${artPath(e, p)}/${enc(name)}/${enc(info.version)}/file?path=${enc(f.path)}`;
    fbody.appendChild(h('tr', null,
      h('td', null, h('code', { class: 'file-path' }, f.path)),
      h('td', { class: 'num' }, fmtBytes(f.size)),
      h('td', null, h('code', { class: 'muted', title: f.sha256 }, f.sha256.slice(0, 12))),
      h('td', null, f.ref ? h('span', { class: 'muted' }, 'reference: ', f.ref)
        : h('button', { type: 'button', class: 'download',
          onclick: (ev) => download(fpath, base).catch((err) => { ev.target.textContent = `download failed: ${err.message}`; }) },
        'download'))));
  }
  root.appendChild(h('section', { class: 'card' }, h('h3', null, 'Files'),
    h('table', { class: 'grid', id: 'files' },
      h('thead', null, h('tr', null, h('th', null, 'path'), h('th', { class: 'num' }, 'size'), h('th', null, 'sha256'), h('th', null, ''))), fbody)));
}

// The run page's section: what the run logged and what it used.
export async function renderRunArtifacts(box, e, p, id) {
  const r = await api(`/projects/${enc(e)}/${enc(p)}/runs/${enc(id)}/artifacts`);
  if (!r.produced.length && !r.used.length) { box.style.display = 'none'; return; }
  clear(box);
  box.style.display = '';
  const list = (items, listId) => h('ul', { id: listId }, items.map((a) =>
    h('li', null, h('a', { href: `${pageBase(e, p)}/artifacts/${enc(a.artifact)}/${enc(a.version)}` }, `${a.artifact}:${a.version}`),
      h('span', { class: 'muted' }, ` ${a.type}`))));
  box.append(h('h3', null, 'Artifacts'),
    h('h4', null, 'Logged'), r.produced.length ? list(r.produced, 'run-produced') : h('p', { class: 'muted' }, 'none'),
    h('h4', null, 'Used'), r.used.length ? list(r.used, 'run-used') : h('p', { class: 'muted' }, 'none'));
}
