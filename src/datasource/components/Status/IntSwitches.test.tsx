import React from 'react';
import { render, screen, waitFor, within } from '@testing-library/react';

import { FTD_LISTENER, SLOW, StatusPage, statusBackend } from '../../testing/statusBackend';
import { INT_SWITCHES, LEAF1, NO_ID, SPINE1 } from '../../testing/intFixtures';
import { IntSwitch, ListenerStatus } from '../../types';
import { reportsText, sortSwitches } from './IntSwitches';

const INT_UDP: ListenerStatus = { name: 'int-udp', network: 'udp', address: ':31337', bound: '[::]:31337', since: '' };

let listeners: ListenerStatus[] = [];
let switches: IntSwitch[] | Error = [];

const { ds } = statusBackend(() => ({
  status: { listeners },
  sections: { 'ipfix/exporters': [], 'xr/routers': [], 'int/switches': switches },
}));

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ get: async () => ds }),
}));

beforeEach(() => {
  listeners = [FTD_LISTENER, INT_UDP];
  switches = [];
});

describe('INT switches in the status', () => {
  it('lists each switch by name with reports by type, lost reports, drops by reason, versions and state, trouble first', async () => {
    switches = INT_SWITCHES;
    render(<StatusPage />);
    const table = await screen.findByRole('table', { name: 'INT switches' }, SLOW);
    const rows = within(table).getAllByRole('row').slice(1);
    // Stopped first, then losing, then the others by name.
    expect(rows.map((r) => within(r).getAllByRole('cell')[0].firstChild?.textContent)).toEqual([
      'leaf2',
      SPINE1,
      NO_ID,
      'leaf1',
    ]);
    const [leaf2, spine, noId, leaf1] = rows;
    expect(leaf2).toHaveClass('state-stopped');
    expect(within(leaf2).getByText('stopped')).toBeInTheDocument();
    expect(spine).toHaveClass('state-losing');
    expect(within(spine).getByText('losing')).toBeInTheDocument();
    expect(within(spine).getByText('77')).toBeInTheDocument();
    expect(within(spine).getByText('ins_cnt_mismatch: 5')).toBeInTheDocument();
    expect(within(spine).getByText('truncated: 2')).toBeInTheDocument();
    expect(within(spine).getByText('0.5, 1.0')).toBeInTheDocument();
    expect(within(spine).getByText(/^ins_cnt_mismatch at offset 54/)).toBeInTheDocument();
    expect(within(spine).getByText('drop 310 · queue 1,204')).toBeInTheDocument();
    // A named switch shows its id and address under the name.
    expect(within(leaf1).getByText(`${LEAF1} · 192.0.2.10:40001`)).toBeInTheDocument();
    expect(within(leaf1).getByText('flow 120 · int 48,211 · drop 4 · queue 9')).toBeInTheDocument();
    expect(leaf1).not.toHaveClass('state-losing');
    expect(within(leaf1).getByText('none')).toBeInTheDocument();
    expect(within(noId).getByText('192.0.2.40:50000')).toBeInTheDocument();
  });

  it('shows where INT listens and that nothing has arrived', async () => {
    render(<StatusPage />);
    const line = await screen.findByLabelText('INT listeners', {}, SLOW);
    expect(line).toHaveTextContent('udp [::]:31337');
    expect(screen.getByText(/No INT switch has sent a report yet: .* UDP port 31337/)).toBeInTheDocument();
  });

  it('keeps the rest of the status when the switches cannot be read', async () => {
    switches = new Error('the INT receiver is off');
    render(<StatusPage />);
    expect(await screen.findByText('the INT receiver is off', {}, SLOW)).toBeInTheDocument();
    expect(screen.getByRole('table', { name: 'Listeners' })).toBeInTheDocument();
  });

  it('has no INT part on a collector without INT', async () => {
    listeners = [FTD_LISTENER];
    switches = new Error('the INT receiver is off');
    render(<StatusPage />);
    await screen.findByRole('table', { name: 'Listeners' }, SLOW);
    await waitFor(() => expect(screen.queryByText('INT switches')).not.toBeInTheDocument());
    expect(screen.queryByText('the INT receiver is off')).not.toBeInTheDocument();
  });
});

describe('helpers', () => {
  it('orders report types flow first and counts none as none', () => {
    expect(reportsText({ queue: 1, flow: 2, postcard: 0, custom: 3 })).toBe('flow 2 · queue 1 · custom 3');
    expect(reportsText(undefined)).toBe('none');
  });

  it('sorts by trouble, then by name with numbers in order', () => {
    const base = INT_SWITCHES[0];
    const named = (name: string, state = 'ok'): IntSwitch => ({ ...base, device: name, name, state });
    expect(sortSwitches([named('leaf10'), named('leaf2'), named('leaf9', 'stopped')]).map((s) => s.name)).toEqual([
      'leaf9',
      'leaf2',
      'leaf10',
    ]);
  });
});
