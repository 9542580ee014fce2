import React from 'react';
import { render, screen, waitFor, within } from '@testing-library/react';

import { FTD_LISTENER, StatusPage, statusBackend } from '../../testing/statusBackend';
import { ExporterStatus, ListenerStatus } from '../../types';
import { sortExporters } from './Exporters';

const UDP: ListenerStatus = { name: 'ipfix-udp', network: 'udp', address: ':4739', bound: '[::]:4739', since: '' };
const TCP: ListenerStatus = {
  name: 'ipfix-tcp',
  network: 'tcp',
  address: ':2055',
  bound: '',
  error: 'listen tcp :2055: bind: address already in use',
  since: '',
};

function exporter(device: string, patch: Partial<ExporterStatus> = {}): ExporterStatus {
  return {
    device,
    address: `${device.split('/')[0]}:50000`,
    transport: 'udp',
    odid: Number(device.split('/')[1]),
    templates: [256, 257],
    optionsTemplates: [258],
    records: 120_000,
    recordsPerSec: 2000,
    bytesPerSec: 1_500_000,
    lostRecords: 0,
    heldRecords: 0,
    drops: {},
    samplingRate: 1,
    lastSeenMs: Date.now() - 2000,
    state: 'ok',
    ...patch,
  };
}

let listeners: ListenerStatus[] = [FTD_LISTENER, UDP, TCP];
let exporters: ExporterStatus[] | Error = [];

const { ds } = statusBackend(() => ({ status: { listeners }, sections: { 'ipfix/exporters': exporters } }), 500);

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ get: async () => ds }),
}));

beforeEach(() => {
  listeners = [FTD_LISTENER, UDP, TCP];
  exporters = [];
});

describe('IPFIX exporters in the status', () => {
  it('lists each exporter with templates, rates, losses, held records, drops and sampling, trouble first', async () => {
    exporters = [
      exporter('192.0.2.7/0', { samplingRate: 512 }),
      exporter('192.0.2.9/256', {
        state: 'losing',
        lostRecords: 4_210,
        heldRecords: 37,
        drops: { queue_full: 12, 'malformed:bad_set_length': 3, socket_overflow: 0 },
      }),
      exporter('198.51.100.4/1', {
        state: 'stopped',
        version: 9,
        recordsPerSec: 0,
        bytesPerSec: 0,
        templates: [],
        lostRecords: 0,
        lostPackets: 2,
      }),
    ];
    render(<StatusPage />);
    const table = await screen.findByRole('table', { name: 'IPFIX exporters' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[0].firstChild?.textContent)).toEqual([
      '192.0.2.9/256',
      '198.51.100.4/1',
      '192.0.2.7/0',
    ]);

    const [losing, stopped, ok] = rows;
    expect(losing).toHaveClass('state-losing');
    expect(stopped).toHaveClass('state-stopped');
    expect(ok).not.toHaveClass('state-losing');
    expect(within(losing).getByText('losing')).toBeInTheDocument();
    expect(within(losing).getByText('4,210')).toHaveClass('error');
    expect(within(losing).getByText('37')).toBeInTheDocument();
    expect(within(losing).getByText('malformed:bad_set_length: 3')).toBeInTheDocument();
    expect(within(losing).getByText('queue_full: 12')).toBeInTheDocument();
    expect(within(losing).queryByText(/socket_overflow/)).not.toBeInTheDocument();
    expect(within(ok).getByText('256, 257')).toBeInTheDocument();
    expect(within(ok).getByText('options 258')).toBeInTheDocument();
    expect(within(ok).getByText('1:512')).toBeInTheDocument();
    expect(within(ok).getByText('1.5 MB/s')).toBeInTheDocument();
    // NetFlow v9 loses packets, not records; said under the records.
    expect(within(stopped).getByText('2 packets')).toBeInTheDocument();
    expect(within(stopped).getByText(/NetFlow v9, domain 1/)).toBeInTheDocument();
    // No template in use any more: the templates cell says so.
    expect(within(stopped).getAllByRole('cell')[2]).toHaveTextContent(/^noneoptions 258$/);

    expect(
      screen.getByText(/192\.0\.2\.9\/256 is losing export packets; 198\.51\.100\.4\/1 stopped sending/)
    ).toBeInTheDocument();
  });

  it('shows where IPFIX listens, a listener that could not bind, and that nothing has arrived', async () => {
    render(<StatusPage />);
    const line = await screen.findByLabelText('IPFIX listeners');
    expect(line).toHaveTextContent('udp [::]:4739');
    expect(line).toHaveTextContent('tcp :2055');
    expect(within(line).getByText('not listening')).toBeInTheDocument();
    expect(screen.getByText('No IPFIX exporter has sent anything yet.')).toBeInTheDocument();
  });

  it('keeps the rest of the status when the exporters cannot be read', async () => {
    exporters = new Error('ipfix receiver not running');
    render(<StatusPage />);
    expect(await screen.findByText('ipfix receiver not running')).toBeInTheDocument();
    expect(screen.getByRole('table', { name: 'Listeners' })).toBeInTheDocument();
  });

  it('has no IPFIX part on a collector without IPFIX', async () => {
    listeners = [FTD_LISTENER];
    exporters = new Error('404 not found');
    render(<StatusPage />);
    await screen.findByRole('table', { name: 'Listeners' });
    await waitFor(() => expect(screen.queryByText('IPFIX exporters')).not.toBeInTheDocument());
    expect(screen.queryByText('404 not found')).not.toBeInTheDocument();
  });
});

describe('sortExporters', () => {
  it('orders losing, then stopped, then ok, and devices numerically within a state', () => {
    const sorted = sortExporters([
      exporter('10.0.0.10/0'),
      exporter('10.0.0.9/0'),
      exporter('10.0.0.2/0', { state: 'stopped' }),
      exporter('10.0.0.3/0', { state: 'losing' }),
    ]);
    expect(sorted.map((e) => e.device)).toEqual(['10.0.0.3/0', '10.0.0.2/0', '10.0.0.9/0', '10.0.0.10/0']);
  });
});
