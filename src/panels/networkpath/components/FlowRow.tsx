import React, { useMemo } from 'react';
import { GrafanaTheme2 } from '@grafana/data';
import { Icon, Tooltip } from '@grafana/ui';

import { Figures } from '../display';
import { ColorFigure, FlowPath } from '../types';
import { PathCanvas } from './PathCanvas';
import { dropTitle, layoutPath, PATH_HEIGHT } from './rowLayout';
import { PanelStyles } from './styles';

export const ROW_HEIGHT = PATH_HEIGHT;

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

function FlowRowImpl(props: Props) {
  const { flow, top, width, colorBy, showPorts, showSwitchIds, figures, selected, clickable, onSelect, styles, theme } =
    props;
  const lw = labelWidth(width);
  const svgW = Math.max(120, width - lw);
  const time = props.formatTime(flow.time);
  const layout = useMemo(
    () => layoutPath(flow, svgW, { colorBy, showPorts, showSwitchIds }, figures, theme, time),
    [flow, svgW, colorBy, showPorts, showSwitchIds, figures, theme, time]
  );
  const dropHop = flow.dropAt >= 0 ? flow.hops[flow.dropAt] : undefined;

  const select = () => clickable && onSelect(flow.flow);
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
            <Tooltip content={dropTitle(flow) ?? ''}>
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
      <PathCanvas layout={layout} width={svgW} height={ROW_HEIGHT} theme={theme} className={styles.svg} />
    </div>
  );
}

/** Rows re-render only when their flow or look changes, not when others do. */
export const FlowRow = React.memo(FlowRowImpl);
