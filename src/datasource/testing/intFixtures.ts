import { IntSwitch, NetlensQuery, RecordFieldInfo, RecordFilter } from '../types';
import type { ResourceHandler } from './fakeDataSource';

// INT answers as the backend gives them (notes/int-wiring.md): a small
// leaf-spine domain as netlens-sim int builds it, two leaves named in the
// data source settings, a spine without a name, and a switch without a switch
// id known by its address. Nothing here needs jest.

export const LEAF1 = '0x0000000a';
export const LEAF2 = '0x0000000b';
export const SPINE1 = '0x00000014';
export const NO_ID = '192.0.2.40';

export const FLOW_A = '10.1.1.10:40000 > 10.2.2.20:443 tcp';
export const FLOW_B = '10.1.1.11:53001 > 10.2.2.21:53 udp';

/** The report type "flow" as a filter: flow reports, INT reports and postcard paths. */
export const FLOW_TYPES: RecordFilter = { field: 'type', op: 'in', values: ['flow', 'int', 'postcard-path'] };

/** A reports query as INT starts one: the worst end-to-end latency of the top 10 flows over time. */
export const REPORTS_START: Partial<NetlensQuery> = {
  kind: 'records',
  recordKind: 'int_report',
  filters: [FLOW_TYPES],
  aggregates: [{ func: 'max', field: 'e2e_latency' }],
  groupBy: ['flow'],
  bucket: 'auto',
  topN: 10,
};

export const INT_SWITCHES: IntSwitch[] = [
  {
    device: LEAF1,
    name: 'leaf1',
    address: '192.0.2.10:40001',
    switchId: 10,
    hasSwitchId: true,
    reports: { flow: 120, drop: 4, queue: 9, int: 48_211 },
    bytes: 9_120_554,
    drops: {},
    lostReports: 0,
    versions: ['1.0'],
    firstSeenMs: Date.parse('2026-11-25T07:00:00Z'),
    lastSeenMs: Date.parse('2026-11-25T08:14:00Z'),
    state: 'ok',
  },
  {
    device: SPINE1,
    name: '',
    address: '192.0.2.20:40001',
    switchId: 20,
    hasSwitchId: true,
    reports: { drop: 310, queue: 1_204 },
    bytes: 201_004,
    drops: { truncated: 2, ins_cnt_mismatch: 5 },
    lostReports: 77,
    versions: ['0.5', '1.0'],
    firstSeenMs: Date.parse('2026-11-25T07:00:00Z'),
    lastSeenMs: Date.parse('2026-11-25T08:13:58Z'),
    state: 'losing',
    lastError: 'ins_cnt_mismatch at offset 54: instruction count 4, bitmap has 5 bits',
  },
  {
    device: LEAF2,
    name: 'leaf2',
    address: '192.0.2.11:40001',
    switchId: 11,
    hasSwitchId: true,
    reports: { int: 5_002 },
    bytes: 1_500_600,
    drops: {},
    lostReports: 0,
    versions: ['1.0'],
    firstSeenMs: Date.parse('2026-11-25T07:00:00Z'),
    lastSeenMs: Date.parse('2026-11-25T07:31:00Z'),
    state: 'stopped',
  },
  {
    device: NO_ID,
    address: '192.0.2.40:50000',
    switchId: 0,
    hasSwitchId: false,
    reports: { flow: 12 },
    bytes: 1_800,
    lostReports: 0,
    versions: ['0.5'],
    lastSeenMs: Date.parse('2026-11-25T08:13:00Z'),
    state: 'ok',
  },
];

/** int_report's columns as records/fields lists them (pkg/pipeline/intmap/README.md, plus flow). */
export const INT_FIELDS: RecordFieldInfo[] = [
  { name: 'time', type: 'time', rows: 50_000 },
  { name: 'device', type: 'string', rows: 50_000 },
  { name: 'switch_id', type: 'uint', rows: 50_000 },
  { name: 'type', type: 'string', rows: 50_000 },
  { name: 'flow', type: 'string', rows: 49_000 },
  { name: 'src_addr', type: 'addr', rows: 49_000 },
  { name: 'dst_addr', type: 'addr', rows: 49_000 },
  { name: 'src_port', type: 'uint', rows: 48_000 },
  { name: 'dst_port', type: 'uint', rows: 48_000 },
  { name: 'protocol', type: 'uint', rows: 49_000 },
  { name: 'ingress_port', type: 'uint', rows: 50_000 },
  { name: 'egress_port', type: 'uint', rows: 50_000 },
  { name: 'queue_id', type: 'uint', rows: 30_000 },
  { name: 'queue_occupancy', type: 'uint', rows: 30_000 },
  { name: 'drop_reason', type: 'uint', rows: 300 },
  { name: 'hop_count', type: 'uint', rows: 50_000 },
  { name: 'e2e_latency', type: 'uint', rows: 48_000 },
  { name: 'max_hop_latency', type: 'uint', rows: 50_000 },
  { name: 'path', type: 'string', rows: 48_000 },
  { name: 'path_changed', type: 'bool', rows: 48_000 },
  { name: 'hops', type: 'string', rows: 48_000 },
];

const INT_VALUES: Record<string, string[]> = {
  flow: [FLOW_A, FLOW_B],
  device: [LEAF1, SPINE1, LEAF2],
  src_addr: ['10.1.1.10', '10.1.1.11'],
  dst_port: ['443', '53'],
  drop_reason: ['80', '71'],
};

export const INT_METRICS = [
  { name: 'int_reports_total', family: '', kind: 'counter', help: 'INT reports by switch and type' },
  { name: 'int_drops_total', family: '', kind: 'counter', help: 'Drop reports by switch, port and reason' },
  { name: 'int_queue_occupancy', family: '', kind: 'gauge', help: 'Largest queue occupancy in the interval' },
  { name: 'int_hop_latency_ns_max', family: '', kind: 'gauge', help: 'Largest hop latency in the interval' },
];

/** The INT resources, the int_report records and the INT series catalog. */
export const intHandler: ResourceHandler = (path, params) => {
  switch (path) {
    case 'int/switches':
      // The query's switch names override the settings' per id, as the backend does.
      return params.switchNames === '0x00000014=spine1'
        ? INT_SWITCHES.map((s) => (s.device === SPINE1 ? { ...s, name: 'spine1' } : s))
        : INT_SWITCHES;
    case 'int/flows':
      return [
        { flow: FLOW_A, reports: 1204 },
        { flow: FLOW_B, reports: 98 },
      ];
    case 'records/fields':
      return INT_FIELDS;
    case 'records/values':
      return (INT_VALUES[String(params.field)] ?? []).filter((v) => v.startsWith(String(params.prefix ?? '')));
    case 'catalog/families':
      return { families: [] };
    case 'catalog/metrics':
      return { metrics: INT_METRICS };
    case 'catalog/labels':
      return { labels: ['device', 'port', 'reason', 'queue', 'type'] };
    case 'catalog/label-values':
      return { values: params.label === 'device' ? [LEAF1, SPINE1] : [] };
    default:
      throw new Error(`unexpected resource ${path}`);
  }
};
