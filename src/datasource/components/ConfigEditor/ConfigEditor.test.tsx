import React, { useState } from 'react';
import { act, render, renderHook, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { dataSourceSettings, fakeDataSource } from '../../testing/fakeDataSource';
import { ExporterStatus, NetlensOptions, StatusResponse } from '../../types';
import { ConfigEditor } from './ConfigEditor';
import { useStatus } from '../Status/useStatus';

const STATUS: StatusResponse = {
  listeners: [
    { name: 'ftd', network: 'tcp', address: ':50051', bound: '[::]:50051', since: '2026-11-25T07:00:00Z' },
    {
      name: 'xr',
      network: 'udp',
      address: ':57500',
      error: 'listen udp :57500: address already in use',
      since: '2026-11-25T07:00:00Z',
    },
  ],
  devices: [
    {
      source: 'ftd',
      id: 'a1b2',
      hostname: 'fw-edge-1',
      remote: '192.0.2.10:40122',
      state: 'connected',
      stateReason: '',
      since: '2026-11-25T07:01:00Z',
      lastBatch: '2026-11-25T07:59:00Z',
      intervalSeconds: 60,
      batches: 58,
      samples: 12345,
      rejected: 2,
      errors: {
        invalid_argument: { count: 2, last: 'metric without name', lastAt: '2026-11-25T07:30:00Z' },
        auth: { count: 0, last: '', lastAt: '' },
      },
    },
    {
      source: 'ftd',
      id: 'ffee',
      hostname: '',
      remote: '192.0.2.11:40100',
      state: 'rejected',
      stateReason: 'client certificate not signed by the configured CA',
      since: '2026-11-25T07:02:00Z',
      lastBatch: '',
      intervalSeconds: 0,
      batches: 0,
      samples: 0,
      rejected: 0,
    },
  ],
  counters: { ftd_batches_total: 58 },
  settings: [
    { key: 'ftd_listen', value: ':50051', default: ':50051', help: 'FTD gRPC dial-out address' },
    { key: 'retention', value: '7d', default: '15d', help: 'How long series are kept' },
  ],
  store: { headSeries: 321, headMaxTime: '2026-11-25T07:59:00Z', rejected: { outOfOrder: 4, tooOld: 0 } },
  live: { Subscriptions: 2, Dropped: 0 },
  problems: ['xr_listen: address already in use'],
};

let statusAnswer: () => StatusResponse = () => STATUS;
let exportersAnswer: () => ExporterStatus[] = () => [];
const { ds, calls } = fakeDataSource((path) => {
  if (path === 'ipfix/exporters') {
    return exportersAnswer();
  }
  if (path !== 'status') {
    throw new Error(`unexpected ${path}`);
  }
  return statusAnswer();
});

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ get: async () => ds }),
}));

function renderEditor(jsonData: NetlensOptions = {}) {
  const changes: NetlensOptions[] = [];
  function Harness() {
    const [options, setOptions] = useState(dataSourceSettings(jsonData));
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          changes.push(o.jsonData);
          setOptions(o);
        }}
      />
    );
  }
  render(<Harness />);
  return changes;
}

beforeEach(() => {
  statusAnswer = () => STATUS;
  exportersAnswer = () => [];
  calls.length = 0;
});

describe('ConfigEditor', () => {
  it('shows listeners, devices with their errors, and where each process setting is configured', async () => {
    renderEditor();

    const listeners = await screen.findByRole('table', { name: 'Listeners' });
    const rows = within(listeners).getAllByRole('row');
    expect(rows[1]).toHaveTextContent(':50051/tcp');
    expect(rows[1]).toHaveTextContent('listening on [::]:50051');
    expect(rows[2]).toHaveTextContent('not listening');
    expect(rows[2]).toHaveTextContent('listen udp :57500: address already in use');

    const devices = screen.getByRole('table', { name: 'Devices' });
    const fw1 = within(devices).getByText('fw-edge-1').closest('tr')!;
    expect(fw1).toHaveTextContent('connected');
    expect(fw1).toHaveTextContent('60 s');
    expect(fw1).toHaveTextContent('12345');
    expect(fw1).toHaveTextContent('invalid_argument: 2');
    expect(fw1).not.toHaveTextContent('auth:');
    const rejected = within(devices).getByText('ffee').closest('tr')!;
    expect(rejected).toHaveTextContent('rejected');
    expect(rejected).toHaveTextContent('client certificate not signed by the configured CA');

    const s = screen.getByRole('table', { name: 'Process settings' });
    const retention = within(s).getByText('retention').closest('tr')!;
    expect(retention).toHaveTextContent('GF_PLUGIN_RETENTION');
    expect(retention).toHaveTextContent('7d');
    expect(retention).toHaveTextContent('15d');
    expect(screen.getByText('[plugin.netlens-telemetry-datasource]')).toBeInTheDocument();
    expect(screen.getByText('xr_listen: address already in use')).toBeInTheDocument();
  });

  it('shows nested store figures flattened', async () => {
    renderEditor();
    await screen.findByRole('table', { name: 'Listeners' });
    await userEvent.click(screen.getByRole('button', { name: 'Expand section Store' }));
    const store = screen.getByRole('table', { name: 'Store' });
    expect(within(store).getByText('rejected.outOfOrder').closest('tr')).toHaveTextContent('4');
    expect(within(store).getByText('headSeries').closest('tr')).toHaveTextContent('321');
  });

  it('saves the live default and the device restriction in jsonData', async () => {
    const changes = renderEditor({ devices: ['not-yet-seen'] });
    await screen.findByRole('table', { name: 'Devices' });

    await userEvent.click(screen.getByRole('switch', { name: 'Live by default' }));
    expect(changes[changes.length - 1]).toEqual({ devices: ['not-yet-seen'], liveEnabledByDefault: true });

    await userEvent.click(screen.getByRole('combobox', { name: 'Devices' }));
    // The hostname is the option's name, the id its description.
    const option = await screen.findByRole('option', { name: /fw-edge-1/ });
    expect(option).toHaveTextContent('connected · a1b2');
    await userEvent.click(option);
    expect(changes[changes.length - 1]).toEqual({ devices: ['not-yet-seen', 'a1b2'], liveEnabledByDefault: true });
  });

  it('offers IPFIX exporters for the device restriction, by their device', async () => {
    exportersAnswer = () => [
      {
        device: '192.0.2.7/0',
        address: '192.0.2.7:50000',
        transport: 'udp',
        odid: 0,
        state: 'losing',
      } as ExporterStatus,
    ];
    const changes = renderEditor();
    await screen.findByRole('table', { name: 'IPFIX exporters' });
    await userEvent.click(screen.getByRole('combobox', { name: 'Devices' }));
    const option = await screen.findByRole('option', { name: /192\.0\.2\.7\/0/ });
    expect(option).toHaveTextContent('IPFIX exporter · losing');
    await userEvent.click(option);
    expect(changes[changes.length - 1]).toEqual({ devices: ['192.0.2.7/0'] });
  });

  it('says so when the status cannot be read', async () => {
    statusAnswer = () => {
      throw { data: { message: 'plugin unavailable' } };
    };
    renderEditor();
    expect(await screen.findByText('plugin unavailable')).toBeInTheDocument();
    expect(screen.queryByRole('table', { name: 'Listeners' })).not.toBeInTheDocument();
  });
});

describe('useStatus', () => {
  it('reads the status again while mounted and stops when unmounted', async () => {
    let n = 0;
    statusAnswer = () => ({ ...STATUS, counters: { reads: ++n } });
    const { result, unmount } = renderHook(() => useStatus('netlens-test', 30));
    await waitFor(() => expect(result.current.status?.counters.reads).toBeGreaterThanOrEqual(3));
    unmount();
    const after = calls.length;
    await act(() => new Promise((r) => setTimeout(r, 120)));
    expect(calls.length).toBe(after);
  });

  it('keeps the last good status beside a new error', async () => {
    let fail = false;
    statusAnswer = () => {
      if (fail) {
        throw new Error('timeout');
      }
      return STATUS;
    };
    const { result, unmount } = renderHook(() => useStatus('netlens-test', 30));
    await waitFor(() => expect(result.current.status).toBeDefined());
    fail = true;
    await waitFor(() => expect(result.current.error).toBe('timeout'));
    expect(result.current.status).toBe(STATUS);
    unmount();
  });
});

describe('INT switch names', () => {
  it('saves id=name lines in jsonData and counts the switches named', async () => {
    const changes = renderEditor({ liveEnabledByDefault: true });
    const names = screen.getByRole('textbox', { name: /^Switch names/ });
    await userEvent.type(names, '0x0000000a=leaf1{Enter}20=spine1{Enter}192.0.2.40=edge-7');
    // Saved once, when the field is left, not at every key.
    expect(changes).toEqual([]);
    await userEvent.tab();
    expect(changes).toEqual([
      { liveEnabledByDefault: true, intSwitchNames: '0x0000000a=leaf1\n20=spine1\n192.0.2.40=edge-7' },
    ]);
    expect(screen.getByTestId('netlens-int-switch-names-count')).toHaveTextContent('3 switches named');
  });

  it('names the entries the backend would not read', async () => {
    renderEditor({ intSwitchNames: '0x0000000a=leaf1, spine1, 0xZZ=x' });
    expect(screen.getByRole('textbox', { name: /^Switch names/ })).toHaveValue('0x0000000a=leaf1, spine1, 0xZZ=x');
    expect(screen.getByText('Not of the form id=name: spine1, 0xZZ=x')).toBeInTheDocument();
  });
});
