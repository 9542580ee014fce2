import { NetlensQuery, RecordAggregate, RecordFieldType, RecordFilter, RecordFunc, RecordOp } from '../../types';

/** Filter operators that take several values. */
export const MULTI_OPS: RecordOp[] = ['in', 'not in', 'cidr', 'not cidr'];

const ADDR_OPS: RecordOp[] = ['=', '!=', 'in', 'not in', 'cidr', 'not cidr'];
const NUMBER_OPS: RecordOp[] = ['=', '!=', 'in', 'not in', 'range', '<', '<=', '>', '>='];
const STRING_OPS: RecordOp[] = ['=', '!=', 'in', 'not in'];
const BOOL_OPS: RecordOp[] = ['=', '!='];

export const NUMERIC_TYPES: RecordFieldType[] = ['uint', 'int', 'float'];

/**
 * The operators that mean something on a field of this type: prefixes on
 * addresses, ranges and comparisons on numbers and times. A field whose type
 * is not known yet (typed by hand, not arrived) gets them all.
 */
export function opsFor(type: RecordFieldType | undefined): RecordOp[] {
  switch (type) {
    case 'addr':
      return ADDR_OPS;
    case 'uint':
    case 'int':
    case 'float':
    case 'time':
      return NUMBER_OPS;
    case 'string':
      return STRING_OPS;
    case 'bool':
      return BOOL_OPS;
    default:
      return [...new Set([...ADDR_OPS, ...NUMBER_OPS])];
  }
}

/** The values a filter keeps when its operator changes: one for a single-value operator. */
export function valuesFor(op: RecordOp, values: string[]): string[] {
  return MULTI_OPS.includes(op) ? values : values.slice(0, 1);
}

/** The column name the backend gives an aggregate: sum(bytes), count(), p95(rtt). */
export function aggregateName(a: RecordAggregate): string {
  return `${a.func}(${a.func === 'count' ? '' : (a.field ?? '')})`;
}

export const FUNC_HELP: Record<RecordFunc, string> = {
  sum: 'total',
  count: 'number of records',
  avg: 'mean',
  min: 'smallest',
  max: 'largest',
  p50: 'median',
  p90: '90th percentile',
  p95: '95th percentile',
  p99: '99th percentile',
};

function quoted(v: string): string {
  return /^[\w.:/$-]+$/.test(v) ? v : JSON.stringify(v);
}

function describeFilter(f: RecordFilter): string {
  const values = f.values.filter((v) => v !== '');
  const text = MULTI_OPS.includes(f.op) ? `(${values.map(quoted).join(', ')})` : quoted(values[0] ?? '…');
  return `${f.field || '…'} ${f.op} ${text}`;
}

/**
 * A records query in one line, shown under the builder as the PromQL is for
 * series: what is filtered, computed, grouped, cut and bucketed.
 */
export function describeRecords(q: NetlensQuery): string {
  const parts: string[] = [q.recordKind ?? 'ipfix_flow'];
  const filters = (q.filters ?? []).filter((f) => f.field || f.values.some((v) => v !== ''));
  if (filters.length > 0) {
    parts.push('where ' + filters.map(describeFilter).join(' and '));
  }
  const aggregates = q.aggregates ?? [];
  if (aggregates.length === 0) {
    const columns = q.columns && q.columns.length > 0 ? q.columns.join(', ') : 'all columns';
    parts.push(`rows: ${columns}, newest first${q.limit ? `, at most ${q.limit}` : ''}`);
    return parts.join(' | ');
  }
  let computed = aggregates.map(aggregateName).join(', ');
  if (q.groupBy && q.groupBy.length > 0) {
    computed += ` by ${q.groupBy.join(', ')}`;
  }
  parts.push(computed);
  if (q.topN) {
    parts.push(`top ${q.topN} by ${aggregateName(aggregates[0])}${q.other ? ' + other' : ''}`);
  }
  if (q.bucket) {
    parts.push(q.bucket === 'auto' ? 'per $__interval' : `per ${q.bucket}`);
  } else {
    parts.push('over the whole range');
  }
  return parts.join(' | ');
}

/**
 * A fixed bucket as the backend reads it (config.ParseDuration): 90s, 5m,
 * 1h30m, or days and weeks (1d, 2w), at least a second; or a variable.
 */
export function validBucket(b: string): boolean {
  return /^(\d+(s|m|h))+$/.test(b) || /^\d+(\.\d+)?[dw]$/.test(b) || /^\$\{?\w+\}?$/.test(b);
}
