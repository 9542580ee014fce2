import { DataSourceInstanceSettings, DataSourceSettings, PluginType } from '@grafana/data';
import { getTemplateSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { DataSource } from '../datasource';
import { NetlensOptions } from '../types';
import { FakeTemplateSrv } from './fakeTemplateSrv';

export function instanceSettings(jsonData: NetlensOptions = {}): DataSourceInstanceSettings<NetlensOptions> {
  return {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- still a required field of the type
    id: 1,
    uid: 'netlens-test',
    type: 'netlens-telemetry-datasource',
    name: 'Netlens',
    access: 'proxy',
    readOnly: false,
    jsonData,
    meta: {
      id: 'netlens-telemetry-datasource',
      name: 'Netlens',
      type: PluginType.datasource,
      module: '',
      baseUrl: '',
      info: {
        author: { name: 'Netlens' },
        description: '',
        links: [],
        logos: { small: '', large: '' },
        screenshots: [],
        updated: '',
        version: '',
      },
    },
  };
}

/** The settings a ConfigEditor edits, as Grafana hands them over. */
export function dataSourceSettings(
  jsonData: NetlensOptions = {},
  overrides: Partial<DataSourceSettings<NetlensOptions>> = {}
): DataSourceSettings<NetlensOptions> {
  return {
    id: 1,
    uid: 'netlens-test',
    orgId: 1,
    name: 'Netlens',
    type: 'netlens-telemetry-datasource',
    typeName: 'Netlens',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- still a required field of the type
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData,
    secureJsonFields: {},
    readOnly: false,
    withCredentials: false,
    ...overrides,
  };
}

export type ResourceHandler = (path: string, params: Record<string, unknown>) => unknown;

/**
 * A data source whose backend resources answer from handler; every call is
 * recorded so tests can check what was asked.
 */
export function fakeDataSource(handler: ResourceHandler, jsonData: NetlensOptions = {}) {
  // Inside Grafana a template service always exists; tests that do not bring
  // their own get one without variables.
  if (!getTemplateSrv()) {
    setTemplateSrv(new FakeTemplateSrv() as unknown as TemplateSrv);
  }
  const ds = new DataSource(instanceSettings(jsonData));
  const calls: Array<{ path: string; params: Record<string, unknown>; method?: 'POST' }> = [];
  jest.spyOn(ds, 'getResource').mockImplementation(async (path: string, params?: unknown) => {
    const p = (params ?? {}) as Record<string, unknown>;
    calls.push({ path, params: p });
    return handler(path, p);
  });
  // A POST's query parameters come in the request options, as with Grafana's
  // backendSrv; the handler sees them like a GET's.
  jest.spyOn(ds, 'postResource').mockImplementation(async (path: string, _data?: unknown, options?: unknown) => {
    const p = ((options as { params?: Record<string, unknown> } | undefined)?.params ?? {}) as Record<string, unknown>;
    calls.push({ path, params: p, method: 'POST' });
    return handler(path, p);
  });
  return { ds, calls };
}

/** A catalog like the backend's, for editors and variable queries. */
export const CATALOG = {
  families: ['cpu', 'interface', 'memory'],
  metrics: [
    { name: 'ftd_cpu_cpu_utilisation', family: 'cpu', kind: 'gauge', help: 'CPU load in percent' },
    { name: 'ftd_interface_input_bytes', family: 'interface', kind: 'counter', help: 'Bytes received' },
    { name: 'ftd_interface_output_bytes', family: 'interface', kind: 'counter', help: 'Bytes sent' },
    { name: 'ftd_memory_used_percent', family: 'memory', kind: 'gauge', help: '' },
    { name: 'ipfix_bytes_total', family: '', kind: 'counter', help: 'Flow bytes, sampling scaled in' },
    { name: 'ipfix_packets_total', family: '', kind: 'counter', help: 'Flow packets, sampling scaled in' },
    { name: 'ipfix_flows_total', family: '', kind: 'counter', help: 'Flow records' },
  ],
  labels: ['device', 'hostname', 'interface'],
  values: {
    device: ['a1b2', 'c3d4'],
    hostname: ['fw-edge-1', 'fw-edge-2'],
    interface: ['GigabitEthernet0/0', 'GigabitEthernet0/1'],
    protocol: ['tcp', 'udp', 'icmp'],
    application: ['http', 'dns', 'other', 'unknown'],
  } as Record<string, string[]>,
};

/** The ipfix_flow table's columns as records/fields lists them (contract section 4). */
export const FLOW_FIELDS = [
  { name: 'time', type: 'time', rows: 1200 },
  { name: 'exporter', type: 'string', rows: 1200 },
  { name: 'src_addr', type: 'addr', rows: 1200 },
  { name: 'dst_addr', type: 'addr', rows: 1200 },
  { name: 'src_port', type: 'uint', rows: 1100 },
  { name: 'dst_port', type: 'uint', rows: 1100 },
  { name: 'protocol', type: 'uint', rows: 1200 },
  { name: 'bytes', type: 'uint', rows: 1200 },
  { name: 'packets', type: 'uint', rows: 1200 },
  { name: 'application', type: 'string', rows: 800 },
  { name: 'rtt', type: 'uint', rows: 300 },
];

/** Values of the flow fields, most frequent first as records/values answers. */
export const FLOW_VALUES: Record<string, string[]> = {
  exporter: ['192.0.2.7/0', '192.0.2.9/256'],
  src_addr: ['10.0.0.1', '10.0.0.2', '10.1.0.9', '2001:db8::1'],
  dst_addr: ['192.0.2.80', '198.51.100.53'],
  protocol: ['6', '17', '1'],
  application: ['http', 'dns', 'tls'],
};

/** Answers the catalog resources the way the backend does, narrowing metrics by family. */
export const catalogHandler: ResourceHandler = (path, params) => {
  switch (path) {
    case 'catalog/families':
      return { families: CATALOG.families };
    case 'catalog/metrics':
      return {
        metrics: CATALOG.metrics.filter(
          (m) =>
            (!params.family || m.family === params.family) && (!params.source || m.name.startsWith(`${params.source}_`))
        ),
      };
    case 'records/fields':
      return FLOW_FIELDS;
    case 'records/values':
      return (FLOW_VALUES[String(params.field)] ?? []).filter((v) => v.startsWith(String(params.prefix ?? '')));
    case 'catalog/labels':
      return { labels: params.source === 'ipfix' ? ['application', 'device', 'protocol'] : CATALOG.labels };
    case 'catalog/label-values':
      return { values: CATALOG.values[String(params.label)] ?? [] };
    case 'devices':
      return {
        devices: [
          { source: 'ftd', id: 'a1b2', hostname: 'fw-edge-1', state: 'connected' },
          { source: 'ftd', id: 'c3d4', hostname: '', state: 'disconnected' },
        ],
      };
    default:
      throw new Error(`unexpected resource ${path}`);
  }
};
