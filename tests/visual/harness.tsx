import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { css } from '@emotion/css';
import { createTheme, getDefaultTimeRange, GrafanaTheme2, OrgRole } from '@grafana/data';
import { config, DataSourceSrv, setDataSourceSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { GlobalStyles, ThemeContext } from '@grafana/ui';

import { DataSource } from '../../src/datasource/datasource';
import { ConfigEditor } from '../../src/datasource/components/ConfigEditor/ConfigEditor';
import { QueryEditor } from '../../src/datasource/components/QueryEditor/QueryEditor';
import { VariableQueryEditor } from '../../src/datasource/components/VariableQueryEditor/VariableQueryEditor';
import { dataSourceSettings, instanceSettings } from '../../src/datasource/testing/fakeDataSource';
import { FakeTemplateSrv } from '../../src/datasource/testing/fakeTemplateSrv';
import { DEMO_STATUS, demoHandler } from '../../src/datasource/testing/demoBackend';
import type { ResourceHandler } from '../../src/datasource/testing/fakeDataSource';
import { NetlensQuery, NetlensVariableQuery, StatusResponse } from '../../src/datasource/types';

// One page shows one editor in one theme: ?editor=<name>&theme=light|dark.
// The page records every onChange in window.__changes so the screenshot
// script can tell that the editor reacted to what it clicked.

declare global {
  interface Window {
    __changes: unknown[];
    __ready?: boolean;
  }
}
window.__changes = [];

const params = new URLSearchParams(window.location.search);
const themeName = params.get('theme') === 'light' ? 'light' : 'dark';
const editorName = params.get('editor') ?? 'query-builder';
const width = Number(params.get('width') ?? 1100);

const theme = createTheme({ colors: { mode: themeName } });

// The signed-in user's role (&role=Admin|Editor|Viewer, Admin by default):
// only an Admin is offered to cancel a device's stream, and only an Admin
// can open a data source's settings in the first place.
const role = (params.get('role') as OrgRole | null) ?? OrgRole.Admin;
config.bootData = { ...config.bootData, user: { ...config.bootData?.user, orgRole: role } };

// A collector in trouble: it started with a bad setting, its listener could
// not bind, no device has connected and the store does not answer.
const TROUBLE_STATUS: StatusResponse = {
  ...DEMO_STATUS,
  listeners: [
    {
      name: 'ftd',
      network: 'tcp',
      address: ':50051',
      bound: '',
      error: 'listen tcp :50051: bind: address already in use',
      since: '2026-11-25T06:58:12Z',
    },
  ],
  devices: [],
  problems: [
    'ftd_tls_ca_file: open /etc/netlens/certs/ca.crt: no such file or directory',
    'retention_size: "4 GB" is not a size (B, KB, MB, GB, TB)',
  ],
};

const storeDown = () => {
  // The shape of Grafana's fetch error for a resource that answered 500.
  throw {
    status: 500,
    data: { error: 'series store unavailable: opening /var/lib/grafana/netlens: permission denied' },
  };
};

/** Pages whose backend answers differently from the demo one. */
const TROUBLE: Record<string, ResourceHandler> = {
  'config-trouble': (path, p) => {
    if (path === 'status') {
      return TROUBLE_STATUS;
    }
    // The IPFIX receiver is off in this collector: no listener, no exporter.
    return path === 'ipfix/exporters' ? [] : demoHandler(path, p);
  },
  'config-down': () => {
    throw { status: 502, data: { message: 'plugin unavailable' } };
  },
  'query-catalog-error': (path, p) => (path.startsWith('catalog/') ? storeDown() : demoHandler(path, p)),
  // The device has not acknowledged yet: the cancel never answers.
  'config-cancelling': (path, p) => (path === 'devices/cancel' ? new Promise(() => {}) : demoHandler(path, p)),
  'config-cancel-error': (path, p) => {
    if (path === 'devices/cancel') {
      // The shape of Grafana's fetch error for a resource that answered 409.
      throw {
        status: 409,
        data: { error: `device ${p.id} did not acknowledge the cancellation within 10s` },
      };
    }
    return demoHandler(path, p);
  },
};

setTemplateSrv(
  new FakeTemplateSrv({ device: { value: '9f1c6a2e-4b7d-11ee-8a3c-0242ac120002' } }) as unknown as TemplateSrv
);

const ds = new DataSource(instanceSettings({ devices: ['9f1c6a2e-4b7d-11ee-8a3c-0242ac120002'] }));
// The backend is the demo one; a delay, as over the network, so loading
// states are passed through as in Grafana (&latency=<ms>, 50 by default).
const latency = Number(params.get('latency') ?? 50);
ds.getResource = async <T,>(path: string, p?: unknown): Promise<T> => {
  await new Promise((r) => setTimeout(r, latency));
  const handler = TROUBLE[editorName] ?? demoHandler;
  return handler(path, (p ?? {}) as Record<string, unknown>) as T;
};
ds.postResource = async <T,>(path: string, _data?: unknown, options?: { params?: unknown }): Promise<T> => {
  await new Promise((r) => setTimeout(r, latency));
  const handler = TROUBLE[editorName] ?? demoHandler;
  return handler(path, (options?.params ?? {}) as Record<string, unknown>) as T;
};
setDataSourceSrv({ get: async () => ds } as unknown as DataSourceSrv);

const range = getDefaultTimeRange();

const BUILDER_QUERY: NetlensQuery = {
  refId: 'A',
  source: 'ftd',
  kind: 'series',
  editorMode: 'builder',
  family: 'interface',
  metric: 'ftd_interface_input_packets',
  matchers: [
    { label: 'hostname', op: '=', value: 'fw-edge-ams-1' },
    { label: 'interface', op: '=~', value: 'GigabitEthernet0/.*' },
  ],
  rate: true,
  aggregation: 'sum',
  groupBy: ['hostname', 'interface'],
  legendFormat: '{{hostname}} {{interface}}',
  format: 'time_series',
};

const CODE_QUERY: NetlensQuery = {
  refId: 'A',
  source: 'ftd',
  kind: 'series',
  editorMode: 'code',
  expr: 'sum by (hostname, interface) (rate(ftd_interface_input_packets{hostname="fw-edge-ams-1", interface=~"GigabitEthernet0/.*"}[$__rate_interval]))',
  legendFormat: '{{hostname}} {{interface}}',
  format: 'time_series',
  live: true,
};

function QueryPage({ initial }: { initial: NetlensQuery }) {
  const [query, setQuery] = useState(initial);
  return (
    <QueryEditor
      datasource={ds}
      query={query}
      range={range}
      onChange={(q) => {
        window.__changes.push(q);
        setQuery(q);
      }}
      onRunQuery={() => {}}
    />
  );
}

function ConfigPage() {
  const [options, setOptions] = useState(
    dataSourceSettings(
      { devices: ['9f1c6a2e-4b7d-11ee-8a3c-0242ac120002', 'fw-lab-9'], liveEnabledByDefault: true },
      { uid: 'netlens-visual', isDefault: true }
    )
  );
  return (
    <ConfigEditor
      options={options}
      onOptionsChange={(o) => {
        window.__changes.push(o);
        setOptions(o);
      }}
    />
  );
}

const LABEL_VALUES_VARIABLE: NetlensVariableQuery = {
  refId: 'variable',
  type: 'labelValues',
  label: 'interface',
  metric: 'ftd_interface_input_packets',
};

// The Flows overview's exporter variable.
const RECORD_VALUES_VARIABLE: NetlensVariableQuery = {
  refId: 'variable',
  type: 'recordValues',
  kind: 'records',
  recordKind: 'ipfix_flow',
  field: 'exporter',
};

function VariablePage({ initial }: { initial: NetlensVariableQuery }) {
  const [query, setQuery] = useState<NetlensVariableQuery>(initial);
  return (
    <VariableQueryEditor
      datasource={ds}
      query={query}
      onChange={(q) => {
        window.__changes.push(q);
        setQuery(q);
      }}
      onRunQuery={() => {}}
    />
  );
}

// The overview dashboard's annotation, with a hostname filter added.
const EVENTS_QUERY: NetlensQuery = {
  refId: 'Anno',
  source: 'ftd',
  kind: 'events',
  editorMode: 'builder',
  matchers: [
    { label: 'device', op: '=~', value: '$device' },
    { label: 'hostname', op: '!=', value: 'fw-lab-9' },
  ],
  eventTypes: ['connected', 'disconnected', 'rejected', 'cancelled'],
};

const NEW_QUERY: NetlensQuery = { refId: 'A', source: 'ftd', kind: 'series', editorMode: 'builder' };

// The Flows overview's volume panel, in the builder.
const IPFIX_SERIES_QUERY: NetlensQuery = {
  refId: 'A',
  source: 'ipfix',
  kind: 'series',
  editorMode: 'builder',
  metric: 'ipfix_bytes_total',
  matchers: [{ label: 'device', op: '=~', value: '$exporter' }],
  rate: true,
  aggregation: 'sum',
  groupBy: ['protocol'],
  legendFormat: '{{protocol}}',
  format: 'time_series',
};

// Top conversations of web traffic from the inside networks, per minute.
const RECORDS_QUERY: NetlensQuery = {
  refId: 'A',
  source: 'ipfix',
  kind: 'records',
  editorMode: 'builder',
  recordKind: 'ipfix_flow',
  filters: [
    { field: 'exporter', op: 'in', values: ['$exporter'] },
    { field: 'src_addr', op: 'cidr', values: ['10.20.0.0/16', '172.16.0.0/12'] },
    { field: 'dst_port', op: '=', values: ['443'] },
    { field: 'bytes', op: 'range', values: ['1500-1000000'] },
  ],
  aggregates: [{ func: 'sum', field: 'bytes' }, { func: 'p95', field: 'rtt' }, { func: 'count' }],
  groupBy: ['src_addr', 'dst_addr'],
  bucket: '1m',
  topN: 10,
  other: true,
  live: true,
};

const RAW_RECORDS_QUERY: NetlensQuery = {
  refId: 'A',
  source: 'ipfix',
  kind: 'records',
  editorMode: 'builder',
  recordKind: 'ipfix_flow',
  filters: [{ field: 'protocol', op: 'in', values: ['6', '17'] }],
  columns: ['time', 'exporter', 'src_addr', 'dst_addr', 'dst_port', 'bytes', 'application'],
  limit: 500,
};

const PAGES: Record<string, () => React.ReactElement> = {
  'query-builder': () => <QueryPage initial={BUILDER_QUERY} />,
  'query-code': () => <QueryPage initial={CODE_QUERY} />,
  // A query just added to a panel.
  'query-new': () => <QueryPage initial={NEW_QUERY} />,
  // PromQL the builder cannot show: switching to the builder warns.
  'query-no-fit': () => (
    <QueryPage
      initial={{
        ...CODE_QUERY,
        expr: 'topk(5, rate(ftd_interface_input_bytes[5m])) / on(device) group_left ftd_mem_total_bytes',
      }}
    />
  ),
  // A source the collector does not receive yet.
  'query-xr': () => <QueryPage initial={{ ...NEW_QUERY, source: 'xr' }} />,
  'query-events': () => <QueryPage initial={EVENTS_QUERY} />,
  // A new annotation: Grafana's annotation editor passes the data source's
  // annotation default under a target that does not exist yet.
  'query-events-new': () => (
    <QueryPage initial={{ ...ds.annotations?.getDefaultQuery?.(), refId: 'Anno' } as NetlensQuery} />
  ),
  'query-catalog-error': () => <QueryPage initial={{ ...BUILDER_QUERY, matchers: [] }} />,
  config: () => <ConfigPage />,
  'config-trouble': () => <ConfigPage />,
  'config-down': () => <ConfigPage />,
  'config-cancelling': () => <ConfigPage />,
  'config-cancel-error': () => <ConfigPage />,
  variable: () => <VariablePage initial={LABEL_VALUES_VARIABLE} />,
  'variable-records': () => <VariablePage initial={RECORD_VALUES_VARIABLE} />,
  'query-ipfix-series': () => <QueryPage initial={IPFIX_SERIES_QUERY} />,
  'query-records': () => <QueryPage initial={RECORDS_QUERY} />,
  'query-records-raw': () => <QueryPage initial={RAW_RECORDS_QUERY} />,
};

// The frame the editor sits in inside Grafana: panel editor queries on the
// primary background, the data source settings page on the canvas.
const getStyles = (t: GrafanaTheme2) => ({
  frame: css({
    width,
    padding: t.spacing(2),
    background: editorName.startsWith('config') ? t.colors.background.canvas : t.colors.background.primary,
    border: editorName.startsWith('config') ? 'none' : `1px solid ${t.colors.border.weak}`,
  }),
});

function App() {
  const Page = PAGES[editorName];
  const styles = getStyles(theme);
  return (
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <div id="shot" className={styles.frame}>
        {Page ? <Page /> : <p>unknown editor {editorName}</p>}
      </div>
    </ThemeContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
window.__ready = true;
