// runs_filters.js — the runs table's filter controls: name search, state,
// tag, free filter expressions (shown as removable chips). Each writes its
// state into the query and reloads through view.apply().
import { h, clear } from './dom.js';

// view: { params, apply(resetPage) } (project.js)
export function runFilters(view) {
  const { params } = view;
  const setParam = (k, v) => { if (v) params.set(k, v); else params.delete(k); };

  const search = h('input', { type: 'search', id: 'search', placeholder: 'Search run names', value: params.get('q') || '' });
  const stateSel = h('select', { id: 'state-filter' }, ['', 'running', 'finished', 'failed', 'crashed'].map((s) =>
    h('option', { value: s }, s || 'any state')));
  stateSel.value = params.get('state') || '';
  const tagIn = h('input', { type: 'text', id: 'tag-filter', placeholder: 'tag', size: 10, value: params.get('tag') || '' });
  const fIn = h('input', { type: 'text', id: 'expr-filter', placeholder: 'filter, e.g. config.lr>0.01 or summary.loss<0.3', size: 34 });
  const chips = h('span', { class: 'chips' });

  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { setParam('q', search.value.trim()); view.apply(); }, 200);
  });
  stateSel.addEventListener('change', () => { setParam('state', stateSel.value); view.apply(); });
  tagIn.addEventListener('change', () => { setParam('tag', tagIn.value.trim()); view.apply(); });
  fIn.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || !fIn.value.trim()) return;
    params.append('f', fIn.value.trim());
    fIn.value = '';
    view.apply();
  });

  function renderChips() {
    clear(chips);
    params.getAll('f').forEach((f, i) => {
      chips.appendChild(h('span', { class: 'chip' }, f, h('button', { type: 'button', title: 'remove filter', onclick: () => {
        const all = params.getAll('f');
        all.splice(i, 1);
        params.delete('f');
        all.forEach((x) => params.append('f', x));
        view.apply();
      } }, '×')));
    });
  }

  return { controls: [search, stateSel, tagIn, fIn, chips], renderChips };
}
