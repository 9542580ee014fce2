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
  ],
  labels: ['device', 'hostname', 'interface'],
  values: {
    device: ['a1b2', 'c3d4'],
    hostname: ['fw-edge-1', 'fw-edge-2'],
    interface: ['GigabitEthernet0/0', 'GigabitEthernet0/1'],
  } as Record<string, string[]>,
};

/** Answers the catalog resources the way the backend does, narrowing metrics by family. */
export const catalogHandler: ResourceHandler = (path, params) => {
  switch (path) {
    case 'catalog/families':
      return { families: CATALOG.families };
    case 'catalog/metrics':
      return { metrics: CATALOG.metrics.filter((m) => !params.family || m.family === params.family) };
    case 'catalog/labels':
      return { labels: CATALOG.labels };
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
