import { readFileSync } from 'fs';
import path from 'path';

import { NetlensQuery, RECORD_FUNCS, RECORD_OPS, RecordAggregate, RecordFilter } from './types';

// types.ts mirrors pkg/query/model.go field for field: the backend decodes
// exactly this JSON. The objects below list every field of the TypeScript
// types (the compiler refuses a missing or an extra one), and the tests
// compare them with the Go structs' json tags, so a rename on one side
// fails here.

type Fields<T> = { [K in keyof Required<T>]: true };

// DataQuery's own fields (hide, key, queryType, datasource) are Grafana's,
// not the model's, and are left out here and below.
type ModelQuery = Omit<NetlensQuery, 'hide' | 'key' | 'queryType' | 'datasource'>;

const QUERY_FIELDS: Fields<ModelQuery> = {
  refId: true,
  source: true,
  kind: true,
  editorMode: true,
  expr: true,
  family: true,
  metric: true,
  matchers: true,
  rate: true,
  aggregation: true,
  groupBy: true,
  legendFormat: true,
  format: true,
  eventTypes: true,
  adhocFilters: true,
  recordKind: true,
  filters: true,
  aggregates: true,
  bucket: true,
  topN: true,
  other: true,
  columns: true,
  limit: true,
  field: true,
  flow: true,
  switchNames: true,
  live: true,
  instant: true,
};

const FILTER_FIELDS: Fields<RecordFilter> = { field: true, op: true, values: true };
const AGGREGATE_FIELDS: Fields<RecordAggregate> = { func: true, field: true };

const MODEL = readFileSync(path.join(__dirname, '../../pkg/query/model.go'), 'utf8');

/** The json tags of a Go struct in model.go, in order. */
function jsonTags(struct: string): string[] {
  const body = MODEL.match(new RegExp(`type ${struct} struct \\{([\\s\\S]*?)\\n\\}`));
  expect(body).not.toBeNull();
  return [...body![1].matchAll(/json:"([^,"]+)/g)].map((m) => m[1]);
}

describe('the query model mirrors pkg/query/model.go', () => {
  it('has the fields of Query', () => {
    expect(Object.keys(QUERY_FIELDS).sort()).toEqual(jsonTags('Query').sort());
  });

  it('has the fields of RecordFilter and RecordAggregate', () => {
    expect(Object.keys(FILTER_FIELDS).sort()).toEqual(jsonTags('RecordFilter').sort());
    expect(Object.keys(AGGREGATE_FIELDS).sort()).toEqual(jsonTags('RecordAggregate').sort());
  });

  it('has the record filter operators of the Op constants', () => {
    // model.go's Op constants are the record store's, spelled in pkg/records.
    expect(MODEL).toMatch(/OpEqual\s*=\s*records\.OpEqual/);
    const filters = readFileSync(path.join(__dirname, '../../pkg/records/filter.go'), 'utf8');
    const ops = [...filters.matchAll(/\tOp\w+\s*=\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(RECORD_OPS).toEqual(ops);
  });

  it('has the aggregate functions the model names', () => {
    const doc = MODEL.match(/RecordAggregate is one computed column: ([^;]*);/);
    expect(doc).not.toBeNull();
    for (const f of RECORD_FUNCS) {
      expect(doc![1]).toMatch(new RegExp(`\\b${f}\\b`));
    }
  });
});
