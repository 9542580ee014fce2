import { AnnotationQuery, CoreApp, DataQueryRequest, dateTime } from '@grafana/data';
import { lastValueFrom } from 'rxjs';

import { recordRequests, runAsDashboard } from './testing/backendSrv';
import { FakeTemplateSrv } from './testing/fakeTemplateSrv';
import { catalogHandler, fakeDataSource, FLOW_FIELDS } from './testing/fakeDataSource';
import { NetlensQuery, NetlensVariableQuery } from './types';
import { NetlensVariableSupport } from './variables';

const templateSrv = new FakeTemplateSrv();

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => templateSrv,
}));

function query(q: Partial<NetlensQuery>): NetlensQuery {
  return { refId: 'A', source: 'ftd', kind: 'series', editorMode: 'builder', ...q };
}

beforeEach(() => {
  templateSrv.variables = {
    device: { value: ['a1b2', 'c3.d4'], multi: true },
    one: { value: ['fw-edge-1'], multi: true },
    metric: { value: 'ftd_cpu_cpu_utilisation' },
    family: { value: 'interface' },
    keep: { value: ['interface', 'hostname'], multi: true },
  };
});

describe('getDefaultQuery', () => {
  it('starts FTD series queries in the builder, live only when the instance says so', () => {
    expect(fakeDataSource(catalogHandler).ds.getDefaultQuery(CoreApp.PanelEditor)).toEqual({
      source: 'ftd',
      kind: 'series',
      editorMode: 'builder',
      format: 'time_series',
      live: false,
    });
    expect(
      fakeDataSource(catalogHandler, { liveEnabledByDefault: true }).ds.getDefaultQuery(CoreApp.Explore).live
    ).toBe(true);
  });
});

describe('filterQuery', () => {
  const { ds } = fakeDataSource(catalogHandler);
  it('skips a builder query without a metric and a code query without text', () => {
    expect(ds.filterQuery(query({}))).toBe(false);
    expect(ds.filterQuery(query({ metric: 'ftd_cpu_cpu_utilisation' }))).toBe(true);
    expect(ds.filterQuery(query({ editorMode: 'code', expr: '  ', metric: 'ftd_cpu_cpu_utilisation' }))).toBe(false);
    expect(ds.filterQuery(query({ editorMode: 'code', expr: 'up' }))).toBe(true);
  });

  it('runs an events query with nothing chosen: it asks for every event of every device', () => {
    expect(ds.filterQuery(query({ kind: 'events' }))).toBe(true);
    expect(ds.filterQuery(query({ kind: 'events', editorMode: 'code', expr: '' }))).toBe(true);
  });
});

describe('annotations', () => {
  const { ds } = fakeDataSource(catalogHandler);
  const support = ds.annotations!;

  it("starts a new annotation on the devices' events", () => {
    expect(support.getDefaultQuery!()).toEqual({ source: 'ftd', kind: 'events' });
  });

  it('gives a new annotation the events target the editor shows, and keeps a saved target', () => {
    // What a dashboard holds right after "New annotation" with this data source.
    const fresh = { name: 'New annotation', enable: true, iconColor: 'red', datasource: { uid: 'netlens-test' } };
    expect(support.prepareAnnotation!(fresh)).toEqual({
      ...fresh,
      target: { refId: 'Anno', source: 'ftd', kind: 'events' },
    });
    const saved: AnnotationQuery<NetlensQuery> = {
      ...fresh,
      target: query({ metric: 'ftd_cpu_cpu_utilisation' }),
    };
    expect(support.prepareAnnotation!(saved)).toBe(saved);
  });
});

describe('applyTemplateVariables', () => {
  const { ds } = fakeDataSource(catalogHandler);

  it('turns a multi-value variable in a regex matcher into an alternation of escaped values', () => {
    const out = ds.applyTemplateVariables(query({ matchers: [{ label: 'device', op: '=~', value: '$device' }] }), {});
    expect(out.matchers).toEqual([{ label: 'device', op: '=~', value: '(a1b2|c3\\.d4)' }]);
  });

  it('turns = and != with several values into =~ and !~', () => {
    const out = ds.applyTemplateVariables(
      query({
        matchers: [
          { label: 'device', op: '=', value: '$device' },
          { label: 'device', op: '!=', value: '${device}' },
        ],
      }),
      {}
    );
    expect(out.matchers).toEqual([
      { label: 'device', op: '=~', value: '(a1b2|c3\\.d4)' },
      { label: 'device', op: '!~', value: '(a1b2|c3\\.d4)' },
    ]);
  });

  it('keeps = with one selected value as an exact match, unescaped', () => {
    templateSrv.variables.one = { value: ['fw.edge-1'], multi: true };
    const out = ds.applyTemplateVariables(query({ matchers: [{ label: 'hostname', op: '=', value: '$one' }] }), {});
    expect(out.matchers).toEqual([{ label: 'hostname', op: '=', value: 'fw.edge-1' }]);
  });

  it('interpolates metric, family, legend, group by and code text', () => {
    const out = ds.applyTemplateVariables(
      query({
        metric: '$metric',
        family: '$family',
        legendFormat: '{{interface}} $family',
        aggregation: 'sum',
        groupBy: ['$keep', 'device'],
        editorMode: 'code',
        expr: 'sum by (device) (rate(ftd_interface_input_bytes{device=~"$device"}[$__rate_interval]))',
      }),
      {}
    );
    expect(out.metric).toBe('ftd_cpu_cpu_utilisation');
    expect(out.family).toBe('interface');
    expect(out.legendFormat).toBe('{{interface}} interface');
    expect(out.groupBy).toEqual(['interface', 'hostname', 'device']);
    // $__rate_interval is the backend's to fill in.
    // Inside the PromQL string the regex escape is itself escaped: "c3\\.d4" is the regex c3\.d4.
    expect(out.expr).toBe(
      'sum by (device) (rate(ftd_interface_input_bytes{device=~"(a1b2|c3\\\\.d4)"}[$__rate_interval]))'
    );
  });

  it('prefers scoped variables (repeated panels) over dashboard ones', () => {
    const out = ds.applyTemplateVariables(query({ matchers: [{ label: 'device', op: '=', value: '$device' }] }), {
      device: { text: 'c3d4', value: 'c3d4' },
    });
    expect(out.matchers).toEqual([{ label: 'device', op: '=', value: 'c3d4' }]);
  });

  it('carries the ad-hoc filters into adhocFilters, multi-value operators as alternations', () => {
    const out = ds.applyTemplateVariables(query({ metric: 'ftd_cpu_cpu_utilisation' }), {}, [
      { key: 'hostname', operator: '=', value: 'fw-edge-1' },
      { key: 'interface', operator: '!~', value: 'Gig.*' },
      { key: 'device', operator: '=|', value: 'a1b2', values: ['a1b2', 'c3.d4'] },
      { key: 'device', operator: '!=|', value: 'x', values: ['x'] },
      { key: 'samples', operator: '>', value: '3' },
    ]);
    expect(out.adhocFilters).toEqual([
      { label: 'hostname', op: '=', value: 'fw-edge-1' },
      { label: 'interface', op: '!~', value: 'Gig.*' },
      { label: 'device', op: '=~', value: 'a1b2|c3\\.d4' },
      { label: 'device', op: '!~', value: 'x' },
    ]);
  });

  it('interpolates an events query: multi-value $device becomes an alternation, event types stay', () => {
    const out = ds.applyTemplateVariables(
      query({
        kind: 'events',
        matchers: [
          { label: 'device', op: '=~', value: '$device' },
          { label: 'hostname', op: '=', value: '$one' },
        ],
        eventTypes: ['connected', 'rejected'],
      }),
      {}
    );
    expect(out).toMatchObject({
      kind: 'events',
      matchers: [
        { label: 'device', op: '=~', value: '(a1b2|c3\\.d4)' },
        { label: 'hostname', op: '=', value: 'fw-edge-1' },
      ],
      eventTypes: ['connected', 'rejected'],
    });
  });

  it('keeps only the ad-hoc filters on device and hostname for an events query', () => {
    const out = ds.applyTemplateVariables(query({ kind: 'events' }), {}, [
      { key: 'hostname', operator: '=', value: 'fw-edge-1' },
      { key: 'interface', operator: '=', value: 'Gig0/1' },
    ]);
    expect(out.adhocFilters).toEqual([{ label: 'hostname', op: '=', value: 'fw-edge-1' }]);
  });

  it('drops stale ad-hoc filters from the saved query when the dashboard has none', () => {
    const out = ds.applyTemplateVariables(
      query({ metric: 'm', adhocFilters: [{ label: 'device', op: '=', value: 'gone' }] }),
      {},
      []
    );
    expect(out.adhocFilters).toBeUndefined();
  });
});

describe('targetContainsTemplate', () => {
  const { ds } = fakeDataSource(catalogHandler);
  it('finds variables in code, metric and filter values, not in the legend', () => {
    expect(ds.targetContainsTemplate(query({ editorMode: 'code', expr: 'up{device=~"$device"}' }))).toBe(true);
    expect(ds.targetContainsTemplate(query({ metric: '${metric}' }))).toBe(true);
    expect(
      ds.targetContainsTemplate(query({ metric: 'm', matchers: [{ label: 'device', op: '=', value: '[[device]]' }] }))
    ).toBe(true);
    expect(
      ds.targetContainsTemplate(
        query({ metric: 'm', legendFormat: '$device', matchers: [{ label: 'device', op: '=', value: 'a1b2' }] })
      )
    ).toBe(false);
  });
});

describe('catalog resources', () => {
  it('sends the time range and the other filters when listing label values', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const range = { from: dateTime(1000), to: dateTime(5000), raw: { from: 'now-1h', to: 'now' } };
    const values = await ds.getLabelValues(
      'ftd',
      'interface',
      'ftd_interface_input_bytes',
      [
        { label: 'device', op: '=', value: 'a1b2' },
        { label: 'interface', op: '=', value: 'self is left out' },
        { label: 'hostname', op: '=', value: '' },
      ],
      range
    );
    expect(values).toEqual(['GigabitEthernet0/0', 'GigabitEthernet0/1']);
    expect(calls).toEqual([
      {
        path: 'catalog/label-values',
        params: {
          source: 'ftd',
          label: 'interface',
          metric: 'ftd_interface_input_bytes',
          from: 1000,
          to: 5000,
          matchers: JSON.stringify([{ label: 'device', op: '=', value: 'a1b2' }]),
        },
      },
    ]);
  });

  it('replaces dashboard variables in what narrows a catalog', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    await ds.getLabelValues('ftd', 'interface', '$metric', [{ label: 'device', op: '=', value: '$device' }]);
    expect(calls[0].params).toEqual({
      source: 'ftd',
      label: 'interface',
      metric: 'ftd_cpu_cpu_utilisation',
      matchers: JSON.stringify([{ label: 'device', op: '=~', value: '(a1b2|c3\\.d4)' }]),
    });
    await ds.getLabels('ftd', '$metric');
    expect(calls[1].params).toEqual({ source: 'ftd', metric: 'ftd_cpu_cpu_utilisation' });
  });

  it('offers FTD label names and flow record fields as ad-hoc keys, each once', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const range = { from: dateTime(1000), to: dateTime(5000), raw: { from: 'now-1h', to: 'now' } };
    expect(await ds.getTagKeys({ filters: [], timeRange: range })).toEqual([
      { text: 'device' },
      { text: 'hostname' },
      { text: 'interface' },
      // FLOW_FIELDS, most filled first, as records/fields lists them.
      { text: 'time' },
      { text: 'exporter' },
      { text: 'src_addr' },
      { text: 'dst_addr' },
      { text: 'src_port' },
      { text: 'dst_port' },
      { text: 'protocol' },
      { text: 'bytes' },
      { text: 'packets' },
      { text: 'application' },
      { text: 'rtt' },
    ]);
    expect(calls).toEqual([
      { path: 'catalog/labels', params: { source: 'ftd', from: 1000, to: 5000 } },
      { path: 'records/fields', params: { kind: 'ipfix_flow', from: 1000, to: 5000 } },
    ]);
  });

  it('lists a key both sides have once', async () => {
    const { ds } = fakeDataSource((path, params) =>
      path === 'records/fields'
        ? [{ name: 'device', type: 'string', rows: 1 }, ...FLOW_FIELDS]
        : path === 'records/values'
          ? ['a1b2', 'e5f6']
          : catalogHandler(path, params)
    );
    const keys = (await ds.getTagKeys({ filters: [] })).map((k) => k.text);
    expect(keys.filter((k) => k === 'device')).toHaveLength(1);
    expect(await ds.getTagValues({ key: 'device', filters: [] })).toEqual([
      { text: 'a1b2' },
      { text: 'c3d4' },
      { text: 'e5f6' },
    ]);
  });

  it('still offers one side when the other fails', async () => {
    const noRecords = fakeDataSource((path, params) => {
      if (path.startsWith('records/')) {
        throw new Error('records unavailable');
      }
      return catalogHandler(path, params);
    });
    expect(await noRecords.ds.getTagKeys({ filters: [] })).toEqual([
      { text: 'device' },
      { text: 'hostname' },
      { text: 'interface' },
    ]);
    const noLabels = fakeDataSource((path, params) => {
      if (path.startsWith('catalog/')) {
        throw new Error('catalog unavailable');
      }
      return catalogHandler(path, params);
    });
    expect((await noLabels.ds.getTagKeys({ filters: [] })).map((k) => k.text)).toEqual(FLOW_FIELDS.map((f) => f.name));
    expect(await noLabels.ds.getTagValues({ key: 'protocol', filters: [] })).toEqual([
      { text: '6' },
      { text: '17' },
      { text: '1' },
    ]);
  });

  it('narrows FTD label values by the other ad-hoc filters', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const values = await ds.getTagValues({
      key: 'hostname',
      filters: [
        { key: 'device', operator: '=', value: 'a1b2' },
        { key: 'hostname', operator: '=', value: 'fw-edge-2' },
      ],
    });
    expect(values).toEqual([{ text: 'fw-edge-1' }, { text: 'fw-edge-2' }]);
    // hostname is no flow record field: only the label values are asked.
    expect(calls.filter((c) => c.path.endsWith('values'))).toEqual([
      {
        path: 'catalog/label-values',
        params: {
          source: 'ftd',
          label: 'hostname',
          matchers: JSON.stringify([{ label: 'device', op: '=', value: 'a1b2' }]),
        },
      },
    ]);
  });

  it("lists a flow record field's values from records/values over the time range", async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const range = { from: dateTime(1000), to: dateTime(5000), raw: { from: 'now-1h', to: 'now' } };
    expect(await ds.getTagValues({ key: 'exporter', filters: [], timeRange: range })).toEqual([
      { text: '192.0.2.7/0' },
      { text: '192.0.2.9/256' },
    ]);
    expect(calls.filter((c) => c.path.endsWith('values'))).toEqual([
      {
        path: 'records/values',
        params: { kind: 'ipfix_flow', field: 'exporter', prefix: '', limit: 100, from: 1000, to: 5000 },
      },
    ]);
  });
});

describe('ad-hoc filters by query', () => {
  const filters = [
    { key: 'exporter', operator: '=', value: '192.0.2.7/0' },
    { key: 'protocol', operator: '=', value: 'tcp' },
    { key: 'src_addr', operator: '=', value: '10.0.0.1' },
    { key: 'hostname', operator: '=', value: 'fw-edge-1' },
  ];
  const { ds } = fakeDataSource(catalogHandler);

  it('sends every filter with a records query: the backend applies those the records have', () => {
    const out = ds.applyTemplateVariables(
      query({ source: 'ipfix', kind: 'records', recordKind: 'ipfix_flow' }),
      {},
      filters
    );
    expect(out.adhocFilters).toEqual([
      { label: 'exporter', op: '=', value: '192.0.2.7/0' },
      { label: 'protocol', op: '=', value: 'tcp' },
      { label: 'src_addr', op: '=', value: '10.0.0.1' },
      { label: 'hostname', op: '=', value: 'fw-edge-1' },
    ]);
  });

  it('narrows IPFIX series by the exporter as their device, and leaves out fields they do not carry', () => {
    const out = ds.applyTemplateVariables(query({ source: 'ipfix', metric: 'ipfix_bytes_total' }), {}, filters);
    expect(out.adhocFilters).toEqual([
      { label: 'device', op: '=', value: '192.0.2.7/0' },
      { label: 'protocol', op: '=', value: 'tcp' },
    ]);
    const none = ds.applyTemplateVariables(query({ source: 'ipfix', metric: 'ipfix_bytes_total' }), {}, [filters[2]]);
    expect(none.adhocFilters).toBeUndefined();
  });

  it('keeps every filter on FTD series, as before', () => {
    const out = ds.applyTemplateVariables(query({ metric: 'ftd_cpu_cpu_utilisation' }), {}, filters);
    expect(out.adhocFilters?.map((m) => m.label)).toEqual(['exporter', 'protocol', 'src_addr', 'hostname']);
  });
});

describe('variable queries', () => {
  async function run(q: Omit<NetlensVariableQuery, 'refId'>) {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const response = await lastValueFrom(
      (ds.variables as NetlensVariableSupport).query({
        targets: [{ refId: 'V', ...q }],
      } as unknown as DataQueryRequest<NetlensVariableQuery>)
    );
    return { data: response.data, calls };
  }

  it('lists devices by hostname with the device id as value', async () => {
    const { data } = await run({ type: 'devices' });
    expect(data).toEqual([
      { text: 'fw-edge-1', value: 'a1b2' },
      { text: 'c3d4', value: 'c3d4' },
    ]);
  });

  it('lists metric families', async () => {
    expect((await run({ type: 'families' })).data).toEqual([
      { text: 'cpu' },
      { text: 'interface' },
      { text: 'memory' },
    ]);
  });

  it('lists metric names of a family given through a variable', async () => {
    const { data, calls } = await run({ type: 'metrics', family: '$family' });
    expect(data).toEqual([{ text: 'ftd_interface_input_bytes' }, { text: 'ftd_interface_output_bytes' }]);
    expect(calls[0].params.family).toBe('interface');
  });

  it('lists label values, optionally of one metric', async () => {
    const { data, calls } = await run({ type: 'labelValues', label: 'hostname', metric: '$metric' });
    expect(data).toEqual([{ text: 'fw-edge-1' }, { text: 'fw-edge-2' }]);
    expect(calls[0]).toEqual({
      path: 'catalog/label-values',
      params: { source: 'ftd', label: 'hostname', metric: 'ftd_cpu_cpu_utilisation' },
    });
  });

  it('asks nothing when no label is chosen', async () => {
    const { data, calls } = await run({ type: 'labelValues' });
    expect(data).toEqual([]);
    expect(calls).toEqual([]);
  });
});

describe('query', () => {
  it("sends an annotation's events query interpolated, as the dashboard runs it", async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const sent = recordRequests();
    const target = {
      ...query({ kind: 'events', matchers: [{ label: 'device', op: '=', value: '$device' }] }),
      refId: 'Anno',
    };
    await runAsDashboard(ds, [target], { filters: [{ key: 'interface', operator: '=', value: 'Gig0/1' }] });
    expect(sent).toHaveLength(1);
    expect(sent[0].data.queries).toEqual([
      expect.objectContaining({
        refId: 'Anno',
        kind: 'events',
        matchers: [{ label: 'device', op: '=~', value: '(a1b2|c3\\.d4)' }],
      }),
    ]);
    expect(sent[0].data.queries[0].adhocFilters).toBeUndefined();
  });
});
