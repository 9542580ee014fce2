import React from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { fakeDataSource } from '../../testing/fakeDataSource';
import { box, byValue, choose, SLOW } from '../../testing/combobox';
import { editorHarness } from '../../testing/harness';
import { FLOW_A, FLOW_B, FLOW_TYPES, intHandler, LEAF1, REPORTS_START, SPINE1 } from '../../testing/intFixtures';
import { NetlensQuery } from '../../types';

// Each test drives several menus through user-event in jsdom; on a busy
// 2-core machine that takes longer than the suite-wide timeout.
jest.setTimeout(120_000);

describe('IntEditor: reports', () => {
  it('starts INT as the worst end-to-end latency of the top 10 flows, then builds drops by switch and reason', async () => {
    const { ds } = fakeDataSource(intHandler);
    const { Harness, rec } = editorHarness(ds, { source: 'ftd', kind: 'series', metric: 'ftd_cpu_cpu_utilisation' });
    render(<Harness />);

    // The source select of the header.
    await userEvent.click(screen.getByText('Cisco FTD'));
    await userEvent.click(await screen.findByText('INT'));
    expect(rec.current()).toMatchObject({ source: 'int', ...REPORTS_START });
    expect(rec.current().metric).toBeUndefined();
    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      'int_report | where type in (flow, int, postcard-path) | max(e2e_latency) by flow | top 10 by max(e2e_latency) | per $__interval'
    );

    // Switches are offered by name, picked by id (the records' device column).
    await choose('Switch', LEAF1, 'leaf1');
    await userEvent.keyboard('{Escape}');
    expect(rec.current().filters).toEqual([FLOW_TYPES, { field: 'device', op: '=', values: [LEAF1] }]);

    // The inner destination by prefix: an address field offers cidr.
    await userEvent.click(screen.getByRole('button', { name: 'Add filter' }));
    await choose('Filter 1 field', 'dst_addr');
    await choose('Filter 1 operator', 'cidr');
    // A prefix is typed: the menu offers it as a custom value.
    await userEvent.type(box('Filter 1 value'), '10.2.0.0/16');
    await userEvent.click(await waitFor(() => byValue('10.2.0.0/16'), SLOW));
    await userEvent.keyboard('{Escape}');
    expect(rec.current().filters?.[2]).toEqual({ field: 'dst_addr', op: 'cidr', values: ['10.2.0.0/16'] });

    // Drop reports: counted by switch and reason; the switch and the prefix stay.
    await userEvent.click(screen.getByRole('radio', { name: 'Drop' }));
    expect(rec.current()).toMatchObject({
      filters: [
        { field: 'type', op: '=', values: ['drop'] },
        { field: 'device', op: '=', values: [LEAF1] },
        { field: 'dst_addr', op: 'cidr', values: ['10.2.0.0/16'] },
      ],
      aggregates: [{ func: 'count' }],
      groupBy: ['device', 'drop_reason'],
    });
    // A count has no aggregation to pick.
    expect(screen.queryByRole('combobox', { name: /^Aggregation/ })).not.toBeInTheDocument();

    // Hop latency, p99, ranked over the whole range.
    await choose('Figure', 'hop_latency', 'hop');
    await choose('Aggregation', 'p99');
    await userEvent.click(screen.getByRole('radio', { name: 'None' }));
    expect(rec.current()).toMatchObject({ aggregates: [{ func: 'p99', field: 'max_hop_latency' }] });
    expect(rec.current().bucket).toBeUndefined();
    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      'p99(max_hop_latency) by device, drop_reason | top 10 by p99(max_hop_latency) | over the whole range'
    );
  });

  it('shows raw reports as a table with chosen columns, and has Live', async () => {
    const { ds } = fakeDataSource(intHandler);
    const { Harness, rec } = editorHarness(ds, {
      source: 'int',
      kind: 'records',
      recordKind: 'int_report',
      filters: [{ field: 'type', op: '=', values: ['queue'] }],
      aggregates: [{ func: 'max', field: 'queue_occupancy' }],
      groupBy: ['device', 'queue_id'],
      bucket: 'auto',
    });
    render(<Harness />);

    await choose('Figure', 'none', 'raw');
    const q = rec.current();
    for (const gone of ['aggregates', 'groupBy', 'bucket', 'topN'] as const) {
      expect(q[gone]).toBeUndefined();
    }
    expect(q.filters).toEqual([{ field: 'type', op: '=', values: ['queue'] }]);
    await userEvent.click(box('Columns'));
    await userEvent.keyboard('queue_occ');
    await userEvent.click(await waitFor(() => byValue('queue_occupancy'), SLOW));
    await userEvent.keyboard('{Escape}');
    await userEvent.type(screen.getByRole('spinbutton', { name: 'Limit' }), '500');
    await userEvent.tab();
    expect(rec.current()).toMatchObject({ columns: ['queue_occupancy'], limit: 500 });
    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      'int_report | where type = queue | rows: queue_occupancy, newest first, at most 500'
    );

    await userEvent.click(screen.getByRole('switch', { name: 'Live' }));
    expect(rec.current().live).toBe(true);
  });

  it('reopens a saved query as it was, changing nothing', async () => {
    const { ds } = fakeDataSource(intHandler);
    const saved: Partial<NetlensQuery> = {
      source: 'int',
      kind: 'records',
      recordKind: 'int_report',
      filters: [
        { field: 'type', op: '=', values: ['queue'] },
        { field: 'device', op: 'in', values: [LEAF1, SPINE1] },
        { field: 'src_addr', op: 'cidr', values: ['10.1.0.0/16'] },
      ],
      aggregates: [{ func: 'p95', field: 'queue_occupancy' }],
      groupBy: ['device', 'queue_id'],
      bucket: 'auto',
      topN: 5,
      other: true,
      switchNames: '$switch_names',
      live: true,
    };
    const { Harness, rec } = editorHarness(ds, saved);
    render(<Harness />);

    expect(screen.getByRole('radio', { name: 'Queue' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Reports' })).toBeChecked();
    // The switches by name once the list arrives (the second folds into a count).
    expect(await screen.findByRole('button', { name: 'Remove leaf1' }, SLOW)).toBeInTheDocument();
    expect(box('Filter 1 field')).toHaveValue('src_addr');
    expect(box('Filter 1 operator')).toHaveValue('cidr');
    expect(box('Figure')).toHaveValue('queue occupancy');
    expect(box('Aggregation')).toHaveValue('p95');
    expect(screen.getByRole('spinbutton', { name: 'Top N' })).toHaveValue(5);
    expect(screen.getByRole('switch', { name: 'Other' })).toBeChecked();
    expect(screen.getByRole('textbox', { name: 'Switch names' })).toHaveValue('$switch_names');
    expect(screen.getByRole('switch', { name: 'Live' })).toBeChecked();
    expect(rec.changes).toEqual([]);
  });
});

describe('IntEditor: path, series and episodes', () => {
  it('builds the path query for the network path panel from $flow, or the top N', async () => {
    const { ds } = fakeDataSource(intHandler);
    const { Harness, rec } = editorHarness(ds, {
      source: 'int',
      kind: 'records',
      recordKind: 'int_report',
      filters: [FLOW_TYPES, { field: 'device', op: '=', values: [SPINE1] }],
      aggregates: [{ func: 'max', field: 'e2e_latency' }],
      groupBy: ['flow'],
    });
    render(<Harness />);

    await userEvent.click(screen.getByRole('radio', { name: 'Path' }));
    expect(rec.current()).toMatchObject({
      source: 'int',
      kind: 'path',
      filters: [{ field: 'device', op: '=', values: [SPINE1] }],
      topN: 20,
      format: 'table',
    });
    for (const gone of ['recordKind', 'aggregates', 'groupBy', 'bucket'] as const) {
      expect(rec.current()[gone]).toBeUndefined();
    }
    expect(screen.getByTestId('netlens-int-path-preview')).toHaveTextContent(
      'top 20 flows by end-to-end latency | where device = 0x00000014'
    );

    // The flows reported in the range are offered, most reports first.
    await userEvent.click(box('Flow'));
    const offered = await screen.findAllByRole('option', {}, SLOW);
    expect(offered.map((o) => o.textContent)).toEqual([`${FLOW_A}1,204 reports`, `${FLOW_B}98 reports`]);
    await userEvent.click(offered[1]);
    expect(rec.current().flow).toBe(FLOW_B);
    // A variable is typed: the dashboard's flow picker, or a table row's data link.
    await choose('Flow', '$flow');
    expect(rec.current().flow).toBe('$flow');
    const topN = screen.getByRole('spinbutton', { name: 'Top N' });
    await userEvent.clear(topN);
    await userEvent.type(topN, '900');
    await userEvent.tab();
    // The backend's bound.
    expect(rec.current().topN).toBe(500);
    // The switch picker names the switches as the query's own names do.
    expect(screen.queryByRole('button', { name: 'Remove spine1' })).not.toBeInTheDocument();
    await userEvent.type(screen.getByRole('textbox', { name: 'Switch names' }), '0x00000014=spine1');
    await userEvent.tab();
    expect(rec.current()).toMatchObject({ kind: 'path', flow: '$flow', switchNames: '0x00000014=spine1', topN: 500 });
    expect(await screen.findByRole('button', { name: 'Remove spine1' }, SLOW)).toBeInTheDocument();
    expect(screen.getByTestId('netlens-int-path-preview')).toHaveTextContent('int_report paths | flows $flow |');
  });

  it('builds int_* series with the series builder, PromQL shown', async () => {
    const { ds, calls } = fakeDataSource(intHandler);
    const { Harness, rec } = editorHarness(ds, { source: 'int', kind: 'path', topN: 20 });
    render(<Harness />);

    await userEvent.click(screen.getByRole('radio', { name: 'Series' }));
    expect(rec.current()).toMatchObject({ source: 'int', kind: 'series', format: 'time_series' });
    expect(rec.current().topN).toBeUndefined();
    await choose('Metric', 'int_drops_total');
    await waitFor(() =>
      expect(calls.some((c) => c.path === 'catalog/metrics' && c.params.source === 'int')).toBe(true)
    );
    await choose('Aggregation', 'sum');
    await userEvent.click(box('Group by'));
    await userEvent.click(await waitFor(() => byValue('reason'), SLOW));
    await userEvent.keyboard('{Escape}');
    expect(rec.current()).toMatchObject({
      metric: 'int_drops_total',
      rate: true,
      aggregation: 'sum',
      groupBy: ['reason'],
    });
    expect(screen.getByTestId('netlens-promql-preview')).toHaveTextContent(
      'sum by (reason) (rate(int_drops_total[$__rate_interval]))'
    );
    // The series' switch label is named by the switch names, as in a {{switch}} legend.
    await userEvent.type(screen.getByRole('textbox', { name: 'Switch names' }), '$switch_names');
    await userEvent.tab();
    expect(rec.current()).toMatchObject({ kind: 'series', metric: 'int_drops_total', switchNames: '$switch_names' });
  });

  it('edits an annotation: drop and congestion episodes of chosen switches, without Live', async () => {
    const { ds } = fakeDataSource(intHandler);
    // An annotation starts as the devices' events (annotationSupport's default).
    const { Harness, rec } = editorHarness(ds, { refId: 'Anno', source: 'ftd', kind: 'events' });
    render(<Harness />);

    await userEvent.click(screen.getByText('Cisco FTD'));
    await userEvent.click(await screen.findByText('INT'));
    expect(rec.current()).toMatchObject({ source: 'int', kind: 'episodes', eventTypes: ['drop', 'congestion'] });
    expect(screen.getByRole('radio', { name: 'Episodes' })).toBeChecked();
    expect(screen.queryByRole('switch', { name: 'Live' })).not.toBeInTheDocument();

    // Congestion only, on the spine.
    await userEvent.click(screen.getByRole('button', { name: /Remove drop/ }));
    expect(rec.current().eventTypes).toEqual(['congestion']);
    await choose('Switch', SPINE1);
    await userEvent.keyboard('{Escape}');
    expect(rec.current()).toMatchObject({
      kind: 'episodes',
      eventTypes: ['congestion'],
      filters: [{ field: 'device', op: '=', values: [SPINE1] }],
    });
  });
});
