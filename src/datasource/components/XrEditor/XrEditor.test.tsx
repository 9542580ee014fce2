import React from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fakeDataSource } from '../../testing/fakeDataSource';
import { box, byValue, choose, SLOW } from '../../testing/combobox';
import { editorHarness } from '../../testing/harness';
import { XR_COUNTERS, XR_INTERFACES, XR_MEMORY, xrHandler } from '../../testing/xrFixtures';
import { NetlensQuery } from '../../types';

// Each test drives several menus through user-event in jsdom; on a busy
// 2-core machine that takes longer than the suite-wide 30 s.
jest.setTimeout(120_000);

const XR: Partial<NetlensQuery> = { source: 'xr', kind: 'series', editorMode: 'builder' };

describe('XrEditor', () => {
  it('builds a series query from router, path and a counter leaf, rate on, with key filters and grouping', async () => {
    const { ds, calls } = fakeDataSource(xrHandler);
    const { Harness, rec } = editorHarness(ds, XR);
    render(<Harness />);

    await choose('Router', 'xr-core-1');
    expect(rec.current().matchers).toEqual([{ label: 'device', op: '=', value: 'xr-core-1' }]);
    // The paths narrow to what the router sent.
    await waitFor(() =>
      expect(calls.filter((c) => c.path === 'xr/paths').map((c) => c.params.device ?? null)).toEqual([
        null,
        'xr-core-1',
      ])
    );

    await choose('Path', XR_COUNTERS);
    expect(screen.getByTestId('netlens-xr-cadence')).toHaveTextContent('Basic / Counters · every 10 s');
    expect(screen.getByTestId('netlens-xr-cadence')).toHaveTextContent('policy file and data');

    await choose('Leaf', 'BytesReceived');
    expect(rec.current()).toMatchObject({
      source: 'xr',
      kind: 'series',
      editorMode: 'builder',
      metric: 'xr_generic_counters_bytes_received',
      rate: true,
      matchers: [
        { label: 'device', op: '=', value: 'xr-core-1' },
        { label: 'path', op: '=', value: XR_COUNTERS },
      ],
    });
    expect(calls.find((c) => c.path === 'xr/leaves')?.params).toEqual({ path: XR_COUNTERS, device: 'xr-core-1' });
    expect(await screen.findByText('counter', {}, SLOW)).toBeInTheDocument();

    // A key filter: the path's key label first, values from the label-values catalog.
    await userEvent.click(screen.getByRole('button', { name: 'Add label filter' }));
    expect(rec.current().matchers?.[2]).toEqual({ label: 'interface_name', op: '=', value: '' });
    await choose('Filter 1 operator', '!~');
    await userEvent.click(box('Filter 1 value'));
    await waitFor(() => expect(calls.some((c) => c.path === 'catalog/label-values')).toBe(true));
    await userEvent.click(await waitFor(() => byValue('Bundle-Ether10'), { timeout: 5000 }));
    const values = calls.filter((c) => c.path === 'catalog/label-values').pop();
    expect(values?.params).toMatchObject({ source: 'xr', label: 'interface_name' });
    expect(JSON.parse(String(values?.params.matchers))).toEqual([
      { label: 'device', op: '=', value: 'xr-core-1' },
      { label: 'path', op: '=', value: XR_COUNTERS },
    ]);

    await choose('Aggregation', 'sum');
    await userEvent.click(box('Group by'));
    await userEvent.click(await waitFor(() => byValue('interface_name'), { timeout: 5000 }));
    await userEvent.keyboard('{Escape}');
    expect(rec.current()).toMatchObject({ aggregation: 'sum', groupBy: ['interface_name'] });
    expect(screen.getByTestId('netlens-promql-preview')).toHaveTextContent(
      `sum by (interface_name) (rate(xr_generic_counters_bytes_received{device="xr-core-1", path="${XR_COUNTERS}", interface_name!~"Bundle-Ether10"}[$__rate_interval]))`
    );

    // A gauge is taken as it is.
    await choose('Leaf', 'LastDataTime');
    expect(rec.current()).toMatchObject({ metric: 'xr_generic_counters_last_data_time', rate: false });
  });

  it('turns a string leaf into an xr_state records query for a table, explaining the state timeline', async () => {
    const { ds } = fakeDataSource(xrHandler);
    const { Harness, rec } = editorHarness(ds, XR);
    render(<Harness />);

    await choose('Path', XR_INTERFACES);
    await choose('Leaf', 'State');
    const q = rec.current();
    expect(q).toMatchObject({
      source: 'xr',
      kind: 'records',
      recordKind: 'xr_state',
      filters: [
        { field: 'path', op: '=', values: [XR_INTERFACES] },
        { field: 'leaf', op: '=', values: ['State'] },
      ],
      columns: ['time', 'device', 'interface_name', 'value'],
      limit: 1000,
      format: 'table',
    });
    expect(q.metric).toBeUndefined();
    expect(q.matchers).toBeUndefined();
    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      `xr_state | where path = ${JSON.stringify(XR_INTERFACES)} and leaf = State | rows: time, device, interface_name, value`
    );
    expect(screen.getByTestId('netlens-xr-state-hint')).toHaveTextContent(/State timeline/);
    expect(screen.getByTestId('netlens-xr-state-hint')).toHaveTextContent(/Partition by values on interface_name/);
    // Records have no PromQL, code mode or kind switch; Live stays.
    expect(screen.queryByTestId('netlens-promql-preview')).not.toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'Code' })).not.toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'States' })).not.toBeInTheDocument();
    expect(screen.getByRole('switch', { name: 'Live' })).toBeInTheDocument();

    // Choosing a router afterwards narrows the records and drops the device column.
    await choose('Router', 'xr-core-1');
    expect(rec.current().filters?.[0]).toEqual({ field: 'device', op: '=', values: ['xr-core-1'] });
    expect(rec.current().columns).toEqual(['time', 'interface_name', 'value']);

    // A key filter on records offers = and != only, values from the records.
    await userEvent.click(screen.getByRole('button', { name: 'Add label filter' }));
    await userEvent.click(box('Filter 1 operator'));
    expect(screen.getAllByRole('option').map((o) => o.textContent)).toEqual(['=', '!=']);
    await userEvent.keyboard('{Escape}');
    await choose('Filter 1 value', 'HundredGigE0/0/0/1');
    expect(rec.current().filters?.[3]).toEqual({ field: 'interface_name', op: '=', values: ['HundredGigE0/0/0/1'] });

    // A number of the same path turns it back into a series, keeping router and key filter.
    await choose('Leaf', 'MTU');
    expect(rec.current()).toMatchObject({
      kind: 'series',
      metric: 'xr_interface_mtu',
      rate: false,
      matchers: [
        { label: 'device', op: '=', value: 'xr-core-1' },
        { label: 'path', op: '=', value: XR_INTERFACES },
        { label: 'interface_name', op: '=', value: 'HundredGigE0/0/0/1' },
      ],
    });
    expect(rec.current().recordKind).toBeUndefined();
    expect(rec.current().filters).toBeUndefined();
  });

  it('re-selects router, path and leaf of a saved series query', async () => {
    const { ds, calls } = fakeDataSource(xrHandler);
    const { Harness } = editorHarness(ds, {
      ...XR,
      metric: 'xr_generic_counters_bytes_received',
      rate: true,
      matchers: [
        { label: 'device', op: '=', value: 'xr-core-1' },
        { label: 'path', op: '=', value: XR_COUNTERS },
        { label: 'interface_name', op: '=~', value: 'Hundred.*' },
      ],
    });
    render(<Harness />);

    expect(box('Router')).toHaveValue('xr-core-1');
    expect(box('Path')).toHaveValue(XR_COUNTERS);
    // The leaf is found again by its metric once the path's leaves are in.
    await waitFor(() => expect(box('Leaf')).toHaveValue('BytesReceived'), { timeout: 5000 });
    expect(calls.find((c) => c.path === 'xr/leaves')?.params).toEqual({ path: XR_COUNTERS, device: 'xr-core-1' });
    expect(box('Filter 1 label')).toHaveValue('interface_name');
    expect(box('Filter 1 value')).toHaveValue('Hundred.*');
  });

  it('re-selects router, path and leaf of a saved records query', async () => {
    const { ds } = fakeDataSource(xrHandler);
    const { Harness } = editorHarness(ds, {
      source: 'xr',
      kind: 'records',
      recordKind: 'xr_state',
      filters: [
        { field: 'device', op: '=', values: ['xr-core-1'] },
        { field: 'path', op: '=', values: [XR_INTERFACES] },
        { field: 'leaf', op: '=', values: ['Description'] },
        { field: 'interface_name', op: '!=', values: ['Bundle-Ether10'] },
      ],
      columns: ['time', 'interface_name', 'value'],
      format: 'table',
    });
    render(<Harness />);

    expect(box('Router')).toHaveValue('xr-core-1');
    expect(box('Path')).toHaveValue(XR_INTERFACES);
    expect(box('Leaf')).toHaveValue('Description');
    expect(await screen.findByText('string', {}, SLOW)).toBeInTheDocument();
    expect(box('Filter 1 label')).toHaveValue('interface_name');
    expect(box('Filter 1 operator')).toHaveValue('!=');
    expect(box('Filter 1 value')).toHaveValue('Bundle-Ether10');
  });

  it('lists policy paths with their group and cadence before any data, and says no leaves came yet', async () => {
    const { ds } = fakeDataSource(xrHandler);
    const { Harness } = editorHarness(ds, XR);
    render(<Harness />);

    await userEvent.click(box('Path'));
    await userEvent.keyboard('MemorySummary');
    const option = await waitFor(() => byValue(XR_MEMORY), { timeout: 5000 });
    expect(option).toHaveTextContent('Basic / Memory · every 5 min · policy file, no data yet');
    await userEvent.click(option);
    expect(await screen.findByText(/No router has sent this path yet/, {}, SLOW)).toBeInTheDocument();
  });

  it('says what to do when no router has sent anything', async () => {
    const { ds } = fakeDataSource((path, params) => (path === 'xr/routers' ? [] : xrHandler(path, params)));
    const { Harness } = editorHarness(ds, XR);
    render(<Harness />);
    expect(await screen.findByText(/point a policy group at port 57500/, {}, SLOW)).toBeInTheDocument();
  });

  it('shows why the routers and paths cannot be listed', async () => {
    const off = { status: 503, data: { error: 'the IOS XR receiver is off' } };
    const { ds } = fakeDataSource((path, params) => {
      if (path === 'xr/routers' || path === 'xr/paths') {
        throw off;
      }
      return xrHandler(path, params);
    });
    const { Harness } = editorHarness(ds, XR);
    render(<Harness />);
    expect(await screen.findByText('Cannot list the IOS XR routers', {}, SLOW)).toBeInTheDocument();
    expect(screen.getAllByText('the IOS XR receiver is off').length).toBeGreaterThanOrEqual(2);
    expect(screen.queryByText(/No router has sent data yet/)).not.toBeInTheDocument();
  });
});

describe('QueryEditor with IOS XR', () => {
  it('offers IOS XR as a source and starts it from nothing', async () => {
    const { ds } = fakeDataSource(xrHandler);
    const { Harness, rec } = editorHarness(ds, {
      source: 'ftd',
      metric: 'ftd_interface_input_bytes',
      matchers: [{ label: 'interface', op: '=', value: 'Gi0/0' }],
    });
    render(<Harness />);
    await userEvent.click(screen.getByText('Cisco FTD'));
    await userEvent.click(await screen.findByText('Cisco IOS XR', {}, SLOW));
    expect(rec.current()).toMatchObject({ source: 'xr', kind: 'series', editorMode: 'builder' });
    expect(rec.current().metric).toBeUndefined();
    expect(rec.current().matchers).toBeUndefined();
    expect(box('Router')).toBeInTheDocument();
  });
});
