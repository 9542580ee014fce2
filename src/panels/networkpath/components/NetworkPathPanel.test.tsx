import React from 'react';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { createTheme, DataFrame, getDefaultTimeRange, LoadingState, PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';

import {
  FLOW_BACKUP,
  FLOW_DB,
  FLOW_DNS,
  FLOW_WEB,
  largeFrame,
  pathFrame,
  smallFrame,
  smallRows,
  withFieldConfig,
} from '../testing/fixtures';
import { DEFAULT_OPTIONS, Options } from '../types';
import { NetworkPathPanel } from './NetworkPathPanel';
import { ROW_HEIGHT } from './FlowRow';
import { visibleRange } from './VirtualRows';

const theme = createTheme({ colors: { mode: 'dark' } });

function props(
  series: DataFrame[],
  options: Partial<Options> = {},
  vars: Record<string, string> = {}
): PanelProps<Options> {
  return {
    id: 1,
    data: { series, state: LoadingState.Done, timeRange: getDefaultTimeRange() },
    timeRange: getDefaultTimeRange(),
    timeZone: 'utc',
    options: { ...DEFAULT_OPTIONS, ...options },
    transparent: false,
    width: 1000,
    height: 400,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title: 'Paths',
    eventBus: undefined as never,
    onOptionsChange: jest.fn(),
    onFieldConfigChange: jest.fn(),
    onChangeTimeRange: jest.fn(),
    replaceVariables: (v: string, _s?: unknown, format?: string | Function) =>
      v.replace(/\$(\w+)/g, (m, name: string) =>
        name in vars ? (typeof format === 'function' ? format(vars[name]) : vars[name]) : m
      ),
  };
}

const rowNames = () => screen.queryAllByTestId('networkpath-row').map((r) => r.getAttribute('aria-label'));

describe('NetworkPathPanel', () => {
  it('draws the top flows by end-to-end latency: source, switches in order, destination', () => {
    render(<NetworkPathPanel {...props([withFieldConfig(smallFrame(), theme)])} />);
    expect(rowNames()).toEqual([FLOW_BACKUP, FLOW_WEB, FLOW_DB, FLOW_DNS].map((f) => `Flow ${f}`));
    const web = screen.getByRole('button', { name: `Flow ${FLOW_WEB}` });
    expect(within(web).getByRole('img')).toHaveAttribute(
      'aria-label',
      '10.1.1.10 → leaf1 → spine1 → leaf2 → 10.2.2.20'
    );
    expect(within(web).getByText('e2e 17.5 µs')).toBeInTheDocument();
    expect(screen.getByText('Top 4 of 4 flows by end-to-end latency')).toBeInTheDocument();
    expect(screen.getByLabelText('Colour legend')).toHaveTextContent('colour: hop latency< 10 µs≥ 10 µs≥ 100 µs');
  });

  it('marks the drop with its reason, and the path change with the previous path', () => {
    render(<NetworkPathPanel {...props([withFieldConfig(smallFrame(), theme)])} />);
    const dns = screen.getByRole('button', { name: `Flow ${FLOW_DNS}` });
    expect(within(dns).getByRole('img')).toHaveAttribute(
      'aria-label',
      '10.3.3.30 → leaf3 → spine2 → 10.2.2.53; Dropped at spine2: tail drop: queue 3 full'
    );
    expect(within(dns).getByText(/drop at spine2/)).toBeInTheDocument();
    expect(within(dns).queryByTestId('networkpath-path-changed')).toBeNull();
    const db = screen.getByRole('button', { name: `Flow ${FLOW_DB}` });
    expect(within(db).getByTestId('networkpath-path-changed')).toBeInTheDocument();
    expect(within(db).getByText('was leaf1 → spine1 → leaf4')).toBeInTheDocument();
  });

  it('names the figure that colours the hops in the legend', () => {
    render(<NetworkPathPanel {...props([withFieldConfig(smallFrame(), theme)], { colorBy: 'queue_occupancy' })} />);
    expect(screen.getByLabelText('Colour legend')).toHaveTextContent('colour: queue occupancy< 100≥ 100≥ 400');
  });

  it('sets the dashboard variable when a flow is clicked', () => {
    const partial = jest.spyOn(locationService, 'partial').mockImplementation(() => undefined);
    render(<NetworkPathPanel {...props([smallFrame()], { flowVariable: 'picked' })} />);
    fireEvent.click(screen.getByRole('button', { name: `Flow ${FLOW_DB}` }));
    expect(partial).toHaveBeenCalledWith({ 'var-picked': FLOW_DB }, true);
    partial.mockRestore();
  });

  it('is not clickable without a variable name', () => {
    render(<NetworkPathPanel {...props([smallFrame()], { flowVariable: '' })} />);
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(rowNames()).toHaveLength(4);
  });

  it('shows only the flow the variable picks, highlighted', () => {
    render(<NetworkPathPanel {...props([smallFrame()], { selection: 'variable' }, { flow: FLOW_DNS })} />);
    expect(rowNames()).toEqual([`Flow ${FLOW_DNS}`]);
    expect(screen.getByRole('button', { name: `Flow ${FLOW_DNS}` })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByText('1 of 4 flows from $flow')).toBeInTheDocument();
  });

  it('says so when the picked flow has no reports', () => {
    render(
      <NetworkPathPanel
        {...props([smallFrame()], { selection: 'variable' }, { flow: '10.9.9.9:1 > 10.8.8.8:2 udp' })}
      />
    );
    expect(screen.getByRole('status')).toHaveTextContent(
      'No INT reports for flow 10.9.9.9:1 > 10.8.8.8:2 udp yet — the frame has 4 other flows'
    );
  });

  it('has an empty state', () => {
    render(<NetworkPathPanel {...props([])} />);
    expect(screen.getByRole('status')).toHaveTextContent(
      /^No INT reports for these flows yet — point the switches' INT exporter/
    );
  });

  it('names the missing fields in its error state', () => {
    render(<NetworkPathPanel {...props([pathFrame(smallRows(), ['flow'])])} />);
    expect(screen.getByRole('alert')).toHaveTextContent('The frame is missing required field flow:');
  });

  it('renders only the visible rows of 500 flows and keeps scroll across updates', () => {
    const p = props([largeFrame(500, 5, 0)], { topN: 500 });
    const { rerender } = render(<NetworkPathPanel {...p} />);
    const shown = rowNames().length;
    // 376 px of rows at 64 px each, plus 2 either side.
    expect(shown).toBe(visibleRange(0, 376, ROW_HEIGHT, 500, 2).last);
    expect(screen.getByText('Top 500 of 500 flows by end-to-end latency')).toBeInTheDocument();
    const scroller = screen.getByTestId('networkpath-scroller');
    scroller.scrollTop = ROW_HEIGHT * 200;
    fireEvent.scroll(scroller);
    const firstTop = () => Math.min(...screen.getAllByTestId('networkpath-row').map((r) => parseInt(r.style.top, 10)));
    expect(firstTop()).toBe(ROW_HEIGHT * 198);
    rerender(<NetworkPathPanel {...p} data={{ ...p.data, series: [largeFrame(500, 5, 1)] }} />);
    expect(screen.getByTestId('networkpath-scroller')).toBe(scroller);
    expect(firstTop()).toBe(ROW_HEIGHT * 198);
    const { first, last } = visibleRange(ROW_HEIGHT * 200, 376, ROW_HEIGHT, 500, 2);
    expect(rowNames()).toHaveLength(last - first);
  });
});

describe('visibleRange', () => {
  it('covers the view plus overscan, clamped to the rows', () => {
    expect(visibleRange(0, 640, 64, 500, 3)).toEqual({ first: 0, last: 13 });
    expect(visibleRange(6400, 640, 64, 500, 3)).toEqual({ first: 97, last: 113 });
    expect(visibleRange(31500, 640, 64, 500, 3)).toEqual({ first: 489, last: 500 });
  });
});
