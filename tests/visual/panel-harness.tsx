import React, { useEffect, useState } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { createTheme, DataFrame, getDefaultTimeRange, LoadingState, PanelProps } from '@grafana/data';
import { GlobalStyles, ThemeContext } from '@grafana/ui';

import { NetworkPathPanel } from '../../src/panels/networkpath/components/NetworkPathPanel';
import {
  FLOW_DB,
  largeFrame,
  pathFrame,
  smallFrame,
  smallRows,
  withFieldConfig,
} from '../../src/panels/networkpath/testing/fixtures';
import { DEFAULT_OPTIONS, Options } from '../../src/panels/networkpath/types';

// One page shows the network path panel with recorded frames:
// ?view=<name>&theme=dark|light&width=<px>&height=<px>. The "live" view
// also offers window.__live.run(updates, intervalMs), which hands the panel
// a new 500-flow frame each interval and measures each update.

interface Figures {
  p50: number;
  p95: number;
  max: number;
  over16: number;
}

interface LiveStats {
  updates: number;
  /** ms from handing the panel a frame to React's commit plus the browser's style and layout. */
  samples: number[];
  total: Figures;
  /** The same, up to React's commit only (render of the panel and DOM updates). */
  commit: Figures;
}

declare global {
  interface Window {
    __ready?: boolean;
    __live?: { run: (updates: number, intervalMs: number, scrollAt?: number) => Promise<LiveStats> };
  }
}

const params = new URLSearchParams(window.location.search);
const themeName = params.get('theme') === 'light' ? 'light' : 'dark';
const view = params.get('view') ?? 'small';
const width = Number(params.get('width') ?? 1100);
const height = Number(params.get('height') ?? 340);
const theme = createTheme({ colors: { mode: themeName } });

// The dashboard's variables as the page's replaceVariables sees them.
const VARIABLES: Record<string, string> = { flow: FLOW_DB };

function replaceVariables(value: string, _scoped?: unknown, format?: string | Function) {
  return value.replace(/\$(\w+)/g, (m, name: string) =>
    name in VARIABLES ? (typeof format === 'function' ? format(VARIABLES[name]) : VARIABLES[name]) : m
  );
}

const VIEWS: Record<string, { frames: () => DataFrame[]; options?: Partial<Options> }> = {
  small: { frames: () => [withFieldConfig(smallFrame(), theme)] },
  'small-queue': {
    frames: () => [withFieldConfig(smallFrame(), theme)],
    options: { colorBy: 'queue_occupancy', showSwitchIds: true, showPorts: false },
  },
  picked: { frames: () => [withFieldConfig(smallFrame(), theme)], options: { selection: 'variable' } },
  large: { frames: () => [withFieldConfig(largeFrame(500, 5, 0), theme)], options: { topN: 500 } },
  live: { frames: () => [withFieldConfig(largeFrame(500, 5, 0), theme)], options: { topN: 500 } },
  empty: { frames: () => [] },
  error: { frames: () => [pathFrame(smallRows(), ['hop', 'switch'])] },
};

function panelProps(series: DataFrame[], options: Partial<Options>): PanelProps<Options> {
  const timeRange = getDefaultTimeRange();
  return {
    id: 1,
    data: { series, state: LoadingState.Done, timeRange },
    timeRange,
    timeZone: 'utc',
    options: { ...DEFAULT_OPTIONS, ...options },
    transparent: false,
    width,
    height,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title: 'Network path',
    eventBus: undefined as never,
    onOptionsChange: () => undefined,
    onFieldConfigChange: () => undefined,
    onChangeTimeRange: () => undefined,
    replaceVariables,
  };
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    max: sorted[sorted.length - 1],
    over16: samples.filter((s) => s >= 16).length,
  };
}

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The panel and its data; GlobalStyles sit above it, as in Grafana, where a new frame does not re-render them. */
function PanelHost() {
  const spec = VIEWS[view] ?? VIEWS.small;
  const [series, setSeries] = useState<DataFrame[]>(spec.frames);
  const [options] = useState<Partial<Options>>(spec.options ?? {});

  useEffect(() => {
    window.__live = {
      async run(updates, intervalMs, scrollAt) {
        const samples: number[] = [];
        const commits: number[] = [];
        for (let i = 1; i <= updates; i++) {
          await sleep(intervalMs);
          if (scrollAt !== undefined && i === Math.floor(updates / 2)) {
            const scroller = document.querySelector<HTMLElement>('[data-testid="networkpath-scroller"]');
            if (scroller) {
              scroller.scrollTop = scrollAt;
              await nextFrame();
            }
          }
          // Building the frame and its display processors is the data
          // source's and Grafana's work, not the panel's: outside the measure.
          const next = [withFieldConfig(largeFrame(500, 5, i), theme)];
          performance.mark('netlens-update-start');
          flushSync(() => setSeries(next));
          performance.mark('netlens-update-commit');
          // Forces the browser's style and layout of what React committed.
          void document.body.offsetHeight;
          performance.mark('netlens-update-end');
          const m = performance.measure('netlens-update', 'netlens-update-start', 'netlens-update-end');
          samples.push(m.duration);
          commits.push(performance.measure('netlens-commit', 'netlens-update-start', 'netlens-update-commit').duration);
          await nextFrame();
        }
        return { updates, samples, total: figures(samples), commit: figures(commits) };
      },
    };
    window.__ready = true;
  }, []);

  return (
    <div
      id="shot"
      style={{
        width: width + 18,
        height: height + 18,
        padding: 8,
        boxSizing: 'border-box',
        background: theme.colors.background.primary,
        border: `1px solid ${theme.colors.border.weak}`,
      }}
    >
      <NetworkPathPanel {...panelProps(series, options)} />
    </div>
  );
}

function App() {
  return (
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <PanelHost />
    </ThemeContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
