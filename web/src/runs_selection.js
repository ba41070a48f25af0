// runs_selection.js — the runs table's selection and the bar that acts on
// it (compare, tag). The selection lives in the URL (sel=id,id), so it
// survives a reload, Back and a shared link.
import { h, clear } from './dom.js';
import { api, enc } from './api.js';
import { setQuery } from './nav.js';

// view: { entity, project, base, params, load() } (project.js)
export function runSelection(view) {
  const { params } = view;
  const ids = new Set((params.get('sel') || '').split(',').filter(Boolean));
  const bar = h('div', { class: 'selbar' });

  const save = () => {
    if (ids.size) params.set('sel', [...ids].join(',')); else params.delete('sel');
    setQuery(params);
  };

  const runPath = (id) => `/projects/${enc(view.entity)}/${enc(view.project)}/runs/${enc(id)}`;

  function render() {
    clear(bar);
    if (!ids.size) return;
    const tagName = h('input', { type: 'text', placeholder: 'tag', size: 10, id: 'tag-name' });
    const tagRuns = async (tag) => {
      if (!tag) return;
      for (const id of ids) {
        const r = await api(runPath(id));
        const tags = r.tags.includes(tag) ? r.tags : [...r.tags, tag];
        await api(runPath(id), { method: 'PATCH', body: { tags } });
      }
      view.load();
    };
    bar.appendChild(h('div', { class: 'selbar-inner' },
      h('strong', null, `${ids.size} selected`),
      h('a', { class: 'button primary', id: 'compare-btn', href: `${view.base}/compare?runs=${[...ids].map(enc).join(',')}` }, 'Compare'),
      h('button', { type: 'button', id: 'mark-baseline', onclick: () => tagRuns('baseline') }, 'Mark as baseline'),
      tagName, h('button', { type: 'button', onclick: () => tagRuns(tagName.value.trim()) }, 'Add tag'),
      h('button', { type: 'button', onclick: () => { ids.clear(); save(); view.load(); } }, 'Clear')));
  }

  // Select or unselect runs, keep the URL and the bar in step.
  function set(runIds, on) {
    for (const id of runIds) { if (on) ids.add(id); else ids.delete(id); }
    save();
    render();
  }

  return { bar, render, set, has: (id) => ids.has(id) };
}
