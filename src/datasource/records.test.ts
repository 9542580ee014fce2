import { getDefaultTimeRange } from '@grafana/data';

import { FakeTemplateSrv } from './testing/fakeTemplateSrv';
import { catalogHandler, fakeDataSource, FLOW_FIELDS } from './testing/fakeDataSource';
import { NetlensQuery, NetlensVariableQuery } from './types';

// Flow records through the data source: what is sent for a records query,
// and how the records and exporters resources are asked.

const templateSrv = new FakeTemplateSrv();

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => templateSrv,
}));

function records(q: Partial<NetlensQuery>): NetlensQuery {
  return { refId: 'A', source: 'ipfix', kind: 'records', editorMode: 'builder', recordKind: 'ipfix_flow', ...q };
}

beforeEach(() => {
  templateSrv.variables = {
    exporter: { value: ['192.0.2.7/0', '192.0.2.9/256'], multi: true, includeAll: true },
    one: { value: ['192.0.2.7/0'], multi: true },
    rtt_field: { value: 'pen39499_rtt' },
    cols: { value: ['src_addr', 'dst_addr'], multi: true },
  };
});

describe('filterQuery for records', () => {
  const { ds } = fakeDataSource(catalogHandler);

  it('runs raw rows and complete aggregates, not an aggregate still waiting for its field', () => {
    expect(ds.filterQuery(records({}))).toBe(true);
    expect(ds.filterQuery(records({ aggregates: [{ func: 'count' }] }))).toBe(true);
    expect(ds.filterQuery(records({ aggregates: [{ func: 'sum', field: 'bytes' }] }))).toBe(true);
    expect(ds.filterQuery(records({ aggregates: [{ func: 'count' }, { func: 'p95', field: '' }] }))).toBe(false);
    expect(ds.filterQuery(records({ recordKind: undefined }))).toBe(false);
  });
});

describe('applyTemplateVariables for records', () => {
  const { ds } = fakeDataSource(catalogHandler);

  it('gives a multi-value variable one filter value per selected value', () => {
    const out = ds.applyTemplateVariables(
      records({ filters: [{ field: 'exporter', op: 'in', values: ['$exporter', '198.51.100.1/0'] }] }),
      {}
    );
    expect(out.filters).toEqual([
      { field: 'exporter', op: 'in', values: ['192.0.2.7/0', '192.0.2.9/256', '198.51.100.1/0'] },
    ]);
  });

  it('turns = and != with several values into in and not in, and keeps = with one', () => {
    const out = ds.applyTemplateVariables(
      records({
        filters: [
          { field: 'exporter', op: '=', values: ['$exporter'] },
          { field: 'exporter', op: '!=', values: ['$exporter'] },
          { field: 'exporter', op: '=', values: ['$one'] },
        ],
      }),
      {}
    );
    expect(out.filters).toEqual([
      { field: 'exporter', op: 'in', values: ['192.0.2.7/0', '192.0.2.9/256'] },
      { field: 'exporter', op: 'not in', values: ['192.0.2.7/0', '192.0.2.9/256'] },
      { field: 'exporter', op: '=', values: ['192.0.2.7/0'] },
    ]);
  });

  it('leaves out filter rows still being filled in, and empty values', () => {
    const out = ds.applyTemplateVariables(
      records({
        filters: [
          { field: '', op: '=', values: ['10.0.0.1'] },
          { field: 'src_addr', op: '=', values: [] },
          { field: 'src_addr', op: 'cidr', values: ['', '10.0.0.0/8'] },
        ],
      }),
      {}
    );
    expect(out.filters).toEqual([{ field: 'src_addr', op: 'cidr', values: ['10.0.0.0/8'] }]);
  });

  it('replaces variables in aggregate fields and columns, keeps the rest, and passes the ad-hoc filters on', () => {
    const q = records({
      aggregates: [{ func: 'p95', field: '$rtt_field' }, { func: 'count' }],
      groupBy: ['src_addr'],
      bucket: 'auto',
      topN: 10,
      other: true,
      live: true,
      adhocFilters: [{ label: 'device', op: '=', value: 'stale' }],
    });
    const out = ds.applyTemplateVariables(q, {}, [{ key: 'interface', operator: '=', value: 'Gi0/1' }]);
    // The backend applies ad-hoc filters on fields the records have and skips the others.
    expect(out).toEqual({
      ...q,
      aggregates: [{ func: 'p95', field: 'pen39499_rtt' }, { func: 'count' }],
      adhocFilters: [{ label: 'interface', op: '=', value: 'Gi0/1' }],
    });

    const raw = ds.applyTemplateVariables(records({ columns: ['time', '$cols'], limit: 100 }), {});
    expect(raw.columns).toEqual(['time', 'src_addr', 'dst_addr']);
  });

  it('tells alerting that a filter value or aggregate field holds a variable', () => {
    expect(
      ds.targetContainsTemplate(records({ filters: [{ field: 'exporter', op: 'in', values: ['$exporter'] }] }))
    ).toBe(true);
    expect(ds.targetContainsTemplate(records({ aggregates: [{ func: 'p50', field: '$rtt_field' }] }))).toBe(true);
    expect(ds.targetContainsTemplate(records({ filters: [{ field: 'protocol', op: '=', values: ['6'] }] }))).toBe(
      false
    );
  });
});

describe('records resources', () => {
  const range = getDefaultTimeRange();

  it('lists fields with their types from records/fields, bare or wrapped', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const fields = await ds.getRecordFields('ipfix_flow', range);
    expect(fields.map((f) => f.name)).toEqual(FLOW_FIELDS.map((f) => f.name));
    expect(fields.find((f) => f.name === 'src_addr')).toEqual({ name: 'src_addr', type: 'addr', rows: 1200 });
    expect(calls[0]).toEqual({
      path: 'records/fields',
      params: { kind: 'ipfix_flow', from: range.from.valueOf(), to: range.to.valueOf() },
    });

    const wrapped = fakeDataSource(() => ({ fields: [{ name: 'pen39499_12', type: 'weird' }, { type: 'uint' }] }));
    expect(await wrapped.ds.getRecordFields('ipfix_flow')).toEqual([{ name: 'pen39499_12', type: 'string', rows: 0 }]);
  });

  it('asks records/values for a field, a prefix, the range and a limit', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    templateSrv.variables.field = { value: 'src_addr' };
    expect(await ds.getRecordValues('ipfix_flow', '$field', '10.0.', range)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(calls[0]).toEqual({
      path: 'records/values',
      params: {
        kind: 'ipfix_flow',
        field: 'src_addr',
        prefix: '10.0.',
        limit: 100,
        from: range.from.valueOf(),
        to: range.to.valueOf(),
      },
    });
  });

  it('lists a variable from record values, in the contract shape and with a type', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const contract = { refId: 'V', kind: 'records' as const, recordKind: 'ipfix_flow' as const, field: 'exporter' };
    expect(await ds.findVariableValues(contract as NetlensVariableQuery, range)).toEqual([
      { text: '192.0.2.7/0' },
      { text: '192.0.2.9/256' },
    ]);
    expect(calls[0].params).toMatchObject({ kind: 'ipfix_flow', field: 'exporter', prefix: '', limit: 1000 });

    expect(await ds.findVariableValues({ refId: 'V', type: 'recordValues', field: 'protocol' })).toEqual([
      { text: '6' },
      { text: '17' },
      { text: '1' },
    ]);
    expect(await ds.findVariableValues({ refId: 'V', type: 'recordValues' })).toEqual([]);
  });

  it('reads ipfix/exporters without Grafana error toasts', async () => {
    const exporter = { device: '192.0.2.7/0', state: 'losing', lostRecords: 12 };
    const { ds } = fakeDataSource((path) => (path === 'ipfix/exporters' ? [exporter] : {}));
    const spy = ds.getResource as jest.Mock;
    expect(await ds.getExporters()).toEqual([exporter]);
    expect(spy).toHaveBeenLastCalledWith('ipfix/exporters', undefined, { showErrorAlert: false });
  });
});
