import {
  IntEpisodeType,
  INT_EPISODE_TYPES,
  NetlensQuery,
  QueryKind,
  RecordFieldInfo,
  RecordFilter,
  RecordFunc,
} from '../../types';
import { BUILDER_FIELDS_CLEARED } from '../QueryEditor/cleared';

// How the INT editor's choices sit in a query, and back. Report type and
// switch are filters on int_report's type and device columns, the figure is
// the first aggregate, so a saved query reopens from the fields the backend
// reads, with no field of the editor's own.

/** The UDP port switches send their reports to by default (config int_udp_listen_address). */
export const INT_PORT = 31337;

/** The record table of INT reports. */
export const INT_REPORT = 'int_report';

/**
 * Report types as the editor offers them. flow covers every report about a
 * flow's packets: local flow reports, INT reports from the sink and joined
 * postcard paths.
 */
export type ReportType = 'flow' | 'drop' | 'queue' | 'all';

export const REPORT_TYPES: Record<Exclude<ReportType, 'all'>, string[]> = {
  flow: ['flow', 'int', 'postcard-path'],
  drop: ['drop'],
  queue: ['queue'],
};

/** What the editor computes; none means raw reports. */
export type Figure = 'hop_latency' | 'e2e_latency' | 'queue_occupancy' | 'count' | 'none';

/** The int_report column each numeric figure aggregates. */
export const FIGURE_FIELDS: Record<'hop_latency' | 'e2e_latency' | 'queue_occupancy', string> = {
  hop_latency: 'max_hop_latency',
  e2e_latency: 'e2e_latency',
  queue_occupancy: 'queue_occupancy',
};

/** Aggregations of a numeric figure, the worst case first. */
export const FIGURE_FUNCS: RecordFunc[] = ['max', 'p99', 'p95', 'p90', 'p50', 'avg', 'min', 'sum'];

/** What a group-by choice means to a reader; the values are int_report's columns. */
export const GROUP_LABELS: Record<string, string> = {
  device: 'switch',
  flow: 'flow',
  egress_port: 'egress port',
  ingress_port: 'ingress port',
  queue_id: 'queue',
  drop_reason: 'drop reason',
  type: 'report type',
  src_addr: 'source address',
  dst_addr: 'destination address',
  protocol: 'protocol',
};

/**
 * int_report's columns (pkg/pipeline/intmap/README.md, plus flow), for the
 * filter and column pickers before any report arrived; rows are not known.
 */
export const INT_COLUMNS: Array<RecordFieldInfo & { help: string }> = [
  { name: 'time', type: 'time', rows: 0, help: 'when the report arrived' },
  { name: 'device', type: 'string', rows: 0, help: 'the reporting switch (0x… id or address)' },
  { name: 'switch_id', type: 'uint', rows: 0, help: 'switch id from the report header' },
  { name: 'type', type: 'string', rows: 0, help: 'flow, drop, queue, int, postcard-path' },
  { name: 'flow', type: 'string', rows: 0, help: 'flow id: src:port > dst:port protocol' },
  { name: 'src_addr', type: 'addr', rows: 0, help: 'inner source address (cidr works)' },
  { name: 'dst_addr', type: 'addr', rows: 0, help: 'inner destination address (cidr works)' },
  { name: 'src_port', type: 'uint', rows: 0, help: 'inner source port' },
  { name: 'dst_port', type: 'uint', rows: 0, help: 'inner destination port' },
  { name: 'protocol', type: 'uint', rows: 0, help: 'inner IP protocol number: 6 tcp, 17 udp, 1 icmp' },
  { name: 'ingress_port', type: 'uint', rows: 0, help: 'ingress port of the report' },
  { name: 'egress_port', type: 'uint', rows: 0, help: 'egress port of the report' },
  { name: 'queue_id', type: 'uint', rows: 0, help: 'queue of the report' },
  { name: 'queue_occupancy', type: 'uint', rows: 0, help: 'queue occupancy' },
  { name: 'drop_reason', type: 'uint', rows: 0, help: 'drop reason code' },
  { name: 'e2e_latency', type: 'uint', rows: 0, help: 'end-to-end latency, ns' },
  { name: 'max_hop_latency', type: 'uint', rows: 0, help: 'largest hop latency, ns' },
  { name: 'hop_count', type: 'uint', rows: 0, help: 'hops in the report' },
  { name: 'path', type: 'string', rows: 0, help: 'switch ids in path order' },
  { name: 'path_changed', type: 'bool', rows: 0, help: 'the path differs from the flow’s previous one' },
  { name: 'flags', type: 'string', rows: 0, help: 'D dropped, Q congested, F tracked' },
  { name: 'dscp', type: 'uint', rows: 0, help: 'original DSCP' },
  { name: 'hw_id', type: 'uint', rows: 0, help: 'hardware id' },
  { name: 'seq', type: 'uint', rows: 0, help: 'sequence number' },
  { name: 'hops', type: 'string', rows: 0, help: 'every hop, encoded' },
];

/** The path panel's default number of flows, and the backend's bound. */
export const DEFAULT_PATH_FLOWS = 20;
export const MAX_PATH_FLOWS = 500;

export interface IntSelection {
  reportType: ReportType;
  /** Switch device ids picked (the records' device column). */
  switches: string[];
  /** Every other filter, as the generic filter rows edit them. */
  others: RecordFilter[];
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v));
}

/** The report type a type filter stands for, if it is one of the editor's. */
function reportTypeOf(f: RecordFilter): ReportType | undefined {
  if (f.field !== 'type' || !(f.op === '=' || f.op === 'in')) {
    return undefined;
  }
  for (const [t, values] of Object.entries(REPORT_TYPES)) {
    if (sameSet(f.values, values)) {
      return t as ReportType;
    }
  }
  return undefined;
}

function isSwitchFilter(f: RecordFilter): boolean {
  return f.field === 'device' && (f.op === '=' || f.op === 'in');
}

/** The report type, switches and other filters a query was built from. */
export function selectionOf(q: Partial<NetlensQuery>): IntSelection {
  const sel: IntSelection = { reportType: 'all', switches: [], others: [] };
  let typed = false;
  let switched = false;
  for (const f of q.filters ?? []) {
    const t = typed ? undefined : reportTypeOf(f);
    if (t) {
      sel.reportType = t;
      typed = true;
    } else if (!switched && isSwitchFilter(f)) {
      sel.switches = f.values;
      switched = true;
    } else {
      sel.others.push(f);
    }
  }
  return sel;
}

/** The filters of a selection: report type, switches, then the others. */
export function filtersOf(sel: IntSelection): RecordFilter[] {
  const out: RecordFilter[] = [];
  if (sel.reportType !== 'all') {
    const values = REPORT_TYPES[sel.reportType];
    out.push({ field: 'type', op: values.length > 1 ? 'in' : '=', values });
  }
  if (sel.switches.length > 0) {
    out.push({ field: 'device', op: sel.switches.length > 1 ? 'in' : '=', values: sel.switches });
  }
  return [...out, ...sel.others];
}

/** The figure of a records query: its first aggregate; undefined when the editor has no name for it. */
export function figureOf(q: Partial<NetlensQuery>): Figure | undefined {
  const first = q.aggregates?.[0];
  if (!first) {
    return 'none';
  }
  if (first.func === 'count') {
    return 'count';
  }
  const found = Object.entries(FIGURE_FIELDS).find(([, field]) => field === first.field);
  return found ? (found[0] as Figure) : undefined;
}

/** The change a figure (with its aggregation) makes; none turns the query into raw reports. */
export function figurePatch(q: Partial<NetlensQuery>, figure: Figure, func?: RecordFunc): Partial<NetlensQuery> {
  if (figure === 'none') {
    return { aggregates: undefined, groupBy: undefined, bucket: undefined, topN: undefined, other: undefined };
  }
  const wasRaw = (q.aggregates ?? []).length === 0;
  const shape: Partial<NetlensQuery> = wasRaw ? { columns: undefined, limit: undefined, bucket: 'auto' } : {};
  if (figure === 'count') {
    return { ...shape, aggregates: [{ func: 'count' }] };
  }
  const current = q.aggregates?.[0]?.func;
  const keep = current && current !== 'count' ? current : 'max';
  return { ...shape, aggregates: [{ func: func ?? keep, field: FIGURE_FIELDS[figure] }] };
}

/**
 * What a report type starts with when it is picked in an aggregated query:
 * the worst end-to-end latency per flow, drops counted per switch and
 * reason, the fullest queue per switch and queue. Raw reports stay raw.
 */
export function reportTypePatch(q: NetlensQuery, reportType: ReportType): Partial<NetlensQuery> {
  const sel = selectionOf(q);
  const filters = filtersOf({ ...sel, reportType });
  if ((q.aggregates ?? []).length === 0) {
    return { filters };
  }
  switch (reportType) {
    case 'flow':
      return { filters, aggregates: [{ func: 'max', field: 'e2e_latency' }], groupBy: ['flow'] };
    case 'drop':
      return { filters, aggregates: [{ func: 'count' }], groupBy: ['device', 'drop_reason'] };
    case 'queue':
      return { filters, aggregates: [{ func: 'max', field: 'queue_occupancy' }], groupBy: ['device', 'queue_id'] };
    default:
      return { filters };
  }
}

/** What belongs to one INT kind only, cleared when the query moves to another. */
const KIND_FIELDS: Partial<NetlensQuery> = { ...BUILDER_FIELDS_CLEARED, editorMode: 'builder' };

/**
 * The change that turns a query into an INT query of this kind, each
 * starting with something to see: the flows with the worst end-to-end
 * latency over time, the top 20 flows' paths, both kinds of episodes, a
 * series to pick. Filters carry over between reports, path and episodes,
 * which all filter int_report; switch names carry over to every kind.
 */
export function intKindPatch(q: Partial<NetlensQuery>, kind: QueryKind): Partial<NetlensQuery> {
  const onReports = q.source === 'int' && ['records', 'path', 'episodes'].includes(q.kind ?? '');
  const sel = onReports ? selectionOf(q) : { reportType: 'all' as ReportType, switches: [], others: [] };
  switch (kind) {
    case 'records': {
      const withType = { ...sel, reportType: sel.reportType === 'all' ? ('flow' as ReportType) : sel.reportType };
      const base: NetlensQuery = {
        ...(q as NetlensQuery),
        filters: filtersOf(withType),
        aggregates: [{ func: 'count' }],
      };
      return {
        ...KIND_FIELDS,
        kind,
        recordKind: INT_REPORT,
        format: 'time_series',
        bucket: 'auto',
        topN: 10,
        ...reportTypePatch(base, withType.reportType),
      };
    }
    case 'path':
      return {
        ...KIND_FIELDS,
        kind,
        filters: filtersOf({ ...sel, reportType: 'all' }),
        topN: DEFAULT_PATH_FLOWS,
        format: 'table',
      };
    case 'episodes':
      return {
        ...KIND_FIELDS,
        kind,
        eventTypes: [...INT_EPISODE_TYPES],
        filters: filtersOf({ ...sel, reportType: 'all' }),
        live: undefined,
      };
    default:
      // Switch names stay: INT series carry a switch label named by them.
      return { ...KIND_FIELDS, kind: 'series', format: 'time_series' };
  }
}

/** The episode types of a query in the contract's order; none chosen means both. */
export function episodeTypes(picked: string[]): IntEpisodeType[] {
  return INT_EPISODE_TYPES.filter((t) => picked.includes(t));
}

/** A path query in one line, shown under the editor as the PromQL is for series. */
export function describePath(q: Partial<NetlensQuery>): string {
  const flows = q.flow ? `flows ${q.flow}` : `top ${q.topN || DEFAULT_PATH_FLOWS} flows by end-to-end latency`;
  const filters = (q.filters ?? []).filter((f) => f.field && f.values.some((v) => v !== ''));
  const where = filters.length > 0 ? ` | where ${filters.map(describeFilterShort).join(' and ')}` : '';
  return `int_report paths | ${flows}${where} | newest path per flow, and the previous one when it differs`;
}

function describeFilterShort(f: RecordFilter): string {
  const values = f.values.filter((v) => v !== '');
  return `${f.field} ${f.op} ${values.length > 1 ? `(${values.join(', ')})` : (values[0] ?? '')}`;
}

/**
 * A switch-names text as the backend reads it: "id=name" separated by
 * commas or newlines. Lines that are not of that form are returned too, so
 * the settings page can say which.
 */
export function parseSwitchNames(text: string): { names: Array<{ id: string; name: string }>; bad: string[] } {
  const names: Array<{ id: string; name: string }> = [];
  const bad: string[] = [];
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.trim();
    if (entry === '') {
      continue;
    }
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq).trim() : '';
    const name = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (id && name && validSwitchId(id)) {
      names.push({ id, name });
    } else {
      bad.push(entry);
    }
  }
  return { names, bad };
}

/** A switch id as the backend takes it: hex with 0x, decimal, or an IPv4 or IPv6 sender address. */
export function validSwitchId(id: string): boolean {
  return (
    /^0x[0-9a-f]{1,8}$/i.test(id) ||
    (/^\d+$/.test(id) && Number(id) <= 0xffffffff) ||
    /^\d{1,3}(\.\d{1,3}){3}$/.test(id) ||
    (/^[0-9a-f:.]+$/i.test(id) && id.includes(':'))
  );
}
