import React from 'react';
import { render, screen, waitFor, within } from '@testing-library/react';

import { FTD_LISTENER, SLOW, StatusPage, statusBackend } from '../../testing/statusBackend';
import { XR_MEMORY, XR_ROUTERS } from '../../testing/xrFixtures';
import { ListenerStatus, XrRouter, XrStatusSection } from '../../types';

const XR_TCP: ListenerStatus = { name: 'xr-tcp', network: 'tcp', address: ':57500', bound: '[::]:57500', since: '' };
const XR_GRPC: ListenerStatus = {
  name: 'xr-grpc',
  network: 'tcp',
  address: ':57000',
  bound: '',
  error: 'listen tcp :57000: bind: address already in use',
  since: '',
};

let listeners: ListenerStatus[] = [];
let xr: XrStatusSection | undefined;
let routers: XrRouter[] | Error = [];

const { ds } = statusBackend(() => ({
  status: { listeners, xr },
  sections: { 'ipfix/exporters': [], 'xr/routers': routers },
}));

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ get: async () => ds }),
}));

beforeEach(() => {
  listeners = [FTD_LISTENER, XR_TCP, XR_GRPC];
  xr = { enabled: true, silentGroups: [] };
  routers = [];
});

describe('IOS XR routers in the status', () => {
  it('lists each router with transports, encodings, drops by reason and rows without .proto by path, trouble first', async () => {
    routers = XR_ROUTERS;
    render(<StatusPage />);
    const table = await screen.findByRole('table', { name: 'IOS XR routers' }, SLOW);
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[0].firstChild?.textContent)).toEqual([
      'xr-edge-2',
      'xr-core-1',
    ]);
    const [edge, core] = rows;
    expect(edge).toHaveClass('state-losing');
    expect(core).not.toHaveClass('state-losing');
    expect(within(edge).getByText('bad_json: 3')).toBeInTheDocument();
    expect(within(edge).getByText('too_large: 1')).toBeInTheDocument();
    expect(within(edge).getByText(`${XR_MEMORY}: 12`)).toBeInTheDocument();
    expect(within(edge).getByText('tcp, udp')).toBeInTheDocument();
    expect(within(edge).getByText('mdt, pdt_udp')).toBeInTheDocument();
    expect(within(core).getByText('48,211')).toBeInTheDocument();
    expect(within(core).getAllByText('none')).toHaveLength(2);
  });

  it('says which policy groups went silent, as the health check does', async () => {
    routers = XR_ROUTERS;
    xr = {
      enabled: true,
      silentGroups: [
        { router: 'xr-core-1', policy: 'Basic', group: 'Counters', periodSeconds: 10, lastSeenMs: 1, sinceMs: 1 },
        { router: '', policy: 'Basic', group: 'Memory', periodSeconds: 300, lastSeenMs: 0, sinceMs: 1 },
      ],
    };
    render(<StatusPage />);
    expect(await screen.findByText('Policy groups are silent', {}, SLOW)).toBeInTheDocument();
    expect(
      screen.getByText('xr-core-1: policy Basic group Counters (every 10 s) silent for three periods or more')
    ).toBeInTheDocument();
    expect(screen.getByText('policy Basic group Memory (every 5 min): no router has sent it')).toBeInTheDocument();
  });

  it('shows where XR listens, a listener that could not bind, and that nothing has arrived', async () => {
    render(<StatusPage />);
    const line = await screen.findByLabelText('IOS XR listeners', {}, SLOW);
    expect(line).toHaveTextContent('tcp [::]:57500');
    expect(within(line).getByText('not listening')).toBeInTheDocument();
    expect(screen.getByText(/No IOS XR router has sent anything yet/)).toBeInTheDocument();
  });

  it('keeps the rest of the status when the routers cannot be read', async () => {
    routers = new Error('the IOS XR receiver is off');
    render(<StatusPage />);
    expect(await screen.findByText('the IOS XR receiver is off', {}, SLOW)).toBeInTheDocument();
    expect(screen.getByRole('table', { name: 'Listeners' })).toBeInTheDocument();
  });

  it('has no XR part on a collector without XR', async () => {
    listeners = [FTD_LISTENER];
    xr = { enabled: false };
    routers = new Error('the IOS XR receiver is off');
    render(<StatusPage />);
    await screen.findByRole('table', { name: 'Listeners' }, SLOW);
    await waitFor(() => expect(screen.queryByText('IOS XR routers')).not.toBeInTheDocument());
    expect(screen.queryByText('the IOS XR receiver is off')).not.toBeInTheDocument();
  });
});
