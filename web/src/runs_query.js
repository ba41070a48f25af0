// runs_query.js — how the runs table's URL state (project.js) becomes the
// server's runs query: filters, sort, paging, grouping and aggregates, and
// how a run's value of a column is read. No DOM here.
import { getPath } from './dom.js';
import { enc } from './api.js';

export const PAGE = 50;

export function fieldValue(r, field) {
  if (field.startsWith('config.')) return getPath(r.config, field.slice(7));
  if (field.startsWith('summary.')) {
    const v = r.summary ? r.summary[field.slice(8)] : undefined;
    return v && typeof v === 'object' && 'last' in v ? v.last : v;
  }
  if (field === 'tags') return (r.tags || []).join(', ');
  if (field === 'user') return (r.metadata || {}).user;
  return r[field];
}

export function filtersOf(params) {
  const f = [];
  if (params.get('q')) f.push(`name~${params.get('q')}`);
  if (params.get('state')) f.push(`state=${params.get('state')}`);
  if (params.get('tag')) f.push(`tags=${params.get('tag')}`);
  for (const x of params.getAll('f')) if (x) f.push(x);
  return f;
}

export function listPath(e, p, params, limit, offset, extra = []) {
  const qs = new URLSearchParams();
  for (const f of [...filtersOf(params), ...extra]) qs.append('filter', f);
  qs.set('sort', params.get('sort') || '-created_at');
  qs.set('limit', String(limit));
  qs.set('offset', String(offset));
  return `/projects/${enc(e)}/${enc(p)}/runs?${qs}`;
}

// The filter that selects one group's runs; null: the no-value group, which no filter selects.
export function groupFilter(field, v) {
  if (v === null || v === undefined) return null;
  return `${field}=${typeof v === 'number' ? String(v) : v}`;
}

// Aggregated columns: the shown config/summary columns (any key; the
// server quotes it), and duration.
export const aggCols = (cols) => [...cols.filter((c) => c.startsWith('config.') || c.startsWith('summary.')),
  'duration'].slice(0, 16);

export function groupPath(e, p, params, field, cols, pageNo) {
  const qs = new URLSearchParams();
  for (const f of filtersOf(params)) qs.append('filter', f);
  qs.set('group_by', field);
  for (const c of aggCols(cols)) qs.append('agg', c);
  qs.set('limit', String(PAGE));
  qs.set('offset', String(pageNo * PAGE));
  return `/projects/${enc(e)}/${enc(p)}/runs?${qs}`;
}
