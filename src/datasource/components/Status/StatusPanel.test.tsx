import React from 'react';
import { OrgRole } from '@grafana/data';
import { config } from '@grafana/runtime';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fakeDataSource } from '../../testing/fakeDataSource';
import { DeviceStatus, StatusResponse } from '../../types';
import { StatusPanel } from './StatusPanel';
import { useStatus } from './useStatus';

const FW1 = '9f1c6a2e-4b7d-11ee-8a3c-0242ac120002';
const FW2 = '5d2e8b10-4b7e-11ee-8a3c-0242ac120002';

function device(id: string, hostname: string, patch: Partial<DeviceStatus> = {}): DeviceStatus {
  return {
    source: 'ftd',
    id,
    hostname,
    remote: '192.0.2.10:40122',
    state: 'connected',
    stateReason: '',
    since: '2026-11-25T07:01:00Z',
    lastBatch: '2026-11-25T07:59:00Z',
    intervalSeconds: 60,
    batches: 58,
    samples: 12345,
    rejected: 0,
    ...patch,
  };
}

function status(devices: DeviceStatus[]): StatusResponse {
  return { listeners: [], devices, counters: {}, settings: [] } as unknown as StatusResponse;
}

// One device streaming, one gone; after a cancel the collector reports the
// first one disconnected.
const BEFORE = status([device(FW1, 'fw-edge-1'), device(FW2, 'fw-edge-2', { state: 'disconnected' })]);
const AFTER = status([
  device(FW1, 'fw-edge-1', { state: 'disconnected', stateReason: 'stream cancelled by the collector' }),
  device(FW2, 'fw-edge-2', { state: 'disconnected' }),
]);

let current = BEFORE;
let cancelAnswer: (id: string) => Promise<unknown> = async (id) => ({ cancelled: id });

const { ds, calls } = fakeDataSource((path, params) => {
  switch (path) {
    case 'status':
      return current;
    case 'devices/cancel':
      return cancelAnswer(String(params.id));
    default:
      throw new Error(`unexpected ${path}`);
  }
});

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ get: async () => ds }),
}));

function signInAs(orgRole: OrgRole) {
  config.bootData = { ...config.bootData, user: { ...config.bootData?.user, orgRole } };
}

// The panel the way the config page and the app page mount it; the timer is
// long so that only the panel's own refresh reads the status again.
function Page() {
  return <StatusPanel state={useStatus('netlens-test', 60_000)} />;
}

async function deviceRow(hostname: string) {
  const table = await screen.findByRole('table', { name: 'Devices' });
  const row = within(table)
    .getAllByRole('row')
    .find((r) => r.textContent?.includes(hostname));
  expect(row).toBeDefined();
  return row!;
}

const statusReads = () => calls.filter((c) => c.path === 'status').length;
const cancels = () => calls.filter((c) => c.path === 'devices/cancel');

beforeEach(() => {
  current = BEFORE;
  cancelAnswer = async (id) => ({ cancelled: id });
  calls.length = 0;
  signInAs(OrgRole.Admin);
});

describe('Cancel stream', () => {
  it('is not offered to an Editor or a Viewer', async () => {
    for (const role of [OrgRole.Editor, OrgRole.Viewer]) {
      signInAs(role);
      const { unmount } = render(<Page />);
      await deviceRow('fw-edge-1');
      expect(screen.queryByRole('button', { name: 'Cancel stream' })).not.toBeInTheDocument();
      expect(screen.queryByRole('columnheader', { name: 'Actions' })).not.toBeInTheDocument();
      unmount();
    }
  });

  it('is offered to an Admin for a connected FTD device only', async () => {
    current = status([
      device(FW1, 'fw-edge-1'),
      device(FW2, 'fw-edge-2', { state: 'disconnected' }),
      device('c3d4', 'fw-lab-9', { state: 'rejected', stateReason: 'certificate not signed by the CA' }),
      device('r1', 'xr-core-1', { source: 'xr' }),
    ]);
    render(<Page />);
    expect(within(await deviceRow('fw-edge-1')).getByRole('button', { name: 'Cancel stream' })).toBeInTheDocument();
    expect(screen.getByRole('columnheader', { name: 'Actions' })).toBeInTheDocument();
    for (const other of ['fw-edge-2', 'fw-lab-9', 'xr-core-1']) {
      expect(within(await deviceRow(other)).queryByRole('button')).not.toBeInTheDocument();
    }
  });

  it('has no column when no device can be cancelled', async () => {
    current = AFTER;
    render(<Page />);
    await deviceRow('fw-edge-1');
    expect(screen.queryByRole('columnheader', { name: 'Actions' })).not.toBeInTheDocument();
  });

  it('asks first, then cancels that device and reads the status again', async () => {
    render(<Page />);
    const row = await deviceRow('fw-edge-1');
    await userEvent.click(within(row).getByRole('button', { name: 'Cancel stream' }));
    expect(cancels()).toHaveLength(0);

    const confirm = within(row).getByRole('button', { name: /stop; it retries in ~5 min/i });
    const readsBefore = statusReads();
    current = AFTER;
    await userEvent.click(confirm);

    await waitFor(() => expect(cancels()).toEqual([{ path: 'devices/cancel', params: { id: FW1 }, method: 'POST' }]));
    await waitFor(() => expect(statusReads()).toBeGreaterThan(readsBefore));
    const after = await deviceRow('fw-edge-1');
    await waitFor(() => expect(after).toHaveTextContent('disconnected'));
    expect(screen.queryByRole('button', { name: 'Cancel stream' })).not.toBeInTheDocument();
  });

  it('shows a spinner while the device has not acknowledged', async () => {
    let acknowledge: () => void = () => {};
    cancelAnswer = (id) =>
      new Promise((resolve) => {
        acknowledge = () => resolve({ cancelled: id });
      });
    render(<Page />);
    const row = await deviceRow('fw-edge-1');
    await userEvent.click(within(row).getByRole('button', { name: 'Cancel stream' }));
    await userEvent.click(within(row).getByRole('button', { name: /^stop; it retries/i }));

    expect(await within(row).findByRole('status')).toHaveTextContent('Cancelling…');
    expect(within(row).queryByRole('button', { name: 'Cancel stream' })).not.toBeInTheDocument();
    current = AFTER;
    acknowledge();
    await waitFor(() => expect(within(row).queryByRole('status')).not.toBeInTheDocument());
  });

  it("shows the backend's error beside the device and offers the action again", async () => {
    cancelAnswer = async () => {
      // The shape of Grafana's fetch error for a resource that answered 409.
      throw { status: 409, data: { error: `device ${FW1} did not acknowledge the cancellation` } };
    };
    render(<Page />);
    const row = await deviceRow('fw-edge-1');
    const reads = statusReads();
    await userEvent.click(within(row).getByRole('button', { name: 'Cancel stream' }));
    await userEvent.click(within(row).getByRole('button', { name: /^stop; it retries/i }));

    expect(await within(row).findByRole('alert')).toHaveTextContent(
      `device ${FW1} did not acknowledge the cancellation`
    );
    expect(within(row).getByRole('button', { name: 'Cancel stream' })).toBeInTheDocument();
    // The table is still there: a failed cancel is not a failed status read.
    expect(screen.getByRole('table', { name: 'Devices' })).toBeInTheDocument();
    expect(statusReads()).toBe(reads);
  });

  it('clears the error when tried again', async () => {
    let fail = true;
    cancelAnswer = async (id) => {
      if (fail) {
        throw { status: 503, data: { error: 'the FTD receiver is not running' } };
      }
      return { cancelled: id };
    };
    render(<Page />);
    const row = await deviceRow('fw-edge-1');
    await userEvent.click(within(row).getByRole('button', { name: 'Cancel stream' }));
    await userEvent.click(within(row).getByRole('button', { name: /^stop; it retries/i }));
    expect(await within(row).findByRole('alert')).toHaveTextContent('the FTD receiver is not running');

    fail = false;
    await userEvent.click(within(row).getByRole('button', { name: 'Cancel stream' }));
    await userEvent.click(within(row).getByRole('button', { name: /^stop; it retries/i }));
    await waitFor(() => expect(cancels()).toHaveLength(2));
    await waitFor(() => expect(within(row).queryByRole('alert')).not.toBeInTheDocument());
  });
});
