import { XrLeaf, XrPath, XrRouter } from '../types';
import type { ResourceHandler } from './fakeDataSource';

// IOS XR answers as the backend gives them (notes/xr2-contracts.md, "HTTP
// resources"): two routers, one policy-driven and one model-driven, the
// paths of the simulator's policy (pkg/sim/xrsim) and their leaves, named
// by the contract's series naming rule. Nothing here needs jest.

export const XR_COUNTERS = 'RootOper.InfraStatistics.Interface(*).Latest.GenericCounters';
export const XR_INTERFACES = 'RootOper.Interfaces.Interface(*)';
export const XR_MEMORY = 'RootOper.MemorySummary.Node(*).Summary';
export const XR_MDT_COUNTERS =
  'Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters';

export const XR_ROUTERS: XrRouter[] = [
  {
    device: 'xr-core-1',
    remote: '192.0.2.21:41870',
    transports: ['tcp'],
    generations: ['pdt_v2'],
    encodings: ['gpbkv', 'json'],
    lastSeenMs: Date.parse('2026-11-25T08:14:00Z'),
    messages: 48_211,
    bytes: 91_337_120,
    drops: {},
    missingProtos: {},
  },
  {
    device: 'xr-edge-2',
    remote: '198.51.100.9:57123',
    transports: ['tcp', 'udp'],
    generations: ['mdt', 'pdt_udp'],
    encodings: ['gpb-compact', 'json'],
    lastSeenMs: Date.parse('2026-11-25T08:13:50Z'),
    messages: 9_020,
    bytes: 12_800_443,
    drops: { bad_json: 3, too_large: 1 },
    missingProtos: { [XR_MEMORY]: 12 },
  },
];

export const XR_PATHS: XrPath[] = [
  {
    path: XR_COUNTERS,
    policy: 'Basic',
    group: 'Counters',
    periodSeconds: 10,
    source: 'both',
    devices: ['xr-core-1'],
    lastSeenMs: Date.parse('2026-11-25T08:14:00Z'),
    keys: ['InterfaceName'],
    leaves: 21,
  },
  {
    path: XR_INTERFACES,
    policy: 'Basic',
    group: 'State',
    periodSeconds: 60,
    source: 'both',
    devices: ['xr-core-1'],
    lastSeenMs: Date.parse('2026-11-25T08:13:00Z'),
    keys: ['InterfaceName'],
    leaves: 8,
  },
  {
    path: XR_MEMORY,
    policy: 'Basic',
    group: 'Memory',
    periodSeconds: 300,
    source: 'policy',
    devices: [],
    lastSeenMs: 0,
    keys: [],
    leaves: 0,
  },
  {
    path: XR_MDT_COUNTERS,
    policy: '',
    group: 'interfaces',
    periodSeconds: 0,
    source: 'data',
    devices: ['xr-edge-2'],
    lastSeenMs: Date.parse('2026-11-25T08:13:50Z'),
    keys: ['interface-name'],
    leaves: 21,
  },
];

export const XR_LEAVES: Record<string, XrLeaf[]> = {
  [XR_COUNTERS]: [
    { leaf: 'BytesReceived', metric: 'xr_generic_counters_bytes_received', kind: 'counter', type: 'uint' },
    { leaf: 'BytesSent', metric: 'xr_generic_counters_bytes_sent', kind: 'counter', type: 'uint' },
    { leaf: 'LastDataTime', metric: 'xr_generic_counters_last_data_time', kind: 'gauge', type: 'uint' },
  ],
  [XR_INTERFACES]: [
    { leaf: 'MTU', metric: 'xr_interface_mtu', kind: 'gauge', type: 'uint' },
    { leaf: 'State', metric: '', kind: 'string', type: 'string' },
    { leaf: 'Description', metric: '', kind: 'string', type: 'string' },
  ],
  [XR_MEMORY]: [],
  [XR_MDT_COUNTERS]: [
    { leaf: 'bytes-received', metric: 'xr_generic_counters_bytes_received', kind: 'counter', type: 'uint' },
  ],
};

const XR_LABEL_VALUES: Record<string, string[]> = {
  device: XR_ROUTERS.map((r) => r.device),
  interface_name: ['HundredGigE0/0/0/0', 'HundredGigE0/0/0/1', 'Bundle-Ether10'],
};

/** The XR resources, the series catalog of XR metrics and the xr_state records' values. */
export const xrHandler: ResourceHandler = (path, params) => {
  switch (path) {
    case 'xr/routers':
      return XR_ROUTERS;
    case 'xr/paths':
      return params.device ? XR_PATHS.filter((p) => p.devices.includes(String(params.device))) : XR_PATHS;
    case 'xr/leaves':
      return XR_LEAVES[String(params.path)] ?? [];
    case 'catalog/labels':
      return { labels: ['device', 'interface_name', 'path', 'policy', 'subscription'] };
    case 'catalog/label-values':
      return { values: XR_LABEL_VALUES[String(params.label)] ?? [] };
    case 'records/values':
      return (XR_LABEL_VALUES[String(params.field)] ?? []).filter((v) => v.startsWith(String(params.prefix ?? '')));
    case 'records/fields':
      return [
        { name: 'time', type: 'time', rows: 40 },
        { name: 'device', type: 'string', rows: 40 },
        { name: 'leaf', type: 'string', rows: 40 },
        { name: 'value', type: 'string', rows: 40 },
        { name: 'interface_name', type: 'string', rows: 30 },
      ];
    default:
      throw new Error(`unexpected resource ${path}`);
  }
};
