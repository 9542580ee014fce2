import appPlugin from '../plugin.json';

// What the dashboard tests share: the panel and target shapes they read
// from the JSON, and the checks every bundled dashboard must pass.

/** A query target, with every field some bundled dashboard sets. */
export interface Target {
  refId: string;
  source?: string;
  kind?: string;
  editorMode?: string;
  expr?: string;
  metric?: string;
  rate?: boolean;
  matchers?: Array<{ label: string; op: string; value: string }>;
  aggregation?: string;
  groupBy?: string[];
  recordKind?: string;
  filters?: Array<{ field: string; op: string; values: string[] }>;
  aggregates?: Array<{ func: string; field?: string }>;
  columns?: string[];
  topN?: number;
  other?: boolean;
  bucket?: string;
  limit?: number;
  flow?: string;
  switchNames?: string;
  eventTypes?: string[];
  live?: boolean;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  datasource?: { type: string; uid: string };
  options?: Record<string, unknown>;
  fieldConfig?: {
    defaults: Record<string, unknown>;
    overrides: Array<{ matcher: { id: string; options: string }; properties: Array<{ id: string; value: unknown }> }>;
  };
  transformations?: Array<{ id: string; options: Record<string, unknown> }>;
}

/** A dashboard's panels, and all their targets each with its panel's title. */
export function panelsOf(dashboard: { panels: unknown }) {
  const panels = dashboard.panels as Panel[];
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
  return { panels, targets };
}

/** Expects the app to include the dashboard under its name and file, and the dashboard to carry uid and title. */
export function expectIncluded(dashboard: { uid: string; title: string }, name: string, file: string, uid: string) {
  expect(appPlugin.includes).toContainEqual({ type: 'dashboard', name, path: `dashboards/${file}` });
  expect(dashboard.uid).toBe(uid);
  expect(dashboard.title).toBe(name);
}

/** Expects unique panel ids, and panels within the 24 columns that share no grid cell. */
export function expectTidyGrid(panels: Panel[]) {
  const ids = panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  const cells = new Set<string>();
  for (const p of panels) {
    expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        const cell = `${x},${y}`;
        expect({ panel: p.title, cell, taken: cells.has(cell) }).toEqual({ panel: p.title, cell, taken: false });
        cells.add(cell);
      }
    }
  }
}

/** What a dashboard may ask of one series: its labels, and whether it is a counter (asked as a rate). */
export type SeriesSpec = Record<string, { counter: boolean; labels: string[] }>;

/**
 * Expects each builder series target to name a known series, ask a counter
 * as a rate and a gauge as it is, match and group only by the series' labels
 * with operators the backend knows, and aggregate whenever it groups.
 */
export function expectKnownSeries(
  series: Array<Target & { panel: string }>,
  known: SeriesSpec,
  ops: readonly string[]
) {
  for (const t of series) {
    const spec = known[t.metric ?? ''];
    expect({ panel: t.panel, metric: t.metric, known: Boolean(spec) }).toEqual({
      panel: t.panel,
      metric: t.metric,
      known: true,
    });
    expect({ metric: t.metric, rate: t.rate }).toEqual({ metric: t.metric, rate: spec.counter });
    for (const m of t.matchers ?? []) {
      expect(ops).toContain(m.op);
    }
    for (const l of [...(t.groupBy ?? []), ...(t.matchers ?? []).map((m) => m.label)]) {
      expect({ metric: t.metric, label: l, known: spec.labels.includes(l) }).toEqual({
        metric: t.metric,
        label: l,
        known: true,
      });
    }
    // The backend refuses a group by without an aggregation.
    if ((t.groupBy ?? []).length > 0) {
      expect(t.aggregation).toBeTruthy();
    }
  }
}
