import { GrafanaTheme2 } from '@grafana/data';

import { Figures } from '../display';
import { ColorFigure, FlowPath, Hop } from '../types';

// Where everything of one flow's path goes, as plain data: the canvas paints
// it, hovering looks titles up in it, and the tests read it.

export const PATH_HEIGHT = 64;
const BOX_H = 24;
const BOX_Y = 20;
const PAD = 36;
export const CENTER_Y = BOX_Y + BOX_H / 2;

export interface PathNode {
  kind: 'host' | 'switch';
  x: number;
  /** Text in the box (switch name) or above the dot (host address). */
  name: string;
  /** Ports and switch id above the box. */
  above: string;
  /** Hop latency and queue occupancy under the box. */
  below: string;
  fill: string;
  textColor: string;
  /** Outline of the hop where the packet was dropped. */
  stroke?: string;
  faded: boolean;
  /** What hovering the node shows. */
  title: string;
}

export interface PathLayout {
  boxW: number;
  boxH: number;
  boxY: number;
  links: Array<{ x1: number; x2: number; faded: boolean }>;
  nodes: PathNode[];
  drop?: { x: number; title: string };
  /** The path in words, for screen readers. */
  summary: string;
}

export interface LayoutOptions {
  colorBy: ColorFigure;
  showPorts: boolean;
  showSwitchIds: boolean;
}

// Text on a coloured box: the theme's contrast colour, worked out once per
// colour (it parses colours, and every update draws a hundred boxes).
const contrastCache = new WeakMap<GrafanaTheme2, Map<string, string>>();

function contrastText(theme: GrafanaTheme2, fill: string): string {
  let m = contrastCache.get(theme);
  if (!m) {
    m = new Map();
    contrastCache.set(theme, m);
  }
  let c = m.get(fill);
  if (c === undefined) {
    c = theme.colors.getContrastText(fill);
    m.set(fill, c);
  }
  return c;
}

function hopTitle(h: Hop, latency: string, occupancy: string, time: string): string {
  const lines = [`${h.name} (hop ${h.index})`];
  if (h.switchId !== null) {
    lines.push(`switch id ${h.switchId}`);
  }
  lines.push(`ports in ${h.ingressPort ?? '–'} → out ${h.egressPort ?? '–'}`);
  lines.push(`hop latency ${latency}`);
  lines.push(`queue ${h.queueId ?? '–'} occupancy ${occupancy}`);
  if (h.dropped) {
    lines.push(`dropped here: ${h.dropReason ?? 'reason not reported'}`);
  }
  lines.push(`reported ${time}`);
  return lines.join('\n');
}

export function dropTitle(flow: FlowPath): string | undefined {
  const h = flow.dropAt >= 0 ? flow.hops[flow.dropAt] : undefined;
  return h ? `Dropped at ${h.name}: ${h.dropReason ?? 'reason not reported'}` : undefined;
}

export function layoutPath(
  flow: FlowPath,
  width: number,
  opts: LayoutOptions,
  figures: Figures,
  theme: GrafanaTheme2,
  time: string
): PathLayout {
  const n = flow.hops.length;
  const step = (width - 2 * PAD) / (n + 1);
  const boxW = Math.max(28, Math.min(120, step - 18));
  const x = (i: number) => PAD + i * step;
  const dropped = flow.dropAt >= 0;
  const faded = theme.colors.text.disabled;
  const links: PathLayout['links'] = [];
  for (let i = 0; i <= n; i++) {
    links.push({ x1: x(i), x2: x(i + 1), faded: dropped && i > flow.dropAt });
  }
  const host = (i: number, addr: string | null, fallback: string, fade: boolean): PathNode => ({
    kind: 'host',
    x: x(i),
    name: addr ?? fallback,
    above: '',
    below: '',
    fill: fade ? faded : theme.colors.primary.main,
    textColor: theme.colors.text.secondary,
    faded: fade,
    title: `${fallback} ${addr ?? ''}`.trim(),
  });
  const nodes: PathNode[] = [host(0, flow.srcAddr, 'source', false)];
  flow.hops.forEach((h, i) => {
    const latency = figures.hopLatency.show(h.latency);
    const occupancy = figures.queueOccupancy.show(h.queueOccupancy);
    const colored = opts.colorBy === 'queue_occupancy' ? occupancy.color : latency.color;
    const fill = colored ?? theme.colors.background.secondary;
    const above: string[] = [];
    if (opts.showSwitchIds && h.switchId !== null) {
      above.push(`id ${h.switchId}`);
    }
    if (opts.showPorts) {
      above.push(`${h.ingressPort ?? '–'}→${h.egressPort ?? '–'}`);
    }
    nodes.push({
      kind: 'switch',
      x: x(i + 1),
      name: h.name,
      above: above.join(' · '),
      below: `${latency.text} · q ${occupancy.text}`,
      fill,
      textColor: colored ? contrastText(theme, fill) : theme.colors.text.primary,
      stroke: h.dropped ? theme.colors.error.main : undefined,
      faded: dropped && i > flow.dropAt,
      title: hopTitle(h, latency.text, occupancy.text, time),
    });
  });
  nodes.push(host(n + 1, flow.dstAddr, 'destination', dropped));
  const title = dropTitle(flow);
  const drop = title !== undefined ? { x: (x(flow.dropAt + 1) + x(flow.dropAt + 2)) / 2, title } : undefined;
  const summary = [flow.srcAddr ?? 'source', ...flow.hops.map((h) => h.name), flow.dstAddr ?? 'destination'].join(
    ' → '
  );
  return {
    boxW,
    boxH: BOX_H,
    boxY: BOX_Y,
    links,
    nodes,
    drop,
    summary: title ? `${summary}; ${title}` : summary,
  };
}

/** The title under a pointer at x (canvas pixels), if any. */
export function titleAt(layout: PathLayout, px: number): string {
  if (layout.drop && Math.abs(px - layout.drop.x) <= 9) {
    return layout.drop.title;
  }
  for (const node of layout.nodes) {
    const half = node.kind === 'switch' ? layout.boxW / 2 : 10;
    if (Math.abs(px - node.x) <= half) {
      return node.title;
    }
  }
  return '';
}
