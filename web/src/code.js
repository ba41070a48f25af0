// code.js — the code section of a run page: the commit the run was made
// from, its branch and remotes, and the patch of every uncommitted change
// (metadata.code of the run, and GET .../code/<patch>), rendered line by line as text.
import { h, clear } from './dom.js';
import { apiText, enc } from './api.js';

const MAX_LINES = 5000; // the rest is behind the download link

// A browsable https URL for a remote, or null (ssh remotes become https on the same host).
function remoteWeb(url) {
  let m = /^git@([^:]+):(.+?)(\.git)?$/.exec(url);
  if (m) return `https://${m[1]}/${m[2]}`;
  m = /^(https?:\/\/.+?)(\.git)?$/.exec(url);
  return m ? m[1] : null;
}

function patchView(text) {
  const lines = text.split('\n');
  const pre = h('pre', { class: 'patch', id: 'patch' });
  for (const line of lines.slice(0, MAX_LINES)) {
    const cls = line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') ? 'file'
      : line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : null;
    pre.appendChild(h('span', { class: cls }, line + '\n'));
  }
  if (lines.length > MAX_LINES) pre.appendChild(h('span', { class: 'hunk' }, `… ${lines.length - MAX_LINES} more lines in the download\n`));
  return pre;
}

// run.metadata.code is the capture (the same object GET .../code serves).
export async function renderCode(box, rp, run) {
  const code = run.metadata && run.metadata.code;
  if (!code) { box.style.display = 'none'; return; }
  clear(box);
  box.style.display = '';
  const rows = h('tbody');
  const add = (k, v) => { if (v !== null && v !== undefined && v !== '') rows.appendChild(h('tr', null, h('th', null, k), h('td', null, v))); };
  add('commit', code.commit ? h('code', { id: 'code-commit' }, code.commit) : 'none (no commits)');
  add('branch', code.detached ? 'detached HEAD' : code.branch);
  add('dirty', code.dirty ? 'yes: uncommitted changes below' : 'no');
  for (const r of code.remotes || []) {
    const web = remoteWeb(r.url);
    add(`remote ${r.name}`, web ? h('a', { href: code.commit ? `${web}/commit/${code.commit}` : web, rel: 'noopener', target: '_blank' }, r.url) : r.url);
  }
  if (code.upstream && code.upstream.commit) add('upstream', `${code.upstream.name} ${code.upstream.commit} (${code.upstream.ahead || 0} ahead)`);
  if (code.error) add('note', code.error);
  box.append(h('h3', null, 'Code'), h('table', { class: 'kv' }, rows),
    h('p', { class: 'muted' }, 'Rebuild this tree with ', h('code', null, `wb restore ${rp.replace(/^\/projects\//, '').replace('/runs/', '/')}`), '.'));
  for (const p of code.patches || []) {
    const href = `/api/v1${rp}/code/${enc(p.name)}`;
    box.appendChild(h('h4', null, p.name, ' ', h('span', { class: 'muted' }, `${p.bytes} bytes${p.truncated ? ', truncated' : ''}`)));
    if (p.omitted && p.omitted.length) box.appendChild(h('p', { class: 'muted' }, `left out: ${p.omitted.join(', ')}`));
    const text = await apiText(`${rp}/code/${enc(p.name)}`);
    if (text !== null) box.appendChild(patchView(text));
    box.appendChild(h('p', { class: 'muted' }, `download: ${href}`));
  }
}
