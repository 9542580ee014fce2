import { DataQueryRequest, getDefaultTimeRange } from '@grafana/data';
import { lastValueFrom } from 'rxjs';

import { recordRequests, runAsDashboard } from './testing/backendSrv';
import { FakeTemplateSrv } from './testing/fakeTemplateSrv';
import { fakeDataSource } from './testing/fakeDataSource';
import { FLOW_A, FLOW_B, intHandler, LEAF1, SPINE1 } from './testing/intFixtures';
import { NetlensQuery, NetlensVariableQuery } from './types';
import { NetlensVariableSupport } from './variables';

// What the data source does with INT queries before the backend sees them:
// variables in filters, flow and switch names, and the variable queries of
// the INT overview dashboard (flows, switches).

const templateSrv = new FakeTemplateSrv();

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => templateSrv,
}));

function query(q: Partial<NetlensQuery>): NetlensQuery {
  return { refId: 'A', source: 'int', kind: 'records', editorMode: 'builder', ...q };
}

beforeEach(() => {
  templateSrv.variables = {
    flow: { value: [FLOW_A, FLOW_B], multi: true },
    one_flow: { value: [FLOW_A], multi: true },
    switch: { value: [LEAF1, SPINE1], multi: true },
    net: { value: '10.2.0.0/16' },
    switch_names: { value: '0x0000000a=leaf1,0x00000014=spine1' },
  };
});

describe('applyTemplateVariables on INT queries', () => {
  const { ds } = fakeDataSource(intHandler);

  it('sends several flows of $flow as a JSON array, one flow as it is', () => {
    const several = ds.applyTemplateVariables(query({ kind: 'path', flow: '$flow', topN: 20 }), {});
    expect(several.flow).toBe(JSON.stringify([FLOW_A, FLOW_B]));
    expect(JSON.parse(several.flow!)).toEqual([FLOW_A, FLOW_B]);
    expect(ds.applyTemplateVariables(query({ kind: 'path', flow: '$one_flow' }), {}).flow).toBe(FLOW_A);
    // A flow clicked in a table row arrives as a scoped variable.
    expect(ds.applyTemplateVariables(query({ kind: 'path', flow: '$flow' }), { flow: { value: FLOW_B } }).flow).toBe(
      FLOW_B
    );
  });

  it('replaces variables in the filters of path and episodes queries, several switches becoming in', () => {
    const filters = [
      { field: 'device', op: '=' as const, values: ['$switch'] },
      { field: 'dst_addr', op: 'cidr' as const, values: ['$net'] },
      { field: 'dst_port', op: '=' as const, values: [''] },
    ];
    for (const kind of ['path', 'episodes', 'records'] as const) {
      expect(ds.applyTemplateVariables(query({ kind, filters }), {}).filters).toEqual([
        { field: 'device', op: 'in', values: [LEAF1, SPINE1] },
        { field: 'dst_addr', op: 'cidr', values: ['10.2.0.0/16'] },
      ]);
    }
  });

  it('replaces $switch_names with the constant text the backend parses', () => {
    const out = ds.applyTemplateVariables(query({ kind: 'episodes', switchNames: '$switch_names' }), {});
    expect(out.switchNames).toBe('0x0000000a=leaf1,0x00000014=spine1');
  });

  it('tells alerting that flow and switch names use dashboard variables', () => {
    expect(ds.targetContainsTemplate(query({ kind: 'path', flow: '$flow' }))).toBe(true);
    expect(ds.targetContainsTemplate(query({ kind: 'path', switchNames: '$switch_names' }))).toBe(true);
    expect(ds.targetContainsTemplate(query({ kind: 'path', flow: FLOW_A }))).toBe(false);
  });

  it('runs a path query with no flow (the top N) and an episodes query with nothing chosen', () => {
    expect(ds.filterQuery(query({ kind: 'path' }))).toBe(true);
    expect(ds.filterQuery(query({ kind: 'episodes' }))).toBe(true);
  });
});

describe('INT resources', () => {
  it("names the switches by the query's switch names, variables replaced", async () => {
    templateSrv.variables.switch_names = { value: '0x00000014=spine1' };
    const { ds, calls } = fakeDataSource(intHandler);
    const switches = await ds.getIntSwitches('$switch_names');
    expect(calls[0]).toEqual({ path: 'int/switches', params: { switchNames: '0x00000014=spine1' } });
    expect(switches.find((s) => s.device === SPINE1)?.name).toBe('spine1');
    await ds.getIntSwitches();
    expect(calls[1]).toEqual({ path: 'int/switches', params: {} });
  });

  it('lists the flows reported in the time range', async () => {
    const { ds, calls } = fakeDataSource(intHandler);
    const range = getDefaultTimeRange();
    expect((await ds.getIntFlows(range)).map((f) => f.flow)).toEqual([FLOW_A, FLOW_B]);
    expect(calls[0].params).toEqual({ from: range.from.valueOf(), to: range.to.valueOf(), limit: 100 });
  });
});

describe('INT variable queries', () => {
  async function run(q: Omit<NetlensVariableQuery, 'refId'>) {
    const { ds, calls } = fakeDataSource(intHandler);
    const response = await lastValueFrom(
      (ds.variables as NetlensVariableSupport).query({
        targets: [{ refId: 'V', ...q }],
        range: getDefaultTimeRange(),
      } as unknown as DataQueryRequest<NetlensVariableQuery>)
    );
    return { data: response.data, calls };
  }

  it("lists the flows of int_report's flow column, as the contract's records variable query", async () => {
    const { data, calls } = await run({ type: 'intFlows', kind: 'records', recordKind: 'int_report', field: 'flow' });
    expect(data).toEqual([{ text: FLOW_A }, { text: FLOW_B }]);
    expect(calls[0]).toMatchObject({ path: 'records/values', params: { kind: 'int_report', field: 'flow' } });
    // A dashboard may carry the contract's query without a type.
    expect(
      (await run({ kind: 'records', recordKind: 'int_report', field: 'flow' } as NetlensVariableQuery)).data
    ).toEqual(data);
  });

  it('lists the switches by name with the device id as value', async () => {
    const { data } = await run({ type: 'intSwitches' });
    expect(data).toEqual([
      { text: 'leaf1', value: LEAF1 },
      { text: SPINE1, value: SPINE1 },
      { text: 'leaf2', value: '0x0000000b' },
      { text: '192.0.2.40', value: '192.0.2.40' },
    ]);
  });
});

describe('an INT episodes annotation', () => {
  it('is sent as the dashboard runs it: filters and switch names interpolated, no Live', async () => {
    const { ds } = fakeDataSource(intHandler);
    const sent = recordRequests();
    const target = query({
      refId: 'Anno',
      kind: 'episodes',
      eventTypes: ['drop'],
      filters: [{ field: 'device', op: '=', values: ['$switch'] }],
      switchNames: '$switch_names',
    });
    await runAsDashboard(ds, [target]);
    expect(sent).toHaveLength(1);
    expect(sent[0].data.queries).toEqual([
      expect.objectContaining({
        refId: 'Anno',
        source: 'int',
        kind: 'episodes',
        eventTypes: ['drop'],
        filters: [{ field: 'device', op: 'in', values: [LEAF1, SPINE1] }],
        switchNames: '0x0000000a=leaf1,0x00000014=spine1',
      }),
    ]);
    expect(sent[0].data.queries[0].live).toBeUndefined();
  });
});
