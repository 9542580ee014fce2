import { ExporterStatus, MetricInfo, RecordFieldInfo, StatusResponse } from '../types';
import type { ResourceHandler } from './fakeDataSource';
import { xrHandler } from './xrFixtures';

// A backend as a firewall pair in production would answer it: the visual
// harness (tests/visual) renders the editors against these answers, so the
// lists are long and the names as wide as real ones. Nothing here needs jest.

export const DEMO_METRICS: MetricInfo[] = [
  { name: 'ftd_cpu_cpu_utilisation', family: 'cpu', kind: 'gauge', help: 'CPU load of a core in percent' },
  { name: 'ftd_cpu_stats_utilisation_average', family: 'cpu', kind: 'gauge', help: 'Mean CPU load in percent' },
  { name: 'ftd_mem_used_percentage', family: 'mem', kind: 'gauge', help: 'Memory in use, percent' },
  { name: 'ftd_mem_total_bytes', family: 'mem', kind: 'gauge', help: 'Installed memory' },
  { name: 'ftd_interface_input_packets', family: 'interface', kind: 'counter', help: 'Packets received' },
  { name: 'ftd_interface_output_packets', family: 'interface', kind: 'counter', help: 'Packets sent' },
  { name: 'ftd_interface_input_bytes', family: 'interface', kind: 'counter', help: 'Bytes received' },
  { name: 'ftd_interface_output_bytes', family: 'interface', kind: 'counter', help: 'Bytes sent' },
  { name: 'ftd_interface_input_errors', family: 'interface', kind: 'counter', help: 'Frames received with errors' },
  { name: 'ftd_disk_used_percentage', family: 'disk', kind: 'gauge', help: 'Disk space in use, percent' },
  { name: 'ftd_connections_active', family: 'connections', kind: 'gauge', help: 'Connections in the table' },
  { name: 'ftd_connections_created', family: 'connections', kind: 'counter', help: 'Connections set up' },
  { name: 'ftd_snort_packets_processed', family: 'snort', kind: 'counter', help: 'Packets inspected by Snort' },
  { name: 'ftd_snort_instance_cpu_utilisation', family: 'snort', kind: 'gauge', help: '' },
  { name: 'ftd_vpn_active_sessions', family: 'vpn', kind: 'gauge', help: 'Remote access VPN sessions' },
  { name: 'ftd_vpn_tunnel_state', family: 'vpn', kind: 'unknown', help: '' },
];

// IPFIX: the volume series, and the flow records of a LoadMaster and two
// routers, with the enterprise fields a definitions file names.
export const DEMO_IPFIX_METRICS: MetricInfo[] = [
  { name: 'ipfix_bytes_total', family: '', kind: 'counter', help: 'Flow bytes, sampling scaled in' },
  { name: 'ipfix_packets_total', family: '', kind: 'counter', help: 'Flow packets, sampling scaled in' },
  { name: 'ipfix_flows_total', family: '', kind: 'counter', help: 'Flow records received' },
];

const IPFIX_LABELS: Record<string, string[]> = {
  device: ['192.0.2.7/0', '192.0.2.9/256', '198.51.100.4/1'],
  protocol: ['tcp', 'udp', 'icmp', 'gre', '50'],
  application: ['http', 'https', 'dns', 'ssh', 'ntp', 'other', 'unknown'],
};

export const DEMO_FLOW_FIELDS: RecordFieldInfo[] = [
  { name: 'time', type: 'time', rows: 1_204_332 },
  { name: 'exporter', type: 'string', rows: 1_204_332 },
  { name: 'src_addr', type: 'addr', rows: 1_204_332 },
  { name: 'dst_addr', type: 'addr', rows: 1_204_332 },
  { name: 'protocol', type: 'uint', rows: 1_204_332 },
  { name: 'bytes', type: 'uint', rows: 1_204_332 },
  { name: 'packets', type: 'uint', rows: 1_204_332 },
  { name: 'src_port', type: 'uint', rows: 1_180_112 },
  { name: 'dst_port', type: 'uint', rows: 1_180_112 },
  { name: 'sampling_rate', type: 'uint', rows: 1_204_332 },
  { name: 'tcp_flags', type: 'uint', rows: 911_820 },
  { name: 'application', type: 'string', rows: 640_009 },
  { name: 'rtt', type: 'uint', rows: 212_448 },
  { name: 'srt', type: 'uint', rows: 98_310 },
  { name: 'httpHost', type: 'string', rows: 41_877 },
  { name: 'pen39499_57', type: 'string', rows: 1_022 },
];

const FLOW_VALUES: Record<string, string[]> = {
  exporter: IPFIX_LABELS.device,
  src_addr: ['10.20.0.14', '10.20.0.15', '10.20.3.201', '10.40.1.9', '172.16.8.33', '2001:db8:20::14'],
  dst_addr: ['192.0.2.80', '198.51.100.53', '203.0.113.10', '2001:db8::443'],
  protocol: ['6', '17', '1', '47'],
  dst_port: ['443', '53', '80', '22', '123', '8443'],
  application: IPFIX_LABELS.application,
};

export const DEMO_EXPORTERS: ExporterStatus[] = [
  {
    device: '192.0.2.7/0',
    address: '192.0.2.7:50000',
    transport: 'udp',
    odid: 0,
    templates: [256, 257, 258],
    optionsTemplates: [512],
    records: 1_021_554,
    recordsPerSec: 3_412.6,
    bytesPerSec: 884_212,
    lostRecords: 0,
    heldRecords: 0,
    drops: {},
    samplingRate: 1,
    lastSeenMs: Date.parse('2026-11-25T08:14:01Z'),
    state: 'ok',
  },
  {
    device: '192.0.2.9/256',
    address: '192.0.2.9:2055',
    transport: 'udp',
    odid: 256,
    templates: [260],
    optionsTemplates: [261],
    records: 180_402,
    recordsPerSec: 611.2,
    bytesPerSec: 151_909,
    lostRecords: 4_210,
    heldRecords: 37,
    drops: { queue_full: 12, 'malformed:bad_set_length': 3 },
    samplingRate: 512,
    lastSeenMs: Date.parse('2026-11-25T08:14:02Z'),
    state: 'losing',
  },
  {
    device: '198.51.100.4/1',
    address: '198.51.100.4:41120',
    transport: 'tcp',
    odid: 1,
    templates: [],
    optionsTemplates: [],
    records: 2_376,
    recordsPerSec: 0,
    bytesPerSec: 0,
    lostRecords: 0,
    heldRecords: 0,
    drops: { tcp_framing: 1 },
    samplingRate: 1,
    lastSeenMs: Date.parse('2026-11-25T07:31:40Z'),
    state: 'stopped',
  },
];

export const DEMO_LABELS: Record<string, string[]> = {
  device: ['9f1c6a2e-4b7d-11ee-8a3c-0242ac120002', 'd41e8b7a-4b7d-11ee-9c1d-0242ac120003'],
  hostname: ['fw-edge-ams-1', 'fw-edge-fra-2'],
  process: ['lina', 'snort3', 'sftunnel', 'ngfwManager'],
  interface: [
    'GigabitEthernet0/0',
    'GigabitEthernet0/1',
    'GigabitEthernet0/2',
    'Port-channel1.120',
    'Management0/0',
    'Tunnel10',
  ],
  core: ['0', '1', '2', '3', '4', '5', '6', '7'],
  instance: ['1', '2', '3', '4'],
};

const DEMO_FAMILIES = ['cpu', 'mem', 'interface', 'disk', 'connections', 'snort', 'vpn'];

// Which labels arrive on which family's metrics.
const FAMILY_LABELS: Record<string, string[]> = {
  cpu: ['device', 'hostname', 'core'],
  mem: ['device', 'hostname'],
  interface: ['device', 'hostname', 'interface'],
  disk: ['device', 'hostname'],
  connections: ['device', 'hostname'],
  snort: ['device', 'hostname', 'process', 'instance'],
  vpn: ['device', 'hostname', 'interface'],
};

export const DEMO_STATUS: StatusResponse = {
  listeners: [
    { name: 'ftd', network: 'tcp', address: ':50051', bound: '[::]:50051', since: '2026-11-25T06:58:12Z' },
    { name: 'ipfix-udp', network: 'udp', address: ':4739', bound: '[::]:4739', since: '2026-11-25T06:58:12Z' },
    { name: 'ipfix-tcp', network: 'tcp', address: ':4739', bound: '[::]:4739', since: '2026-11-25T06:58:12Z' },
  ],
  devices: [
    {
      source: 'ftd',
      id: '9f1c6a2e-4b7d-11ee-8a3c-0242ac120002',
      hostname: 'fw-edge-ams-1',
      remote: '198.51.100.21:40122',
      state: 'connected',
      stateReason: '',
      since: '2026-11-25T06:59:02Z',
      lastBatch: '2026-11-25T08:14:02Z',
      intervalSeconds: 60,
      batches: 76,
      samples: 184_512,
      rejected: 3,
      errors: {
        invalid_argument: {
          count: 3,
          last: 'metric ftd_cpu_stats_utilisation_ has no value',
          lastAt: '2026-11-25T07:41:02Z',
        },
      },
    },
    {
      source: 'ftd',
      id: 'd41e8b7a-4b7d-11ee-9c1d-0242ac120003',
      hostname: 'fw-edge-fra-2',
      remote: '203.0.113.7:51877',
      state: 'rejected',
      stateReason: 'client certificate not signed by the configured CA',
      since: '2026-11-25T08:10:40Z',
      lastBatch: '2026-11-25T07:02:40Z',
      intervalSeconds: 60,
      batches: 4,
      samples: 9_688,
      rejected: 0,
      errors: {
        auth: {
          count: 17,
          last: 'tls: client certificate signed by unknown authority (CN=fw-edge-fra-2)',
          lastAt: '2026-11-25T08:10:40Z',
        },
        streaming: { count: 1, last: 'stream reset by peer', lastAt: '2026-11-25T07:03:10Z' },
      },
    },
  ],
  counters: {
    ftd_connections_accepted: 22,
    ftd_handshakes: 5,
    ftd_handshakes_refused: 0,
    ftd_tls_handshake_failures: 17,
    ftd_batches: 80,
    ftd_batches_refused: 0,
    ftd_metrics_kept: 194_200,
    ftd_metrics_rejected: 3,
    ftd_stream_errors: 1,
    store_samples_appended: 194_200,
    store_samples_rejected: 0,
    live_frames_sent: 1_204,
  },
  settings: [
    {
      key: 'data_dir',
      value: '/var/lib/grafana/netlens',
      default: '/var/lib/grafana/netlens',
      help: 'directory for the series store (TSDB blocks and write-ahead log)',
    },
    { key: 'retention', value: '30d', default: '15d', help: 'how long samples are kept (units s, m, h, d, w)' },
    {
      key: 'allowed_networks',
      value: '198.51.100.0/24,203.0.113.0/24',
      default: '',
      help: 'comma-separated CIDRs allowed to send telemetry; empty allows every address',
    },
    {
      key: 'ftd_listen_address',
      value: ':50051',
      default: ':50051',
      help: 'FTD gRPC dial-out listener (host:port); off turns it off',
    },
    {
      key: 'ftd_tls_ca_file',
      value: '/etc/netlens/certs/ca.crt',
      default: '/etc/netlens/certs/ca.crt',
      help: "CA that signed the devices' client certificates (PEM); mutual TLS is mandatory",
    },
    {
      key: 'ftd_interval',
      value: '60s',
      default: '60s',
      help: 'streaming interval requested from devices, 60s to 24h',
    },
    {
      key: 'ftd_max_message_bytes',
      value: '4194304',
      default: '4194304',
      help: 'largest gRPC message accepted from a device',
    },
  ],
  store: {
    headSeries: 1_482,
    headMinTime: '2026-11-25T06:59:02Z',
    headMaxTime: '2026-11-25T08:14:02Z',
    rejected: { outOfOrder: 0, tooOld: 0 },
  },
  live: { subscriptions: 2, dropped: 0 },
};

/**
 * Answers every resource the editors read (catalog, devices, status) and a
 * stream cancellation from
 * the demo data above, narrowing metrics by family and labels by metric.
 */
export const demoHandler: ResourceHandler = (path, params) => {
  switch (path) {
    case 'catalog/families':
      return { families: params.source === 'ipfix' ? [] : DEMO_FAMILIES };
    case 'catalog/metrics':
      if (params.source === 'ipfix') {
        return { metrics: DEMO_IPFIX_METRICS };
      }
      return { metrics: DEMO_METRICS.filter((m) => !params.family || m.family === params.family) };
    case 'records/fields':
      return DEMO_FLOW_FIELDS;
    case 'records/values':
      return (FLOW_VALUES[String(params.field)] ?? []).filter((v) => v.startsWith(String(params.prefix ?? '')));
    case 'ipfix/exporters':
      return DEMO_EXPORTERS;
    case 'xr/routers':
    case 'xr/paths':
    case 'xr/leaves':
      return xrHandler(path, params);
    case 'catalog/labels': {
      if (params.source === 'ipfix') {
        return { labels: Object.keys(IPFIX_LABELS) };
      }
      const family = DEMO_METRICS.find((m) => m.name === params.metric)?.family;
      return { labels: family ? FAMILY_LABELS[family] : Object.keys(DEMO_LABELS) };
    }
    case 'catalog/label-values':
      if (params.source === 'ipfix') {
        return { values: IPFIX_LABELS[String(params.label)] ?? [] };
      }
      return { values: DEMO_LABELS[String(params.label)] ?? [] };
    case 'devices':
      return {
        devices: DEMO_STATUS.devices.map((d) => ({ source: d.source, id: d.id, hostname: d.hostname, state: d.state })),
      };
    case 'status':
      return DEMO_STATUS;
    case 'devices/cancel':
      // The demo device acknowledges; its state stays as above, the demo is a snapshot.
      return { cancelled: params.id };
    default:
      throw new Error(`unexpected resource ${path}`);
  }
};
