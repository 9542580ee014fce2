import dashboard from './ios-xr.json';
import { expectIncluded, expectKnownSeries, expectTidyGrid, Panel, panelsOf } from './testing';
import { MATCH_OPS, RECORD_FUNCS, RECORD_OPS } from '../datasource/types';

// The IOS XR dashboard must only ask for what the XR contract
// (notes/xr2-contracts.md, "Series naming" and "HTTP resources") says the
// collector produces, for policy-driven and model-driven routers alike:
// series named from path and leaf by one rule, whichever spelling the
// router uses, and the xr_state records of string leaves.

/** snake() of the naming rule: CamelCase split with acronyms kept together, separators to _, lower case. */
function snake(s: string): string {
  return s
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.:/\s]/g, '_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/** The contract's metric name of a path's leaf: PDT paths split on '.', MDT paths on '/'. */
function metricName(path: string, leaf: string): string {
  let bare = '';
  let depth = 0;
  for (const c of path) {
    if ('([{'.includes(c)) {
      depth++;
    } else if (')]}'.includes(c)) {
      depth--;
    } else if (depth === 0) {
      bare += c;
    }
  }
  const elements = bare.split(bare.includes('/') ? '/' : '.');
  const last = elements[elements.length - 1].replace(/^.*:/, '');
  return `xr_${snake(last)}_${snake(leaf.replace(/\//g, '_'))}`;
}

interface XrPathSpec {
  pdt: string;
  /** The compact GPB schema path: routers sending compact GPB name their tables so. */
  schema: string;
  mdt: string;
  /** Key labels of the path's rows. */
  keys: string[];
  /** Leaves in both spellings, [PDT, MDT], and whether they are counters. */
  numbers: Array<[string, string, boolean]>;
  strings: Array<[string, string]>;
}

// The simulator's paths (pkg/sim/xrsim/schema.go), the leaves real routers send.
const PATHS: Record<string, XrPathSpec> = {
  counters: {
    pdt: 'RootOper.InfraStatistics.Interface(*).Latest.GenericCounters',
    schema: 'RootOper.InfraStatistics.Interface.Latest.GenericCounters',
    mdt: 'Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters',
    keys: ['interface_name'],
    numbers: [
      ['BytesReceived', 'bytes-received', true],
      ['BytesSent', 'bytes-sent', true],
      ['PacketsReceived', 'packets-received', true],
      ['PacketsSent', 'packets-sent', true],
      ['InputErrors', 'input-errors', true],
      ['OutputErrors', 'output-errors', true],
      ['InputDrops', 'input-drops', true],
      ['OutputDrops', 'output-drops', true],
    ],
    strings: [],
  },
  rates: {
    pdt: 'RootOper.InfraStatistics.Interface(*).Latest.DataRate',
    schema: 'RootOper.InfraStatistics.Interface.Latest.DataRate',
    mdt: 'Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/data-rate',
    keys: ['interface_name'],
    numbers: [
      ['InputDataRate', 'input-data-rate', false],
      ['OutputDataRate', 'output-data-rate', false],
    ],
    strings: [],
  },
  interfaces: {
    pdt: 'RootOper.Interfaces.Interface(*)',
    schema: 'RootOper.Interfaces.Interface',
    mdt: 'Cisco-IOS-XR-pfi-im-cmd-oper:interfaces/interface-xr/interface',
    keys: ['interface_name'],
    numbers: [],
    strings: [
      ['State', 'state'],
      ['Description', 'description'],
    ],
  },
  memory: {
    pdt: 'RootOper.MemorySummary.Node(*).Summary',
    schema: 'RootOper.MemorySummary.Node.Summary',
    mdt: 'Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary',
    keys: ['node_name'],
    numbers: [
      ['RAMMemory', 'ram-memory', false],
      ['FreePhysicalMemory', 'free-physical-memory', false],
      ['FreeApplicationMemory', 'free-application-memory', false],
    ],
    strings: [],
  },
  bgp: {
    pdt: "RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])",
    schema: 'RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor',
    mdt: 'Cisco-IOS-XR-ipv4-bgp-oper:bgp/instances/instance/instance-active/default-vrf/neighbors/neighbor',
    keys: ['instance_name', 'neighbor_address'],
    numbers: [
      ['PrefixesAccepted', 'prefixes-accepted', false],
      ['MessagesReceived', 'messages-received', true],
      ['MessagesSent', 'messages-sent', true],
    ],
    strings: [
      ['ConnectionState', 'connection-state'],
      ['Description', 'description'],
      ['ResetReason', 'reset-reason'],
    ],
  },
  inventory: {
    pdt: 'RootOper.PlatformInventory.Rack(*).Attributes.BasicInfo',
    schema: 'RootOper.PlatformInventory.Rack.Attributes.BasicInfo',
    mdt: 'Cisco-IOS-XR-invmgr-oper:inventory/racks/rack/attributes/basic-info',
    // The rack's key is RackName policy-driven and name model-driven.
    keys: ['rack_name', 'name'],
    numbers: [],
    strings: [],
  },
};

/** The receiver's health series (the brief's names; the receiver writes them per router). */
const HEALTH: Record<string, { counter: boolean; labels: string[] }> = {
  xr_router_messages_total: { counter: true, labels: ['device'] },
  xr_router_drops_total: { counter: true, labels: ['device', 'reason'] },
  xr_router_silence_seconds: { counter: false, labels: ['device'] },
  // Since any router last sent a group: not per router.
  xr_group_silence_seconds: { counter: false, labels: ['policy', 'group'] },
};

/** Every series the dashboard may ask for, with its labels and whether it is a counter. */
const SERIES: Record<string, { counter: boolean; labels: string[] }> = { ...HEALTH };
for (const p of Object.values(PATHS)) {
  for (const [pdt, , counter] of p.numbers) {
    const name = metricName(p.pdt, pdt);
    SERIES[name] = { counter, labels: ['device', 'path', 'policy', 'subscription', ...p.keys] };
  }
}

/** xr_state's columns: the fixed ones and one per key. */
const STATE_COLUMNS = [
  'time',
  'device',
  'path',
  'policy',
  'subscription',
  'leaf',
  'value',
  ...new Set(Object.values(PATHS).flatMap((p) => p.keys)),
];

const { panels, targets } = panelsOf(dashboard);

/** The row a panel sits in, by the rows above it. */
function rowOf(panel: Panel): string {
  const rows = panels.filter((p) => p.type === 'row' && p.gridPos.y <= panel.gridPos.y);
  return rows[rows.length - 1]?.title ?? '';
}

describe('the naming rule the dashboard relies on', () => {
  it('names each leaf the same whether a policy or a subscription sent it', () => {
    for (const p of Object.values(PATHS)) {
      for (const [pdt, mdt] of p.numbers) {
        expect(metricName(p.mdt, mdt)).toBe(metricName(p.pdt, pdt));
        expect(metricName(p.schema, pdt)).toBe(metricName(p.pdt, pdt));
      }
    }
    expect(metricName(PATHS.counters.pdt, 'BytesReceived')).toBe('xr_generic_counters_bytes_received');
    expect(metricName(PATHS.rates.mdt, 'input-data-rate')).toBe('xr_data_rate_input_data_rate');
    expect(metricName(PATHS.memory.pdt, 'RAMMemory')).toBe('xr_summary_ram_memory');
    expect(metricName(PATHS.bgp.pdt, 'PrefixesAccepted')).toBe('xr_neighbor_prefixes_accepted');
  });
});

describe('IOS XR dashboard', () => {
  it('is included in the app like the other dashboards, under a stable uid', () => {
    expectIncluded(dashboard, 'IOS XR', 'ios-xr.json', 'netlens-ios-xr');
  });

  it('has unique panel ids and panels that do not overlap on the grid', () => {
    expectTidyGrid(panels);
  });

  it('has the rows the issue asks for', () => {
    expect(panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'Interfaces',
      'Memory',
      'BGP neighbours',
      'Inventory',
      'Router health',
    ]);
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect((p.targets ?? []).length).toBeGreaterThan(0);
    }
  });

  it('queries the Netlens data source variable only, as IOS XR series or xr_state records', () => {
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) {
      expect(t.datasource).toEqual({ type: 'netlens-telemetry-datasource', uid: '${ds}' });
      expect(t.source).toBe('xr');
      expect(['series', 'records']).toContain(t.kind);
    }
    const refs = panels.map((p) => (p.targets ?? []).map((t) => t.refId));
    for (const r of refs) {
      expect(new Set(r).size).toBe(r.length);
    }
  });

  it('asks builder series only for named XR series and their labels, counters as rates and gauges as they are', () => {
    const series = targets.filter((t) => t.kind === 'series' && t.editorMode === 'builder');
    expect(series.length).toBeGreaterThan(0);
    expectKnownSeries(series, SERIES, MATCH_OPS);
  });

  it('names only XR series in code-mode PromQL, bytes as bits', () => {
    const code = targets.filter((t) => t.kind === 'series' && t.editorMode === 'code');
    for (const t of code) {
      const names = t.expr?.match(/\bxr_[a-z0-9_]+/g) ?? [];
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) {
        expect({ panel: t.panel, metric: n, known: n in SERIES }).toEqual({ panel: t.panel, metric: n, known: true });
      }
      expect(t.expr).toMatch(/\[\$__rate_interval\]\)\) \* 8$/);
    }
    expect(code.map((t) => t.panel)).toEqual(['Bits/s received by interface', 'Bits/s sent by interface']);
  });

  it('asks records only of xr_state columns, for both spellings of every leaf and both kinds of path', () => {
    const records = targets.filter((t) => t.kind === 'records');
    expect(records.length).toBeGreaterThan(0);
    const stringLeaves = Object.values(PATHS).flatMap((p) => p.strings);
    for (const t of records) {
      expect(t.recordKind).toBe('xr_state');
      const fields = [
        ...(t.filters ?? []).map((f) => f.field),
        ...(t.groupBy ?? []),
        ...(t.columns ?? []),
        ...(t.aggregates ?? []).flatMap((a) => (a.field ? [a.field] : [])),
      ];
      for (const f of fields) {
        expect({ panel: t.panel, field: f, known: STATE_COLUMNS.includes(f) }).toEqual({
          panel: t.panel,
          field: f,
          known: true,
        });
      }
      for (const f of t.filters ?? []) {
        expect(RECORD_OPS).toContain(f.op);
      }
      for (const a of t.aggregates ?? []) {
        expect(RECORD_FUNCS).toContain(a.func);
      }
      expect((t.aggregates ?? []).length > 0 && (t.columns ?? []).length > 0).toBe(false);
      expect(t.limit ?? 0).toBeLessThanOrEqual(100000);

      // A leaf filter names a leaf in both spellings: policy-driven routers send State, model-driven state.
      const leaf = t.filters?.find((f) => f.field === 'leaf');
      for (const v of leaf?.values ?? []) {
        const pair = stringLeaves.find(([pdt, mdt]) => v === pdt || v === mdt);
        expect({ panel: t.panel, leaf: v, known: Boolean(pair) }).toEqual({ panel: t.panel, leaf: v, known: true });
        expect(leaf?.values).toEqual(expect.arrayContaining(pair!));
      }
      // Each path filter names known paths, a policy path with its compact
      // schema spelling; over one panel's queries, policy- and model-driven.
      const path = t.filters?.find((f) => f.field === 'path');
      expect(path).toBeDefined();
      const all = Object.values(PATHS).flatMap((p) => [p.pdt, p.schema, p.mdt]);
      for (const p of Object.values(PATHS)) {
        if (path!.values.includes(p.pdt)) {
          expect({ panel: t.panel, schema: path!.values.includes(p.schema) }).toEqual({ panel: t.panel, schema: true });
        }
      }
      for (const v of path!.values) {
        if (v.startsWith('Cisco-IOS-XR-pfi-im-cmd-oper:interfaces/')) {
          continue; // the two MDT interface models (interface-xr and interfaces) both carry state
        }
        expect({ panel: t.panel, path: v, known: all.includes(v) }).toEqual({ panel: t.panel, path: v, known: true });
      }
    }
    for (const title of new Set(records.map((t) => t.panel))) {
      const paths = records
        .filter((t) => t.panel === title)
        .flatMap((t) => t.filters!.find((f) => f.field === 'path')!.values);
      expect({ title, pdt: paths.some((p) => p.startsWith('RootOper.')) }).toEqual({ title, pdt: true });
      expect({ title, mdt: paths.some((p) => p.startsWith('Cisco-IOS-XR-')) }).toEqual({ title, mdt: true });
    }
  });

  it('draws states as timelines: time ascending, one lane per router and key', () => {
    const timelines = panels.filter((p) => p.type === 'state-timeline');
    expect(timelines.map((p) => p.title)).toEqual(['Interface state', 'BGP neighbour state']);
    for (const p of timelines) {
      const t = p.targets![0];
      expect(t.kind).toBe('records');
      expect(t.columns?.[0]).toBe('time');
      expect(t.columns?.[t.columns.length - 1]).toBe('value');
      expect(p.transformations?.map((x) => x.id)).toEqual(['sortBy', 'partitionByValues']);
      const lanes = p.transformations![1].options.fields as string[];
      expect(lanes[0]).toBe('device');
      expect(t.columns).toEqual(expect.arrayContaining(lanes));
    }
  });

  it('defines the router and interface variables from XR label values, and uses every variable', () => {
    const vars = dashboard.templating.list;
    const router = vars.find((v) => v.name === 'router');
    expect(router?.query).toMatchObject({ type: 'labelValues', source: 'xr', label: 'device' });
    expect(router).toMatchObject({ multi: true, includeAll: true });
    expect(router).not.toHaveProperty('allValue');
    const iface = vars.find((v) => v.name === 'interface');
    expect(iface?.query).toMatchObject({ type: 'labelValues', source: 'xr', label: 'interface_name' });

    const text = JSON.stringify(dashboard.panels);
    const used = new Set([...text.matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1]).filter((n) => !n.startsWith('__')));
    const defined = vars.map((v) => v.name);
    expect([...used].sort()).toEqual([...defined].sort());

    // Every query of a router's data follows $router; health series too,
    // but for group silence, which is not per router.
    for (const t of targets) {
      if (t.metric === 'xr_group_silence_seconds') {
        expect(t.matchers ?? []).toEqual([]);
      } else if (t.kind === 'records') {
        expect(t.filters).toContainEqual({ field: 'device', op: 'in', values: ['$router'] });
      } else if (t.editorMode === 'code') {
        expect(t.expr).toContain('device=~"$router"');
      } else {
        expect(t.matchers).toContainEqual({ label: 'device', op: '=~', value: '$router' });
      }
    }
    // And the Interfaces row's panels follow $interface.
    for (const p of panels.filter((x) => x.type !== 'row' && rowOf(x) === 'Interfaces')) {
      expect({ panel: p.title, interface: JSON.stringify(p.targets).includes('$interface') }).toEqual({
        panel: p.title,
        interface: true,
      });
    }
  });

  it('has the panels the issue asks for', () => {
    const byTitle = Object.fromEntries(panels.map((p) => [p.title, p]));
    const metrics = (title: string) => (byTitle[title]?.targets ?? []).map((t) => t.metric);
    expect(byTitle['Bits/s received by interface']?.targets?.[0].expr).toContain('xr_generic_counters_bytes_received');
    expect(byTitle['Bits/s sent by interface']?.targets?.[0].expr).toContain('xr_generic_counters_bytes_sent');
    expect(metrics('Packets/s by interface')).toEqual([
      'xr_generic_counters_packets_received',
      'xr_generic_counters_packets_sent',
    ]);
    expect(metrics("Data rate (router's load interval)")).toEqual([
      'xr_data_rate_input_data_rate',
      'xr_data_rate_output_data_rate',
    ]);
    expect(metrics('RAM by node')).toEqual(['xr_summary_ram_memory']);
    expect(byTitle['Free memory by node']?.targets?.[0].groupBy).toEqual(['device', 'node_name']);
    expect(metrics('Prefixes accepted by neighbour')).toEqual(['xr_neighbor_prefixes_accepted']);
    expect(byTitle['Interface descriptions']?.type).toBe('table');
    expect(byTitle.Inventory?.type).toBe('table');
    expect(metrics('Messages/s per router')).toEqual(['xr_router_messages_total']);
    expect(byTitle['Drops/s by reason']?.targets?.[0].groupBy).toEqual(['device', 'reason']);
    expect(metrics('Policy group silence')).toEqual(['xr_group_silence_seconds']);
    expect(metrics('Silence per router')).toEqual(['xr_router_silence_seconds']);
  });
});
