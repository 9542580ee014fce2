import { Matcher, MatchOp, NetlensQuery, RecordFilter, XrLeaf, XrPath } from '../../types';

// How the XR editor's three picks (router, path, leaf) sit in a query, and
// back. A numeric leaf is a series query on the leaf's metric; a string
// leaf a records query on xr_state (notes/xr2-contracts.md). Both keep the
// picks where the backend reads them, as matchers or filters on device and
// path, so a saved query re-selects them without any field of its own.

/** Labels every XR series carries besides its keys; they are not naming parameters. */
export const RESERVED_LABELS = ['device', 'path', 'policy', 'subscription', '__name__'];

/** The record table of string leaves. */
export const XR_STATE = 'xr_state';

/** The raw rows a new string-leaf query asks for: the latest changes first. */
export const DEFAULT_STATE_LIMIT = 1000;

export interface XrSelection {
  device?: string;
  path?: string;
  /** Records: the leaf filter. Series carry the metric instead. */
  leaf?: string;
  metric?: string;
}

function equalMatcher(matchers: Matcher[] | undefined, label: string): string | undefined {
  return matchers?.find((m) => m.label === label && m.op === '=')?.value || undefined;
}

function equalFilter(filters: RecordFilter[] | undefined, field: string): string | undefined {
  const f = filters?.find((x) => x.field === field && (x.op === '=' || x.op === 'in') && x.values.length === 1);
  return f?.values[0] || undefined;
}

/** The router, path and leaf a query was built from. */
export function selectionOf(q: Partial<NetlensQuery>): XrSelection {
  if (q.kind === 'records') {
    return {
      device: equalFilter(q.filters, 'device'),
      path: equalFilter(q.filters, 'path'),
      leaf: equalFilter(q.filters, 'leaf'),
    };
  }
  return { device: equalMatcher(q.matchers, 'device'), path: equalMatcher(q.matchers, 'path'), metric: q.metric };
}

/** The key filters of a series query: every matcher but the router's and the path's. */
export function keyMatchers(q: Partial<NetlensQuery>): Matcher[] {
  return (q.matchers ?? []).filter((m) => !(['device', 'path'].includes(m.label) && m.op === '='));
}

/** The key filters of a records query: every filter but router, path and leaf. */
export function keyFilters(q: Partial<NetlensQuery>): RecordFilter[] {
  return (q.filters ?? []).filter(
    (f) => !(['device', 'path', 'leaf'].includes(f.field) && (f.op === '=' || f.op === 'in') && f.values.length === 1)
  );
}

/** Record filters shown as matchers (= and != only: records filter on values). */
export function filtersAsMatchers(filters: RecordFilter[]): Matcher[] {
  return filters.map((f) => ({
    label: f.field,
    op: (f.op === '!=' || f.op === 'not in' ? '!=' : '=') as MatchOp,
    value: f.values.join('|'),
  }));
}

/**
 * Matchers as record filters. A regex matcher has no records counterpart
 * unless it is an alternation of plain values, which becomes in or not in;
 * others are left out rather than sent wrong.
 */
export function matchersAsFilters(matchers: Matcher[]): RecordFilter[] {
  const out: RecordFilter[] = [];
  for (const m of matchers) {
    if (m.op === '=' || m.op === '!=') {
      out.push({ field: m.label, op: m.op, values: m.value === '' ? [] : [m.value] });
      continue;
    }
    const values = m.value.split('|');
    if (values.every((v) => /^[\w.:/@ -]*$/.test(v)) && !m.value.includes('.*')) {
      out.push({ field: m.label, op: m.op === '=~' ? 'in' : 'not in', values: values.filter(Boolean) });
    }
  }
  return out;
}

/** Record filters back to matchers for a series query; in and not in become regex alternations. */
export function filtersToSeriesMatchers(filters: RecordFilter[]): Matcher[] {
  return filters.map((f) => {
    if (f.op === 'in' || f.op === 'not in') {
      return { label: f.field, op: f.op === 'in' ? '=~' : '!~', value: f.values.join('|') };
    }
    return { label: f.field, op: f.op === '!=' ? '!=' : '=', value: f.values[0] ?? '' };
  });
}

function pickMatchers(sel: XrSelection, keys: Matcher[]): Matcher[] {
  const out: Matcher[] = [];
  if (sel.device) {
    out.push({ label: 'device', op: '=', value: sel.device });
  }
  if (sel.path) {
    out.push({ label: 'path', op: '=', value: sel.path });
  }
  return [...out, ...keys];
}

function pickFilters(sel: XrSelection, keys: RecordFilter[]): RecordFilter[] {
  const out: RecordFilter[] = [];
  if (sel.device) {
    out.push({ field: 'device', op: '=', values: [sel.device] });
  }
  if (sel.path) {
    out.push({ field: 'path', op: '=', values: [sel.path] });
  }
  if (sel.leaf) {
    out.push({ field: 'leaf', op: '=', values: [sel.leaf] });
  }
  return [...out, ...keys];
}

/** What a records query carries that a series query must not, and back. */
const RECORD_FIELDS: Partial<NetlensQuery> = {
  recordKind: undefined,
  filters: undefined,
  aggregates: undefined,
  columns: undefined,
  limit: undefined,
  bucket: undefined,
  topN: undefined,
  other: undefined,
};
const SERIES_FIELDS: Partial<NetlensQuery> = {
  metric: undefined,
  matchers: undefined,
  rate: undefined,
  aggregation: undefined,
  groupBy: undefined,
  expr: undefined,
  instant: undefined,
  family: undefined,
};

/**
 * The raw columns of a string leaf: time, the router when the query is
 * not about one, the path's keys (interface_name, ...), and the value.
 */
export function stateColumns(sel: XrSelection, keyLabels: string[]): string[] {
  // A key named like one of xr_state's own columns has key_ in front there.
  const columns = keyLabels.map((k) => (['time', 'leaf', 'value'].includes(k) ? `key_${k}` : k));
  return ['time', ...(sel.device ? [] : ['device']), ...columns, 'value'];
}

/** The change that makes the query show this leaf, keeping router, path and key filters. */
export function leafPatch(q: NetlensQuery, leaf: XrLeaf, keyLabels: string[]): Partial<NetlensQuery> {
  const current = selectionOf(q);
  const sel: XrSelection = { device: current.device, path: current.path };
  if (leaf.kind === 'string') {
    const keys = q.kind === 'records' ? keyFilters(q) : matchersAsFilters(keyMatchers(q));
    return {
      ...SERIES_FIELDS,
      kind: 'records',
      editorMode: 'builder',
      recordKind: XR_STATE,
      filters: pickFilters({ ...sel, leaf: leaf.leaf }, keys),
      columns: stateColumns(sel, keyLabels),
      limit: q.kind === 'records' && q.limit ? q.limit : DEFAULT_STATE_LIMIT,
      format: 'table',
    };
  }
  const keys = q.kind === 'records' ? filtersToSeriesMatchers(keyFilters(q)) : keyMatchers(q);
  const fromSeries = q.kind !== 'records';
  return {
    ...RECORD_FIELDS,
    kind: 'series',
    editorMode: 'builder',
    metric: leaf.metric,
    matchers: pickMatchers(sel, keys),
    // A counter only means something as a rate; a gauge as it is.
    rate: leaf.kind === 'counter',
    aggregation: fromSeries ? q.aggregation : undefined,
    groupBy: fromSeries ? q.groupBy : undefined,
    format: 'time_series',
  };
}

/** The change for another router (undefined: every router); the path and leaf stay. */
export function devicePatch(q: NetlensQuery, device: string | undefined, keyLabels: string[]): Partial<NetlensQuery> {
  const sel = { ...selectionOf(q), device };
  if (q.kind === 'records') {
    return { filters: pickFilters(sel, keyFilters(q)), columns: stateColumns(sel, keyLabels) };
  }
  return { matchers: pickMatchers(sel, keyMatchers(q)) };
}

/** The change for another path: its leaves and keys are other ones, so leaf, key filters and grouping go. */
export function pathPatch(q: NetlensQuery, path: string | undefined): Partial<NetlensQuery> {
  const sel: XrSelection = { device: selectionOf(q).device, path };
  return {
    ...RECORD_FIELDS,
    ...SERIES_FIELDS,
    kind: 'series',
    editorMode: 'builder',
    format: 'time_series',
    matchers: pickMatchers(sel, []),
  };
}

/** The series key filters changed: router and path matchers stay in front. */
export function keyMatchersPatch(q: NetlensQuery, keys: Matcher[]): Partial<NetlensQuery> {
  return { matchers: pickMatchers(selectionOf(q), keys) };
}

/** The records key filters changed: router, path and leaf filters stay in front. */
export function keyFiltersPatch(q: NetlensQuery, keys: RecordFilter[]): Partial<NetlensQuery> {
  return { filters: pickFilters(selectionOf(q), keys) };
}

/**
 * The label a naming parameter becomes (the contract's rule, as the
 * mapper's LabelName): CamelCase to snake case with acronyms kept together,
 * separators to _, lower case; a name taken by the series' own labels gets
 * key_ in front. Paths list their keys as the router sends them
 * (InterfaceName, interface-name), series carry the label.
 */
export function labelName(key: string): string {
  const s = key
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.:/\s]/g, '_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  return ['device', 'path', 'policy', 'subscription', 'index'].includes(s) ? `key_${s}` : s;
}

/** The key labels of a path's series and records. */
export function pathKeyLabels(path: XrPath | undefined): string[] {
  return [...new Set((path?.keys ?? []).map(labelName).filter(Boolean))];
}

/** A group's cadence in words: every 10 s, every 5 min, every 1 h. */
export function cadence(periodSeconds: number | undefined): string {
  const s = periodSeconds ?? 0;
  if (s <= 0) {
    return 'cadence not known';
  }
  if (s % 3600 === 0) {
    return `every ${s / 3600} h`;
  }
  if (s % 60 === 0) {
    return `every ${s / 60} min`;
  }
  return `every ${s} s`;
}

const SOURCE_TEXT: Record<string, string> = {
  policy: 'policy file, no data yet',
  data: 'data',
  both: 'policy file and data',
};

/** Where a path comes from, in words: "Basic / GenericCounters · every 10 s · policy file and data". */
export function describePath(p: XrPath): string {
  const where = p.policy ? `${p.policy} / ${p.group}` : p.group ? `subscription ${p.group}` : 'model-driven';
  return `${where} · ${cadence(p.periodSeconds)} · ${SOURCE_TEXT[p.source] ?? p.source}`;
}

/** A leaf's kind in words for its option: counters are taken as a rate by default. */
export function describeLeaf(l: XrLeaf): string {
  switch (l.kind) {
    case 'counter':
      return `counter (rate by default) · ${l.type} · ${l.metric}`;
    case 'gauge':
      return `gauge · ${l.type} · ${l.metric}`;
    default:
      return `${l.type || 'string'} · xr_state records`;
  }
}
