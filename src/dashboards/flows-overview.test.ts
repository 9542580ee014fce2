import dashboard from './flows-overview.json';
import { expectIncluded, expectTidyGrid, panelsOf } from './testing';
import { RECORD_FUNCS, RECORD_OPS } from '../datasource/types';

// The Flows overview must only ask for what the IPFIX contract
// (notes/ipfix-contracts.md, sections 4 and 7) says the collector produces:
// the ipfix_flow columns, the three volume series and their labels.

/** ipfix_flow's named columns (section 4); other fields are named by their IE. */
const FLOW_COLUMNS = [
  'exporter',
  'time',
  'start',
  'src_addr',
  'dst_addr',
  'src_port',
  'dst_port',
  'protocol',
  'bytes',
  'packets',
  'bytes_raw',
  'packets_raw',
  'sampling_rate',
  'in_if',
  'out_if',
  'tcp_flags',
  'tos',
  'application',
  'reverse_bytes',
  'reverse_packets',
];

/** Dashboard variables that stand for a column the exporter's definitions name (RTT, SRT). */
const COLUMN_VARIABLES = ['$rtt_field', '$srt_field'];

const VOLUME_SERIES = ['ipfix_bytes_total', 'ipfix_packets_total', 'ipfix_flows_total'];
const VOLUME_LABELS = ['device', 'protocol', 'application'];

/** The receiver's exporter health series (pkg/ingest/ipfix/health.go), written every 10 s. */
const HEALTH_COUNTERS = [
  'ipfix_exporter_records_total',
  'ipfix_exporter_bytes_total',
  'ipfix_exporter_lost_records_total',
  'ipfix_exporter_lost_packets_total',
  'ipfix_exporter_drops_total',
  'ipfix_receiver_drops_total',
];
const HEALTH_GAUGES = ['ipfix_exporter_templates', 'ipfix_exporter_held_sets', 'ipfix_exporter_silence_seconds'];
const HEALTH_LABELS = ['device', 'reason'];
/** Counts drops of the whole receiver: no device label, so $exporter cannot narrow it. */
const RECEIVER_SERIES = 'ipfix_receiver_drops_total';

const { panels, targets } = panelsOf(dashboard);
const column = (name: string) => FLOW_COLUMNS.includes(name) || COLUMN_VARIABLES.includes(name);

describe('Flows overview dashboard', () => {
  it('is included in the app like the FTD overview, under its own uid', () => {
    expectIncluded(dashboard, 'Flows overview', 'flows-overview.json', 'netlens-flows-overview');
  });

  it('has unique panel ids and panels that do not overlap on the grid', () => {
    expectTidyGrid(panels);
  });

  it('queries the Netlens data source variable only, as IPFIX', () => {
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) {
      expect(t.datasource).toEqual({ type: 'netlens-telemetry-datasource', uid: '${ds}' });
      expect(t.source).toBe('ipfix');
      expect(['series', 'records']).toContain(t.kind);
    }
  });

  it('asks series queries only for the volume and exporter health series and their labels, counters as rates', () => {
    const series = targets.filter((t) => t.kind === 'series');
    expect(series.length).toBeGreaterThan(0);
    for (const t of series) {
      expect(t.editorMode).toBe('builder');
      expect([...VOLUME_SERIES, ...HEALTH_COUNTERS, ...HEALTH_GAUGES]).toContain(t.metric);
      expect(t).toMatchObject({ rate: !HEALTH_GAUGES.includes(t.metric!) });
      const labels = VOLUME_SERIES.includes(t.metric!) ? VOLUME_LABELS : HEALTH_LABELS;
      for (const l of [...(t.groupBy ?? []), ...(t.matchers ?? []).map((m) => m.label)]) {
        expect({ metric: t.metric, label: l, known: labels.includes(l) }).toEqual({
          metric: t.metric,
          label: l,
          known: true,
        });
      }
    }
  });

  it('has an Export health row with every exporter health series, silence marked at the exporter timeout', () => {
    const row = panels.findIndex((p) => p.type === 'row' && p.title === 'Export health');
    expect(row).toBeGreaterThan(-1);
    const metrics = panels
      .slice(row + 1)
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.metric);
    expect([...new Set(metrics)].sort()).toEqual([...HEALTH_COUNTERS, ...HEALTH_GAUGES].sort());
    const silence = dashboard.panels.find((p) => p.title === 'Silence per exporter') as unknown as {
      fieldConfig: { defaults: { unit: string; thresholds: { steps: Array<{ value: number | null }> } } };
    };
    expect(silence.fieldConfig.defaults.unit).toBe('s');
    expect(silence.fieldConfig.defaults.thresholds.steps.map((s) => s.value)).toEqual([null, 300]);
  });

  it('has an ad-hoc filter variable on the Netlens data source', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({
        type: 'adhoc',
        name: 'filters',
        datasource: { type: 'netlens-telemetry-datasource', uid: '${ds}' },
      })
    );
  });

  it('asks records queries only for ipfix_flow columns, with operators and functions the backend knows', () => {
    const records = targets.filter((t) => t.kind === 'records');
    expect(records.length).toBeGreaterThan(0);
    for (const t of records) {
      expect(t.recordKind).toBe('ipfix_flow');
      const fields = [
        ...(t.filters ?? []).map((f) => f.field),
        ...(t.groupBy ?? []),
        ...(t.columns ?? []),
        ...(t.aggregates ?? []).flatMap((a) => (a.field ? [a.field] : [])),
      ];
      for (const f of fields) {
        expect({ panel: t.panel, field: f, known: column(f) }).toEqual({ panel: t.panel, field: f, known: true });
      }
      for (const f of t.filters ?? []) {
        expect(RECORD_OPS).toContain(f.op);
      }
      for (const a of t.aggregates ?? []) {
        expect(RECORD_FUNCS).toContain(a.func);
        expect(a.func === 'count' ? a.field : a.field || 'missing').not.toBe('missing');
      }
      // Raw rows or aggregates, never both.
      expect((t.aggregates ?? []).length > 0 && (t.columns ?? []).length > 0).toBe(false);
      expect(t.limit ?? 0).toBeLessThanOrEqual(100000);
      if (t.bucket) {
        expect(t.bucket).toBe('auto');
      }
    }
  });

  it('has the panels the issue asks for', () => {
    const byTitle = Object.fromEntries(panels.map((p) => [p.title, p]));
    const first = (title: string) => byTitle[title]?.targets?.[0];
    expect(first('Bytes/s by protocol')).toMatchObject({ metric: 'ipfix_bytes_total', groupBy: ['protocol'] });
    expect(first('Packets/s by application')).toMatchObject({
      metric: 'ipfix_packets_total',
      groupBy: ['application'],
    });
    expect(first('Top talkers')).toMatchObject({
      aggregates: [{ func: 'sum', field: 'bytes' }],
      groupBy: ['src_addr'],
      topN: 10,
      other: true,
    });
    expect(first('Top conversations')?.groupBy).toEqual(['src_addr', 'dst_addr', 'protocol', 'dst_port']);
    expect(first('Round-trip time (RTT)')?.aggregates?.map((a) => `${a.func}(${a.field})`)).toEqual([
      'p50($rtt_field)',
      'p90($rtt_field)',
      'p99($rtt_field)',
    ]);
    expect(first('Recent flows')?.columns?.[0]).toBe('time');
    expect(first('Exporters')?.groupBy).toEqual(['exporter']);
  });

  it('filters every query by the exporter variable, listed from the records contract', () => {
    const exporter = dashboard.templating.list.find((v) => v.name === 'exporter');
    expect(exporter?.query).toMatchObject({ kind: 'records', recordKind: 'ipfix_flow', field: 'exporter' });
    expect(exporter).toMatchObject({ multi: true, includeAll: true });
    // No custom all value: "All" must expand to the exporters for the records filter (in) too.
    expect(exporter).not.toHaveProperty('allValue');
    for (const t of targets) {
      if (t.kind === 'records') {
        expect(t.filters).toContainEqual({ field: 'exporter', op: 'in', values: ['$exporter'] });
      } else if (t.metric === RECEIVER_SERIES) {
        expect(t.matchers ?? []).toEqual([]);
      } else {
        expect(t.matchers).toContainEqual({ label: 'device', op: '=~', value: '$exporter' });
      }
    }
  });

  it('says "no data" in words where RTT and SRT may be missing', () => {
    for (const title of ['Round-trip time (RTT)', 'Server response time (SRT)']) {
      const panel = dashboard.panels.find((p) => p.title === title) as {
        fieldConfig: { defaults: { noValue?: string } };
      };
      expect(panel.fieldConfig.defaults.noValue).toMatch(/^No (RTT|SRT):/);
    }
  });
});
