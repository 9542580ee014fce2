import appPlugin from '../plugin.json';
import dashboard from './int-overview.json';
import { expectIncluded, expectKnownSeries, expectTidyGrid, Panel, panelsOf, Target } from './testing';
import { MATCH_OPS, RECORD_FUNCS, RECORD_OPS } from '../datasource/types';

// The INT overview must only ask for what the INT wiring contract
// (notes/int-wiring.md, "Query JSON") says the collector answers: int_report
// records (pkg/pipeline/intmap/README.md, plus the flow column), the path
// and episodes kinds, and the int_* series of the mapper and the receiver
// (pkg/ingest/intrcv/README.md).

/** The int_report columns a target may filter, group, aggregate or show. */
const REPORT_COLUMNS = [
  'time',
  'device',
  'switch_id',
  'hw_id',
  'seq',
  'type',
  'flags',
  'src_addr',
  'dst_addr',
  'src_port',
  'dst_port',
  'protocol',
  'flow',
  'dscp',
  'ingress_port',
  'egress_port',
  'queue_id',
  'queue_occupancy',
  'drop_reason',
  'hop_count',
  'e2e_latency',
  'max_hop_latency',
  'path',
  'path_changed',
  'hops',
];

/** The values of the type column. */
const REPORT_TYPES = ['flow', 'drop', 'queue', 'int', 'postcard-path'];

/** Every INT series, its labels and whether it is a counter. */
const SERIES: Record<string, { counter: boolean; labels: string[] }> = {
  // pkg/pipeline/intmap
  int_reports_total: { counter: true, labels: ['device', 'type'] },
  int_drops_total: { counter: true, labels: ['device', 'port', 'reason'] },
  int_queue_occupancy: { counter: false, labels: ['device', 'queue'] },
  int_hop_latency_ns_max: { counter: false, labels: ['device'] },
  int_hop_latency_ns_sum: { counter: true, labels: ['device'] },
  int_hop_latency_ns_count: { counter: true, labels: ['device'] },
  int_e2e_latency_ns_max: { counter: false, labels: ['device'] },
  int_e2e_latency_ns_sum: { counter: true, labels: ['device'] },
  int_e2e_latency_ns_count: { counter: true, labels: ['device'] },
  // pkg/ingest/intrcv health series
  int_switch_reports_total: { counter: true, labels: ['device', 'type'] },
  int_switch_drops_total: { counter: true, labels: ['device', 'reason'] },
  int_switch_lost_reports_total: { counter: true, labels: ['device'] },
  int_receiver_drops_total: { counter: true, labels: ['reason'] },
  int_switch_silence_seconds: { counter: false, labels: ['device'] },
};

const DS = { type: 'netlens-telemetry-datasource', uid: '${ds}' };

interface Link {
  title: string;
  url: string;
}

const { panels, targets } = panelsOf(dashboard);
const byTitle = Object.fromEntries(panels.map((p) => [p.title, p]));
const annotations = dashboard.annotations.list.filter((a) => !('builtIn' in a)) as unknown as Array<{
  name: string;
  datasource: { type: string; uid: string };
  target: Target;
}>;

/** The fields a records target names anywhere. */
function recordFields(t: Target): string[] {
  return [
    ...(t.filters ?? []).map((f) => f.field),
    ...(t.groupBy ?? []),
    ...(t.columns ?? []),
    ...(t.aggregates ?? []).flatMap((a) => (a.field ? [a.field] : [])),
  ];
}

/** The data links a panel puts on its flow column. */
function flowLinks(p: Panel): Link[] {
  const o = p.fieldConfig?.overrides.find((x) => x.matcher.id === 'byName' && x.matcher.options === 'flow');
  return (o?.properties.find((x) => x.id === 'links')?.value as Link[] | undefined) ?? [];
}

describe('INT overview dashboard', () => {
  it('is included in the app like the other dashboards, under a stable uid', () => {
    expectIncluded(dashboard, 'INT overview', 'int-overview.json', 'netlens-int-overview');
  });

  it('has unique panel ids and panels that do not overlap on the grid', () => {
    expectTidyGrid(panels);
  });

  it('has the rows the issue asks for, each panel with queries', () => {
    expect(panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'Latency',
      'Path',
      'Drops',
      'Queues',
      'Reports and receiver',
    ]);
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect({ panel: p.title, targets: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, targets: true });
    }
  });

  it('queries the Netlens data source variable only, about INT, in the kinds the contract names', () => {
    expect(targets.length).toBeGreaterThan(0);
    for (const t of [...targets, ...annotations.map((a) => ({ panel: a.name, ...a.target }))]) {
      expect({ panel: t.panel, datasource: t.datasource ?? DS }).toEqual({ panel: t.panel, datasource: DS });
      expect({ panel: t.panel, source: t.source }).toEqual({ panel: t.panel, source: 'int' });
      expect(['series', 'records', 'path', 'episodes']).toContain(t.kind);
    }
    for (const p of panels) {
      const refs = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refs).size).toBe(refs.length);
    }
  });

  it('asks series only for INT series and their labels, counters as rates and gauges as they are', () => {
    const series = targets.filter((t) => t.kind === 'series');
    expect(series.length).toBeGreaterThan(0);
    for (const t of series) {
      expect(t.editorMode).toBe('builder');
    }
    expectKnownSeries(series, SERIES, MATCH_OPS);
  });

  it('asks records only of int_report columns, with the switch names', () => {
    const records = targets.filter((t) => t.kind === 'records');
    expect(records.length).toBeGreaterThan(0);
    for (const t of records) {
      expect(t.recordKind).toBe('int_report');
      expect(t.switchNames).toBe('$switch_names');
      for (const f of recordFields(t)) {
        expect({ panel: t.panel, field: f, known: REPORT_COLUMNS.includes(f) }).toEqual({
          panel: t.panel,
          field: f,
          known: true,
        });
      }
      for (const f of t.filters ?? []) {
        expect(RECORD_OPS).toContain(f.op);
        if (f.field === 'type') {
          for (const v of f.values) {
            expect(REPORT_TYPES).toContain(v);
          }
        }
      }
      for (const a of t.aggregates ?? []) {
        expect(RECORD_FUNCS).toContain(a.func);
        expect(a.func === 'count').toBe(a.field === undefined);
      }
      // Raw rows or groups, never both; bounded either way.
      expect((t.aggregates ?? []).length > 0 && (t.columns ?? []).length > 0).toBe(false);
      expect(t.limit ?? 0).toBeLessThanOrEqual(100000);
      if ((t.aggregates ?? []).length > 0) {
        expect(t.topN).toBeGreaterThan(0);
        expect(t.topN).toBeLessThanOrEqual(50);
      }
    }
  });

  it('ranks flows by end-to-end and by per-hop latency, each flow a link that sets $flow on this dashboard', () => {
    const e2e = byTitle['Flows with the worst end-to-end latency'];
    const hop = byTitle['Flows with the worst per-hop latency'];
    for (const [p, field] of [
      [e2e, 'e2e_latency'],
      [hop, 'max_hop_latency'],
    ] as const) {
      expect(p.type).toBe('table');
      const t = p.targets![0];
      expect(t.groupBy).toEqual(['flow']);
      // Top N cuts by the first aggregate: the worst value.
      expect(t.aggregates![0]).toEqual({ func: 'max', field });
      const links = flowLinks(p);
      expect(links).toHaveLength(1);
      expect(links[0].url).toMatch(new RegExp(`^/d/${dashboard.uid}/[a-z-]+\\?`));
      expect(links[0].url).toContain('var-flow=${__value.raw}');
      expect(links[0].url).toContain('${__url_time_range}');
      const unit = p.fieldConfig!.overrides.find((o) => o.matcher.options === `max(${field})`);
      expect(unit?.properties).toContainEqual({ id: 'unit', value: 'ns' });
    }
    // Each report once: joined postcard paths repeat their postcards' hops.
    expect(hop.targets![0].filters).toEqual([{ field: 'type', op: '!=', values: ['postcard-path'] }]);
    // End-to-end latency exists only on rows that carry a path; a switch's
    // own report about a packet is a one-switch path, its latency one hop's.
    expect(e2e.targets![0].filters).toEqual([
      { field: 'type', op: 'in', values: ['int', 'postcard-path'] },
      { field: 'hop_count', op: '>', values: ['1'] },
    ]);
  });

  it('draws the network path of $flow live, with the switch names', () => {
    const p = byTitle['Network path'];
    expect(p.type).toBe('netlens-networkpath-panel');
    expect(appPlugin.includes).toContainEqual(
      expect.objectContaining({ type: 'panel', path: 'panels/networkpath/plugin.json' })
    );
    expect(p.targets).toHaveLength(1);
    const t = p.targets![0];
    expect(t).toMatchObject({ kind: 'path', flow: '$flow', switchNames: '$switch_names', live: true });
    expect(t.topN).toBeGreaterThan(0);
    expect(t.topN).toBeLessThanOrEqual(500);
    expect(p.options).toMatchObject({ selection: 'variable', flowFilter: '$flow', flowVariable: 'flow' });
    // Hop latency is in ns; queue occupancy gets thresholds of its own.
    expect(p.fieldConfig?.defaults.unit).toBe('ns');
    const occ = p.fieldConfig?.overrides.find((o) => o.matcher.options === 'queue_occupancy');
    expect(occ?.properties.map((x) => x.id)).toContain('thresholds');
  });

  it('shows drops by switch, port and reason, queues by switch and queue, loss per switch and receiver drops', () => {
    const metrics = (title: string) => (byTitle[title]?.targets ?? []).map((t) => t.metric);
    expect(byTitle['Drops/s by switch, port and reason'].targets![0]).toMatchObject({
      metric: 'int_drops_total',
      groupBy: ['device', 'port', 'reason'],
    });
    expect(byTitle['Drop reports by switch, port and reason'].targets![0]).toMatchObject({
      filters: [{ field: 'type', op: '=', values: ['drop'] }],
      groupBy: ['device', 'egress_port', 'drop_reason'],
    });
    expect(byTitle['Queue occupancy by switch and queue'].targets![0]).toMatchObject({
      metric: 'int_queue_occupancy',
      groupBy: ['device', 'queue'],
    });
    expect(byTitle['Congested queues'].targets![0]).toMatchObject({
      filters: [{ field: 'type', op: '=', values: ['queue'] }],
      groupBy: ['device', 'egress_port', 'queue_id'],
    });
    expect(metrics('Lost reports/s per switch')).toEqual(['int_switch_lost_reports_total']);
    expect(metrics('Receiver drops/s')).toEqual(['int_receiver_drops_total', 'int_switch_drops_total']);
    expect(metrics('Silence per switch')).toEqual(['int_switch_silence_seconds']);
    expect(byTitle['End-to-end latency by sink switch'].targets![0]).toMatchObject({
      kind: 'records',
      aggregates: [{ func: 'max', field: 'e2e_latency' }],
      groupBy: ['device'],
      bucket: 'auto',
    });
    expect(metrics('Hop latency by switch')).toEqual(['int_hop_latency_ns_max']);
  });

  it('marks drop and congestion episodes as annotations', () => {
    expect(annotations.map((a) => [a.name, a.target.kind, a.target.eventTypes])).toEqual([
      ['Drop episodes', 'episodes', ['drop']],
      ['Congestion episodes', 'episodes', ['congestion']],
    ]);
    for (const a of annotations) {
      expect(a.datasource).toEqual(DS);
      expect(a.target.switchNames).toBe('$switch_names');
    }
  });

  it('defines $flow from the flow values of INT reports and $switch_names as id=name text, and uses every variable', () => {
    const vars = dashboard.templating.list;
    const flow = vars.find((v) => v.name === 'flow');
    expect(flow?.query).toMatchObject({ kind: 'records', recordKind: 'int_report', field: 'flow' });
    expect(flow).toMatchObject({ type: 'query', multi: true, includeAll: true });
    expect(flow).not.toHaveProperty('allValue');

    const names = vars.find((v) => v.name === 'switch_names');
    expect(['constant', 'textbox']).toContain(names?.type);
    const text = String(names?.query);
    expect(names?.current).toEqual({ text, value: text });
    // The contract's format: id=name, ids in hex, decimal or an address.
    for (const pair of text.split(/[,\n]/)) {
      expect(pair.trim()).toMatch(/^(0x[0-9a-fA-F]+|\d+|[0-9a-fA-F.:]+)=\S.*$/);
    }

    const used = new Set(
      [...JSON.stringify({ panels: dashboard.panels, annotations: dashboard.annotations }).matchAll(/\$\{?(\w+)/g)]
        .map((m) => m[1])
        .filter((n) => !n.startsWith('__'))
    );
    expect([...used].sort()).toEqual(vars.map((v) => v.name).sort());
  });
});
