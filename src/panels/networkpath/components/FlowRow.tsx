import React from 'react';
import { GrafanaTheme2 } from '@grafana/data';
import { Icon, Tooltip } from '@grafana/ui';

import { Figures } from '../display';
import { ColorFigure, FlowPath, Hop } from '../types';
import { PanelStyles } from './styles';

export const ROW_HEIGHT = 64;
const BOX_H = 24;
const BOX_Y = 20;
const HOST_R = 6;
const PAD = 36;

export function labelWidth(width: number) {
  return Math.max(160, Math.min(300, Math.round(width * 0.3)));
}

interface Props {
  flow: FlowPath;
  top: number;
  width: number;
  colorBy: ColorFigure;
  showPorts: boolean;
  showSwitchIds: boolean;
  figures: Figures;
  selected: boolean;
  clickable: boolean;
  onSelect: (flow: string) => void;
  styles: PanelStyles;
  theme: GrafanaTheme2;
  formatTime: (ms: number) => string;
}

// Text on a coloured box: the theme's contrast colour, worked out once per
// colour (it parses colours, and a 500-flow update draws hundreds of boxes).
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

function FlowRowImpl(props: Props) {
  const { flow, top, width, colorBy, showPorts, showSwitchIds, figures, selected, clickable, onSelect, styles, theme } =
    props;
  const lw = labelWidth(width);
  const svgW = Math.max(120, width - lw);
  const n = flow.hops.length;
  const step = (svgW - 2 * PAD) / (n + 1);
  const boxW = Math.max(28, Math.min(120, step - 18));
  const x = (i: number) => PAD + i * step;
  const cy = BOX_Y + BOX_H / 2;
  const time = props.formatTime(flow.time);
  const dropped = flow.dropAt >= 0;
  const dropHop = dropped ? flow.hops[flow.dropAt] : undefined;
  const line = theme.colors.border.strong;
  const faded = theme.colors.text.disabled;
  const error = theme.colors.error.main;

  const select = () => clickable && onSelect(flow.flow);
  const nodes: React.ReactNode[] = [];
  // Links first, so boxes sit on top of them.
  for (let i = 0; i <= n; i++) {
    const afterDrop = dropped && i > flow.dropAt;
    nodes.push(
      <line
        key={`l${i}`}
        x1={x(i)}
        x2={x(i + 1)}
        y1={cy}
        y2={cy}
        stroke={afterDrop ? faded : line}
        strokeWidth={afterDrop ? 1 : 2}
        strokeDasharray={afterDrop ? '4 4' : undefined}
      />
    );
  }
  nodes.push(
    <g key="src">
      <circle cx={x(0)} cy={cy} r={HOST_R} fill={theme.colors.primary.main} />
      <text x={x(0)} y={BOX_Y - 6} textAnchor="middle" className={styles.small}>
        {flow.srcAddr ?? 'source'}
      </text>
    </g>
  );
  flow.hops.forEach((h, i) => {
    const cx0 = x(i + 1);
    const latency = figures.hopLatency.show(h.latency);
    const occupancy = figures.queueOccupancy.show(h.queueOccupancy);
    const colored = colorBy === 'queue_occupancy' ? occupancy.color : latency.color;
    const fill = colored ?? theme.colors.background.secondary;
    const textColor = colored ? contrastText(theme, fill) : theme.colors.text.primary;
    const ids: string[] = [];
    if (showSwitchIds && h.switchId !== null) {
      ids.push(`id ${h.switchId}`);
    }
    if (showPorts) {
      ids.push(`${h.ingressPort ?? '–'}→${h.egressPort ?? '–'}`);
    }
    const afterDrop = dropped && i > flow.dropAt;
    nodes.push(
      <g key={`h${i}`} opacity={afterDrop ? 0.4 : 1} data-testid="networkpath-hop">
        <title>{hopTitle(h, latency.text, occupancy.text, time)}</title>
        {ids.length > 0 && (
          <text x={cx0} y={BOX_Y - 6} textAnchor="middle" className={styles.small}>
            {ids.join(' · ')}
          </text>
        )}
        <rect
          x={cx0 - boxW / 2}
          y={BOX_Y}
          width={boxW}
          height={BOX_H}
          rx={theme.shape.radius.default}
          fill={fill}
          stroke={h.dropped ? error : 'none'}
          strokeWidth={h.dropped ? 2 : 0}
        />
        <text x={cx0} y={cy + 4} textAnchor="middle" fill={textColor} className={styles.boxText}>
          {h.name}
        </text>
        <text x={cx0} y={BOX_Y + BOX_H + 13} textAnchor="middle" className={styles.small}>
          {`${latency.text} · q ${occupancy.text}`}
        </text>
      </g>
    );
  });
  if (dropHop) {
    const mx = (x(flow.dropAt + 1) + x(flow.dropAt + 2)) / 2;
    nodes.push(
      <g key="drop" data-testid="networkpath-drop">
        <title>{`Dropped at ${dropHop.name}: ${dropHop.dropReason ?? 'reason not reported'}`}</title>
        <circle cx={mx} cy={cy} r={8} fill={error} />
        <path
          d={`M${mx - 3.5} ${cy - 3.5} L${mx + 3.5} ${cy + 3.5} M${mx + 3.5} ${cy - 3.5} L${mx - 3.5} ${cy + 3.5}`}
          stroke={theme.colors.error.contrastText}
          strokeWidth={2}
        />
      </g>
    );
  }
  nodes.push(
    <g key="dst" opacity={dropped ? 0.4 : 1}>
      <circle cx={x(n + 1)} cy={cy} r={HOST_R} fill={theme.colors.primary.main} />
      <text x={x(n + 1)} y={BOX_Y - 6} textAnchor="middle" className={styles.small}>
        {flow.dstAddr ?? 'destination'}
      </text>
    </g>
  );

  return (
    <div
      // Plain class lists: emotion's cx would serialise a merged class on every render.
      className={`${styles.row}${selected ? ` ${styles.selected}` : ''}${clickable ? ` ${styles.clickable}` : ''}`}
      style={{ top, height: ROW_HEIGHT, width }}
      role={clickable ? 'button' : undefined}
      tabIndex={clickable ? 0 : undefined}
      aria-label={`Flow ${flow.flow}`}
      aria-pressed={clickable ? selected : undefined}
      onClick={select}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          select();
        }
      }}
      data-testid="networkpath-row"
    >
      <div className={styles.label} style={{ width: lw }}>
        <div className={styles.flowName} title={flow.flow}>
          {flow.flow}
        </div>
        <div className={styles.badges}>
          <span className={styles.e2e}>e2e {figures.e2eLatency.text(flow.e2eLatency)}</span>
          {dropHop && (
            <Tooltip content={`Dropped at ${dropHop.name}: ${dropHop.dropReason ?? 'reason not reported'}`}>
              <span className={styles.dropBadge}>
                <Icon name="times-circle" size="sm" /> drop at {dropHop.name}
              </span>
            </Tooltip>
          )}
          {flow.pathChanged && (
            <Tooltip
              content={
                flow.previousPath
                  ? `Path changed. Before (${props.formatTime(flow.previousTime ?? 0)}): ${flow.previousPath.join(' → ')}`
                  : 'Path changed since the previous report (that report is outside the time range)'
              }
            >
              <span className={styles.changeBadge} data-testid="networkpath-path-changed">
                <Icon name="code-branch" size="sm" /> path changed
              </span>
            </Tooltip>
          )}
        </div>
        {flow.previousPath && <div className={styles.previous}>was {flow.previousPath.join(' → ')}</div>}
      </div>
      <svg width={svgW} height={ROW_HEIGHT} className={styles.svg}>
        {nodes}
      </svg>
    </div>
  );
}

/** Rows re-render only when their flow or look changes, not when others do. */
export const FlowRow = React.memo(FlowRowImpl);
