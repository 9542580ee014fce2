import React from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { catalogHandler, fakeDataSource } from '../../testing/fakeDataSource';
import { box, byValue, choose, escape } from '../../testing/combobox';
import { editorHarness } from '../../testing/harness';
import { NetlensQuery } from '../../types';

// Each test drives a dozen menus through user-event in jsdom; on a busy
// 2-core machine that takes longer than the suite-wide 30 s.
jest.setTimeout(120_000);

/** Opens a Combobox by its label and picks the option with this text. */
async function pick(label: string, option: string) {
  await userEvent.click(box(label));
  await userEvent.click(await screen.findByRole('option', { name: new RegExp(`^${escape(option)}(\\s|$)`) }));
}

/** The labels of the options a Combobox menu shows (a short list: the menu is virtualised). */
async function offered(label: string): Promise<string[]> {
  await userEvent.click(box(label));
  const options = await screen.findAllByRole('option');
  const names = options.map((o) => o.querySelector('[class*="combobox-option-label"]')?.textContent ?? '');
  await userEvent.keyboard('{Escape}');
  return names;
}

const FLOWS: Partial<NetlensQuery> = {
  source: 'ipfix',
  kind: 'records',
  recordKind: 'ipfix_flow',
  aggregates: [{ func: 'sum', field: 'bytes' }],
  bucket: 'auto',
};

describe('QueryEditor with IPFIX', () => {
  it('offers flow records for IPFIX and not for FTD', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, {});
    render(<Harness />);
    expect(screen.queryByRole('radio', { name: 'Flow records' })).not.toBeInTheDocument();

    await userEvent.click(screen.getByText('Cisco FTD'));
    await userEvent.click(await screen.findByText('IPFIX'));
    expect(rec.current()).toMatchObject({ source: 'ipfix', kind: 'series' });
    expect(screen.getByRole('radio', { name: 'Flow records' })).toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'Device events' })).not.toBeInTheDocument();
  });

  it('builds IPFIX volume series with the PromQL builder and the ipfix metric catalog', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { source: 'ipfix' });
    render(<Harness />);

    await waitFor(() =>
      expect(calls.find((c) => c.path === 'catalog/metrics')?.params).toMatchObject({ source: 'ipfix' })
    );
    expect(await offered('Metric')).toEqual(['ipfix_bytes_total', 'ipfix_packets_total', 'ipfix_flows_total']);
    await pick('Metric', 'ipfix_bytes_total');
    expect(rec.current()).toMatchObject({ source: 'ipfix', metric: 'ipfix_bytes_total', rate: true });
    await pick('Aggregation', 'sum');
    await userEvent.click(screen.getByRole('combobox', { name: 'Group by' }));
    await userEvent.click(await waitFor(() => byValue('protocol'), { timeout: 5000 }));
    await userEvent.keyboard('{Escape}');
    expect(screen.getByTestId('netlens-promql-preview')).toHaveTextContent(
      'sum by (protocol) (rate(ipfix_bytes_total[$__rate_interval]))'
    );
  });

  it('turns a series query into a flow records query that sums bytes over time', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { source: 'ipfix', metric: 'ipfix_bytes_total', instant: true });
    render(<Harness />);

    await userEvent.click(screen.getByRole('radio', { name: 'Flow records' }));
    expect(rec.current()).toMatchObject({
      kind: 'records',
      recordKind: 'ipfix_flow',
      aggregates: [{ func: 'sum', field: 'bytes' }],
      bucket: 'auto',
    });
    expect(rec.current().instant).toBeUndefined();
    expect(rec.runs).toBe(1);
    // Records have no PromQL, code mode, legend or format; Live stays.
    expect(screen.queryByTestId('netlens-promql-preview')).not.toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'Code' })).not.toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'Legend' })).not.toBeInTheDocument();
    expect(screen.queryByRole('switch', { name: 'Instant' })).not.toBeInTheDocument();
    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      'ipfix_flow | sum(bytes) | per $__interval'
    );

    await userEvent.click(screen.getByRole('switch', { name: 'Live' }));
    expect(rec.current().live).toBe(true);

    // Back to FTD: FTD has no records, the query becomes a series query.
    await userEvent.click(screen.getByText('IPFIX'));
    await userEvent.click(await screen.findByText('Cisco FTD'));
    expect(rec.current()).toMatchObject({ source: 'ftd', kind: 'series' });
  });

  it('filters on fields from records/fields and values from records/values', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, FLOWS);
    render(<Harness />);

    await waitFor(() =>
      expect(calls.find((c) => c.path === 'records/fields')?.params).toMatchObject({ kind: 'ipfix_flow' })
    );
    await userEvent.click(screen.getByRole('button', { name: 'Add filter' }));
    await pick('Filter 1 field', 'src_addr');
    // An address takes prefixes, not ranges.
    const ops = await offered('Filter 1 operator');
    expect(ops).toContain('cidr');
    expect(ops).not.toContain('range');

    await pick('Filter 1 operator', 'in');
    const values = screen.getByRole('combobox', { name: 'Filter 1 value' });
    await userEvent.click(values);
    await userEvent.type(values, '10.0.');
    await userEvent.click(await screen.findByRole('option', { name: '10.0.0.2' }));
    await userEvent.click(await screen.findByRole('option', { name: '10.0.0.1' }));
    await userEvent.keyboard('{Escape}');
    expect(rec.current().filters).toEqual([{ field: 'src_addr', op: 'in', values: ['10.0.0.2', '10.0.0.1'] }]);
    const asked = calls.filter((c) => c.path === 'records/values').map((c) => c.params);
    expect(asked[asked.length - 1]).toMatchObject({ kind: 'ipfix_flow', field: 'src_addr', prefix: '10.0.' });

    // A number field takes ranges; = keeps one value.
    await userEvent.click(screen.getByRole('button', { name: 'Add filter' }));
    await choose('Filter 2 field', 'dst_port');
    expect(await offered('Filter 2 operator')).not.toContain('cidr');
    await choose('Filter 2 operator', 'range');
    const range = screen.getByRole('textbox', { name: 'Filter 2 value' });
    await userEvent.type(range, '1024 - 65535');
    await userEvent.tab();
    expect(rec.current().filters?.[1]).toEqual({ field: 'dst_port', op: 'range', values: ['1024-65535'] });
    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      'where src_addr in (10.0.0.2, 10.0.0.1) and dst_port range 1024-65535'
    );

    await userEvent.click(screen.getByRole('button', { name: 'Remove filter 1' }));
    expect(rec.current().filters).toEqual([{ field: 'dst_port', op: 'range', values: ['1024-65535'] }]);
  });

  it('aggregates: quantiles of a numeric field, group by, top N with other, a fixed bucket', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, FLOWS);
    render(<Harness />);

    await choose('Aggregate 1 function', 'p95');
    // Only numeric fields are offered to compute on.
    const numeric = await offered('Aggregate 1 field');
    expect(numeric).toEqual(expect.arrayContaining(['src_port', 'bytes']));
    expect(numeric).not.toContain('src_addr');
    expect(numeric).not.toContain('exporter');
    await choose('Aggregate 1 field', 'rtt');
    await userEvent.click(screen.getByRole('button', { name: 'Add aggregate' }));
    expect(rec.current().aggregates).toEqual([{ func: 'p95', field: 'rtt' }, { func: 'count' }]);

    await userEvent.type(screen.getByRole('combobox', { name: /^Group by/ }), 'src');
    await userEvent.click(await waitFor(() => byValue('src_addr'), { timeout: 5000 }));
    await userEvent.keyboard('{Escape}');
    expect(rec.current().groupBy).toEqual(['src_addr']);

    expect(screen.getByRole('switch', { name: 'Other' })).toBeDisabled();
    await userEvent.type(screen.getByRole('spinbutton', { name: 'Top N' }), '10');
    await userEvent.tab();
    await userEvent.click(screen.getByRole('switch', { name: 'Other' }));
    expect(rec.current()).toMatchObject({ topN: 10, other: true });

    await userEvent.click(screen.getByRole('radio', { name: 'Fixed' }));
    expect(rec.current().bucket).toBe('1m');
    const bucket = screen.getByRole('textbox', { name: 'Bucket' });
    await userEvent.clear(bucket);
    await userEvent.type(bucket, '5m');
    await userEvent.tab();
    expect(rec.current().bucket).toBe('5m');

    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      'ipfix_flow | p95(rtt), count() by src_addr | top 10 by p95(rtt) + other | per 5m'
    );
    await userEvent.click(screen.getByRole('radio', { name: 'None' }));
    expect(rec.current().bucket).toBeUndefined();
  });

  it('switches to raw rows with columns and a limit, dropping what only aggregates use', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { ...FLOWS, groupBy: ['src_addr'], topN: 5, other: true });
    render(<Harness />);

    await userEvent.click(screen.getByRole('radio', { name: 'Raw rows' }));
    const q = rec.current();
    for (const gone of ['aggregates', 'groupBy', 'bucket', 'topN', 'other'] as const) {
      expect(q[gone]).toBeUndefined();
    }
    const columns = screen.getByRole('combobox', { name: /^Columns/ });
    await userEvent.click(columns);
    await userEvent.type(columns, 'src_a');
    await userEvent.click(await waitFor(() => byValue('src_addr'), { timeout: 5000 }));
    await userEvent.keyboard('{Control>}a{/Control}{Backspace}byt');
    await userEvent.click(await waitFor(() => byValue('bytes'), { timeout: 5000 }));
    await userEvent.keyboard('{Escape}');
    await userEvent.type(screen.getByRole('spinbutton', { name: 'Limit' }), '250');
    await userEvent.tab();
    expect(rec.current()).toMatchObject({ kind: 'records', columns: ['src_addr', 'bytes'], limit: 250 });
    expect(screen.getByTestId('netlens-records-preview')).toHaveTextContent(
      'ipfix_flow | rows: src_addr, bytes, newest first, at most 250'
    );

    await userEvent.click(screen.getByRole('radio', { name: 'Aggregate' }));
    expect(rec.current()).toMatchObject({ aggregates: [{ func: 'sum', field: 'bytes' }], bucket: 'auto' });
    expect(rec.current().columns).toBeUndefined();
    expect(rec.current().limit).toBeUndefined();
  });
});
