import React, { useCallback, useMemo } from 'react';
import { dateTimeFormat, PanelProps } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import { TimeZone } from '@grafana/schema';
import { Icon, useStyles2, useTheme2 } from '@grafana/ui';

import { Figure, figuresFor } from '../display';
import { parsePathFrames, resolveFlowFilter, selectFlows } from '../paths';
import { Options } from '../types';
import { FlowRow, ROW_HEIGHT } from './FlowRow';
import { getStyles, PanelStyles } from './styles';
import { VirtualRows } from './VirtualRows';

const HEADER_H = 24;

export const EMPTY_HINT =
  "point the switches' INT exporter at the Netlens collector (UDP 31337 by default) and check that the query returns INT path rows for the time range.";

/** Sets the dashboard variable a flow row click stands for; other panels and tables follow it. */
export function selectFlowVariable(variable: string, flow: string) {
  locationService.partial({ [`var-${variable}`]: flow }, true);
}

/** Formatting a time through the time zone is slow; a frame has few distinct times. */
function timeFormatter(timeZone: TimeZone) {
  const cache = new Map<number, string>();
  return (ms: number) => {
    let s = cache.get(ms);
    if (s === undefined) {
      if (cache.size > 4096) {
        // A live stream brings a new time every second.
        cache.clear();
      }
      s = dateTimeFormat(ms, { timeZone });
      cache.set(ms, s);
    }
    return s;
  };
}

function Legend({ figure, label, styles }: { figure: Figure; label: string; styles: PanelStyles }) {
  const theme = useTheme2();
  const steps = figure.steps;
  return (
    <span className={styles.legend} aria-label="Colour legend">
      <span>colour: {label}</span>
      {steps.map((s, i) => (
        <span key={i}>
          <span className={styles.swatch} style={{ background: theme.visualization.getColorByName(s.color) }} />
          {i === 0 ? (steps.length > 1 ? `< ${figure.text(steps[1].value)}` : 'all') : `≥ ${figure.text(s.value)}`}
        </span>
      ))}
    </span>
  );
}

function Message({ styles, error, children }: { styles: PanelStyles; error?: boolean; children: React.ReactNode }) {
  return (
    <div className={styles.message} role={error ? 'alert' : 'status'}>
      <Icon
        name={error ? 'exclamation-triangle' : 'info-circle'}
        size="xl"
        className={error ? styles.messageError : undefined}
      />
      <div className={error ? styles.messageError : undefined}>{children}</div>
    </div>
  );
}

export function NetworkPathPanel({ data, options, width, height, replaceVariables, timeZone }: PanelProps<Options>) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const parsed = useMemo(() => parsePathFrames(data.series), [data.series]);
  const figures = useMemo(() => (parsed.kind === 'ok' ? figuresFor(parsed.fields, theme) : undefined), [parsed, theme]);
  const wanted =
    options.selection === 'variable' ? resolveFlowFilter(options.flowFilter ?? '', replaceVariables) : null;
  const wantedKey = wanted?.join('\u001f') ?? '';
  const selection = useMemo(
    () =>
      parsed.kind === 'ok'
        ? selectFlows(parsed.flows, options, wantedKey === '' ? null : wantedKey.split('\u001f'))
        : undefined,
    // options is a new object only when the user edits it.
    [parsed, options, wantedKey]
  );
  const variable = options.flowVariable?.trim() ?? '';
  const onSelect = useCallback((flow: string) => selectFlowVariable(variable, flow), [variable]);
  const formatTime = useMemo(() => timeFormatter(timeZone), [timeZone]);
  const selectedSet = useMemo(() => new Set(wantedKey === '' ? [] : wantedKey.split('\u001f')), [wantedKey]);

  if (parsed.kind === 'error') {
    return (
      <Message styles={styles} error>
        {parsed.message}
      </Message>
    );
  }
  if (parsed.kind === 'empty' || !selection || !figures) {
    return <Message styles={styles}>No INT reports for these flows yet — {EMPTY_HINT}</Message>;
  }
  if (selection.flows.length === 0) {
    return (
      <Message styles={styles}>
        No INT reports for {wanted && wanted.length === 1 ? `flow ${wanted[0]}` : 'the selected flows'} yet — the frame
        has {selection.total} other flow{selection.total === 1 ? '' : 's'}; pick another flow or {EMPTY_HINT}
      </Message>
    );
  }

  const colorLabel = options.colorBy === 'queue_occupancy' ? 'queue occupancy' : 'hop latency';
  const colorFigure = options.colorBy === 'queue_occupancy' ? figures.queueOccupancy : figures.hopLatency;
  const summary = selection.byVariable
    ? `${selection.flows.length} of ${selection.total} flows from ${options.flowFilter}`
    : `Top ${selection.flows.length} of ${selection.total} flows by end-to-end latency`;
  const flows = selection.flows;
  const clickable = variable !== '';

  return (
    <div className={styles.root}>
      <div className={styles.header} style={{ width }}>
        <span>{summary}</span>
        <Legend figure={colorFigure} label={colorLabel} styles={styles} />
      </div>
      <VirtualRows
        count={flows.length}
        rowHeight={ROW_HEIGHT}
        height={Math.max(0, height - HEADER_H)}
        width={width}
        renderRow={(i, top) => (
          <FlowRow
            // Keyed by position: when the ranking changes each second, the
            // rows in view keep their DOM nodes and only their contents change.
            key={i}
            flow={flows[i]}
            top={top}
            // Leave room for the scroll bar.
            width={width - 12}
            colorBy={options.colorBy}
            showPorts={options.showPorts}
            showSwitchIds={options.showSwitchIds}
            figures={figures}
            selected={selectedSet.has(flows[i].flow)}
            clickable={clickable}
            onSelect={onSelect}
            styles={styles}
            theme={theme}
            formatTime={formatTime}
          />
        )}
      />
    </div>
  );
}
