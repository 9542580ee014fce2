import React from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { catalogHandler, fakeDataSource } from '../../testing/fakeDataSource';
import { editorHarness } from '../../testing/harness';
import { NetlensQuery } from '../../types';
import { QueryEditor } from './QueryEditor';

/** Opens a Combobox by its label and picks the option with this text. */
async function pick(label: string, option: string) {
  await userEvent.click(screen.getByRole('combobox', { name: new RegExp(`^${escape(label)}`) }));
  await userEvent.click(await screen.findByRole('option', { name: new RegExp(`^${escape(option)}(\\s|$)`) }));
}

function escape(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function metricCalls(calls: Array<{ path: string; params: Record<string, unknown> }>) {
  return calls.filter((c) => c.path === 'catalog/metrics').map((c) => c.params.family ?? null);
}

describe('QueryEditor builder', () => {
  it('loads families and metrics, and narrows the metrics to the chosen family', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, {});
    render(<Harness />);

    await waitFor(() => expect(metricCalls(calls)).toEqual([null]));
    expect(calls.some((c) => c.path === 'catalog/families')).toBe(true);

    await pick('Family', 'interface');
    expect(rec.current().family).toBe('interface');
    await waitFor(() => expect(metricCalls(calls)).toEqual([null, 'interface']));

    await userEvent.click(screen.getByRole('combobox', { name: 'Metric' }));
    expect(await screen.findByRole('option', { name: /^ftd_interface_input_bytes/ })).toBeInTheDocument();
    expect(screen.queryByRole('option', { name: /^ftd_cpu_cpu_utilisation/ })).not.toBeInTheDocument();
  });

  it('turns rate on for a counter and off for a gauge, and runs the query', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, {});
    render(<Harness />);

    await pick('Metric', 'ftd_interface_input_bytes');
    expect(rec.current()).toMatchObject({ metric: 'ftd_interface_input_bytes', rate: true, family: 'interface' });
    expect(rec.runs).toBe(1);
    expect(await screen.findByText('counter')).toBeInTheDocument();
    expect(screen.getByTestId('netlens-promql-preview')).toHaveTextContent(
      'rate(ftd_interface_input_bytes[$__rate_interval])'
    );

    await pick('Family', 'cpu');
    // A metric of another family does not stay chosen.
    expect(rec.current().metric).toBeUndefined();
    await pick('Metric', 'ftd_cpu_cpu_utilisation');
    expect(rec.current()).toMatchObject({ metric: 'ftd_cpu_cpu_utilisation', rate: false });
  });

  it('adds a label filter with names and values from the catalog, values narrowed by the other filters', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, {
      metric: 'ftd_interface_input_bytes',
      matchers: [{ label: 'device', op: '=', value: 'a1b2' }],
    });
    render(<Harness />);

    await userEvent.click(screen.getByRole('button', { name: 'Add label filter' }));
    expect(rec.current().matchers).toEqual([
      { label: 'device', op: '=', value: 'a1b2' },
      { label: '', op: '=', value: '' },
    ]);

    await pick('Filter 2 label', 'interface');
    await pick('Filter 2 operator', '!=');
    await pick('Filter 2 value', 'GigabitEthernet0/1');
    expect(rec.current().matchers).toEqual([
      { label: 'device', op: '=', value: 'a1b2' },
      { label: 'interface', op: '!=', value: 'GigabitEthernet0/1' },
    ]);

    const valueCall = calls.find((c) => c.path === 'catalog/label-values');
    expect(valueCall?.params).toMatchObject({
      label: 'interface',
      metric: 'ftd_interface_input_bytes',
      matchers: JSON.stringify([{ label: 'device', op: '=', value: 'a1b2' }]),
    });
    expect(screen.getByTestId('netlens-promql-preview')).toHaveTextContent(
      'ftd_interface_input_bytes{device="a1b2", interface!="GigabitEthernet0/1"}'
    );

    await userEvent.click(screen.getByRole('button', { name: 'Remove filter 1' }));
    expect(rec.current().matchers).toEqual([{ label: 'interface', op: '!=', value: 'GigabitEthernet0/1' }]);
  });

  it('clears group by when the aggregation is removed', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { metric: 'm', aggregation: 'sum', groupBy: ['device'] });
    render(<Harness />);
    await pick('Aggregation', 'none');
    expect(rec.current().aggregation).toBe('');
    expect(rec.current().groupBy).toBeUndefined();
  });
});

describe('QueryEditor modes', () => {
  const builderQuery = {
    metric: 'ftd_interface_input_bytes',
    matchers: [{ label: 'device', op: '=~' as const, value: '$device' }],
    rate: true,
    aggregation: 'sum' as const,
    groupBy: ['interface'],
  };

  it('shows the builder query as PromQL in code mode and reads it back in builder mode', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, builderQuery);
    render(<Harness />);

    await userEvent.click(screen.getByRole('radio', { name: 'Code' }));
    const expected = 'sum by (interface) (rate(ftd_interface_input_bytes{device=~"$device"}[$__rate_interval]))';
    expect(rec.current()).toMatchObject({ editorMode: 'code', expr: expected });
    expect(screen.getByRole('textbox', { name: 'PromQL' })).toHaveValue(expected);

    const box = screen.getByRole('textbox', { name: 'PromQL' });
    await userEvent.clear(box);
    await userEvent.type(box, 'max(ftd_interface_output_bytes{{interface="Gi0/1"})');
    const runsBeforeBlur = rec.runs;
    await userEvent.tab();
    expect(rec.current().expr).toBe('max(ftd_interface_output_bytes{interface="Gi0/1"})');
    expect(rec.runs).toBe(runsBeforeBlur + 1);

    await userEvent.click(screen.getByRole('radio', { name: 'Builder' }));
    expect(rec.current()).toMatchObject({
      editorMode: 'builder',
      metric: 'ftd_interface_output_bytes',
      matchers: [{ label: 'interface', op: '=', value: 'Gi0/1' }],
      rate: false,
      aggregation: 'max',
      groupBy: [],
    });
  });

  it('runs the code on Shift+Enter without adding a line', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { editorMode: 'code', expr: '' });
    render(<Harness />);
    await userEvent.type(screen.getByRole('textbox', { name: 'PromQL' }), 'up{{job="ftd"}{Shift>}{Enter}{/Shift}');
    expect(rec.current().expr).toBe('up{job="ftd"}');
    expect(rec.runs).toBe(1);
  });

  it('keeps the builder query and says so when the code does not fit the builder', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, {
      ...builderQuery,
      editorMode: 'code',
      expr: 'histogram_quantile(0.9, rate(x[5m]))',
    });
    render(<Harness />);

    await userEvent.click(screen.getByRole('radio', { name: 'Builder' }));
    expect(rec.current()).toMatchObject({ editorMode: 'builder', ...builderQuery });
    expect(rec.current().expr).toBe('histogram_quantile(0.9, rate(x[5m]))');
    expect(screen.getByText(/does not fit the builder/)).toBeInTheDocument();
  });

  it('switches Live and Instant and runs the query', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { metric: 'ftd_cpu_cpu_utilisation' });
    render(<Harness />);
    await userEvent.click(screen.getByRole('switch', { name: 'Live' }));
    expect(rec.current().live).toBe(true);
    await userEvent.click(screen.getByRole('switch', { name: 'Instant' }));
    expect(rec.current().instant).toBe(true);
    expect(rec.runs).toBe(2);
  });

  it('offers every source, each received now (INT was the last)', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness } = editorHarness(ds, {});
    render(<Harness />);
    await userEvent.click(screen.getByText('Cisco FTD'));
    const options = await screen.findAllByRole('option');
    expect(options.map((o) => o.textContent)).toEqual(['Cisco FTD', 'Cisco IOS XR', 'INT', 'IPFIX']);
    expect(screen.queryByText(/not received yet/)).not.toBeInTheDocument();
  });
});

describe('QueryEditor device events', () => {
  it('switches to device events, keeping only the filters events have, and hides what is about series', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, {
      metric: 'ftd_interface_input_bytes',
      matchers: [
        { label: 'device', op: '=~', value: '$device' },
        { label: 'interface', op: '=', value: 'GigabitEthernet0/1' },
      ],
      live: true,
      instant: true,
    });
    render(<Harness />);

    await userEvent.click(screen.getByRole('radio', { name: 'Device events' }));
    expect(rec.current().live).toBeUndefined();
    expect(rec.current().instant).toBeUndefined();
    expect(rec.current()).toMatchObject({
      kind: 'events',
      matchers: [{ label: 'device', op: '=~', value: '$device' }],
    });
    expect(rec.runs).toBe(1);
    expect(screen.getByText(/device registry/)).toBeInTheDocument();
    for (const gone of ['Live', 'Code', 'Builder']) {
      expect(screen.queryByRole('switch', { name: gone }) ?? screen.queryByRole('radio', { name: gone })).toBeNull();
    }
    expect(screen.queryByRole('combobox', { name: 'Metric' })).not.toBeInTheDocument();
    expect(screen.queryByTestId('netlens-promql-preview')).not.toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'Legend' })).not.toBeInTheDocument();

    // Back to series: the metric is still there.
    await userEvent.click(screen.getByRole('radio', { name: 'Series' }));
    expect(rec.current()).toMatchObject({ kind: 'series', metric: 'ftd_interface_input_bytes' });
    expect(screen.getByTestId('netlens-promql-preview')).toHaveTextContent('ftd_interface_input_bytes');
  });

  it('picks event types, sent in a fixed order', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { kind: 'events' });
    render(<Harness />);

    await userEvent.click(screen.getByRole('combobox', { name: 'Event types' }));
    await userEvent.click(await screen.findByRole('option', { name: /^rejected/ }));
    await userEvent.click(await screen.findByRole('option', { name: /^connected/ }));
    expect(rec.current().eventTypes).toEqual(['connected', 'rejected']);
  });

  it('filters on device and hostname only, with values from the catalog', async () => {
    const { ds, calls } = fakeDataSource(catalogHandler);
    const { Harness, rec } = editorHarness(ds, { kind: 'events' });
    render(<Harness />);

    await userEvent.click(screen.getByRole('button', { name: 'Add label filter' }));
    expect(rec.current().matchers).toEqual([{ label: 'device', op: '=', value: '' }]);

    await userEvent.click(screen.getByRole('combobox', { name: 'Filter 1 label' }));
    const offered = (await screen.findAllByRole('option')).map((o) => o.textContent);
    expect(offered).toEqual(['device', 'hostname']);
    await userEvent.click(screen.getByRole('option', { name: 'hostname' }));

    await pick('Filter 1 value', 'fw-edge-2');
    expect(rec.current().matchers).toEqual([{ label: 'hostname', op: '=', value: 'fw-edge-2' }]);
    const valueCall = calls.find((c) => c.path === 'catalog/label-values');
    expect(valueCall?.params).toMatchObject({ source: 'ftd', label: 'hostname' });
    expect(valueCall?.params.metric).toBeUndefined();
  });

  it('opens a new annotation on device events, as Grafana hands the default query to the editor', async () => {
    const { ds } = fakeDataSource(catalogHandler);
    // Grafana's annotation editor: the data source's annotation default under
    // the stored target, which a new annotation does not have yet.
    const query = { ...ds.annotations!.getDefaultQuery!(), refId: 'Anno' } as NetlensQuery;
    const onChange = jest.fn();
    render(<QueryEditor datasource={ds} query={query} onChange={onChange} onRunQuery={() => {}} />);

    expect(screen.getByRole('radio', { name: 'Device events' })).toBeChecked();
    expect(screen.getByRole('combobox', { name: 'Event types' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('combobox', { name: 'Event types' }));
    await userEvent.click(await screen.findByRole('option', { name: /^disconnected/ }));
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ refId: 'Anno', kind: 'events', source: 'ftd', eventTypes: ['disconnected'] })
    );
  });
});
