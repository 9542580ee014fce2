import { createTheme } from '@grafana/data';

import { figuresFor } from '../display';
import { parsePathFrames } from '../paths';
import { FLOW_DB, FLOW_DNS, FLOW_WEB, smallFrame, withFieldConfig } from '../testing/fixtures';
import { layoutPath, LayoutOptions, titleAt } from './rowLayout';

const theme = createTheme({ colors: { mode: 'dark' } });
const c = theme.visualization.getColorByName;
const parsed = parsePathFrames([withFieldConfig(smallFrame(), theme)]);
if (parsed.kind !== 'ok') {
  throw new Error('want ok');
}
const figures = figuresFor(parsed.fields, theme);
const flow = (id: string) => parsed.flows.find((f) => f.flow === id)!;
const opts: LayoutOptions = { colorBy: 'hop_latency', showPorts: true, showSwitchIds: false };

describe('layoutPath', () => {
  it('places source, switches in hop order and destination left to right, with values and units', () => {
    const l = layoutPath(flow(FLOW_WEB), 800, opts, figures, theme, 'now');
    expect(l.nodes.map((n) => n.name)).toEqual(['10.1.1.10', 'leaf1', 'spine1', 'leaf2', '10.2.2.20']);
    expect(l.nodes.map((n) => n.kind)).toEqual(['host', 'switch', 'switch', 'switch', 'host']);
    const xs = l.nodes.map((n) => n.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(l.nodes[2].below).toBe('14.5 µs · q 120');
    expect(l.nodes[2].above).toBe('1→2');
    expect(l.links).toHaveLength(4);
    expect(l.drop).toBeUndefined();
  });

  it('colours each switch by the thresholds of the chosen figure', () => {
    const byLatency = layoutPath(flow(FLOW_WEB), 800, opts, figures, theme, 'now');
    expect(byLatency.nodes.slice(1, 4).map((n) => n.fill)).toEqual(['green', 'orange', 'green'].map(c));
    const byQueue = layoutPath(flow(FLOW_WEB), 800, { ...opts, colorBy: 'queue_occupancy' }, figures, theme, 'now');
    expect(byQueue.nodes.slice(1, 4).map((n) => n.fill)).toEqual(['blue', 'yellow', 'blue'].map(c));
    expect(byQueue.nodes[2].textColor).toBe(theme.colors.getContrastText(c('yellow')));
  });

  it('shows switch ids and hides ports when asked', () => {
    const l = layoutPath(
      flow(FLOW_WEB),
      800,
      { ...opts, showPorts: false, showSwitchIds: true },
      figures,
      theme,
      'now'
    );
    expect(l.nodes[2].above).toBe(`id ${0x1a2b11}`);
  });

  it('marks the drop after the hop where it happened, fades the rest, and titles it with the reason', () => {
    const l = layoutPath(flow(FLOW_DNS), 800, opts, figures, theme, 'now');
    const spine2 = l.nodes[2];
    expect(spine2).toMatchObject({ name: 'spine2', stroke: theme.colors.error.main, below: '– · q 512' });
    expect(spine2.title).toContain('dropped here: tail drop: queue 3 full');
    expect(l.drop?.title).toBe('Dropped at spine2: tail drop: queue 3 full');
    expect(l.drop!.x).toBeGreaterThan(spine2.x);
    expect(l.drop!.x).toBeLessThan(l.nodes[3].x);
    expect(l.nodes[3]).toMatchObject({ kind: 'host', faded: true });
    expect(l.links.map((k) => k.faded)).toEqual([false, false, true]);
    expect(l.summary).toBe('10.3.3.30 → leaf3 → spine2 → 10.2.2.53; Dropped at spine2: tail drop: queue 3 full');
  });

  it('gives the title of what is under the pointer', () => {
    const l = layoutPath(flow(FLOW_DB), 800, opts, figures, theme, '2026-11-25 12:00:01');
    expect(titleAt(l, l.nodes[2].x)).toBe(
      `spine2 (hop 1)\nswitch id ${0x1a2b12}\nports in 1 → out 4\nhop latency 3.30 µs\nqueue 3 occupancy 30\nreported 2026-11-25 12:00:01`
    );
    expect(titleAt(l, (l.nodes[1].x + l.nodes[2].x) / 2)).toBe('');
    const dns = layoutPath(flow(FLOW_DNS), 800, opts, figures, theme, 'now');
    expect(titleAt(dns, dns.drop!.x)).toBe('Dropped at spine2: tail drop: queue 3 full');
  });
});
