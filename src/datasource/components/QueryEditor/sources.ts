import { ComponentType } from 'react';
import { SelectableValue, TimeRange } from '@grafana/data';

import type { DataSource } from '../../datasource';
import { NetlensQuery, QueryKind, RecordKind, Source } from '../../types';
import { FtdEditor } from '../FtdEditor/FtdEditor';
import { IntEditor, IntSeriesEditor } from '../IntEditor/IntEditor';
import { intKindPatch } from '../IntEditor/intQuery';
import { XrEditor } from '../XrEditor/XrEditor';

/** What every source's builder section receives. */
export interface SourceEditorProps {
  query: NetlensQuery;
  datasource: DataSource;
  range?: TimeRange;
  /** Applies a change to the query and runs it. */
  onChange: (patch: Partial<NetlensQuery>) => void;
}

export interface SourceSection {
  label: string;
  /** What the source sends, as in "Netlens does not collect … yet". */
  description: string;
  /** Missing while the collector does not receive this source yet. */
  Builder?: ComponentType<SourceEditorProps>;
  /** The kinds of query the source answers, in the header's order; series alone when absent. */
  kinds?: Array<SelectableValue<QueryKind>>;
  /** The record schema of the source's records queries. */
  recordKind?: RecordKind;
  /**
   * The builder also edits the source's records queries and picks the kind
   * itself (an XR leaf decides: numbers are series, strings records), so the
   * header offers no kind switch.
   */
  builderPicksKind?: boolean;
  /**
   * The editor of the source's kinds other than series (INT: reports, path,
   * episodes); the Builder stays the series builder. Records use
   * RecordsEditor and events EventsEditor when absent.
   */
  KindsEditor?: ComponentType<SourceEditorProps>;
  /** The change that turns a query of this source into the given kind, when it needs more than the kind. */
  kindPatch?: (query: Partial<NetlensQuery>, kind: QueryKind) => Partial<NetlensQuery>;
}

const SERIES: SelectableValue<QueryKind> = { value: 'series', label: 'Series' };

// One entry a source: a new receiver plugs in its builder here. The series
// builder is the same PromQL builder for every source: the metric catalog
// narrows to the source's own metrics (ipfix_bytes_total, ...).
export const SOURCES: Record<Source, SourceSection> = {
  ftd: {
    label: 'Cisco FTD',
    description: 'Firepower Threat Defense streaming telemetry',
    Builder: FtdEditor,
    kinds: [SERIES, { value: 'events', label: 'Device events', description: 'For annotations and tables' }],
  },
  xr: {
    label: 'Cisco IOS XR',
    description: 'Policy-driven and model-driven telemetry',
    Builder: XrEditor,
    kinds: [SERIES, { value: 'records', label: 'States', description: 'String leaves: states, descriptions' }],
    recordKind: 'xr_state',
    builderPicksKind: true,
  },
  int: {
    label: 'INT',
    description: 'Inband network telemetry reports',
    Builder: IntSeriesEditor,
    kinds: [
      { value: 'records', label: 'Reports', description: 'Flow, drop and queue reports: figures or raw' },
      { value: 'path', label: 'Path', description: 'Flows hop by hop, for the Network path panel' },
      SERIES,
      { value: 'episodes', label: 'Episodes', description: 'Drops and congestion, for annotations' },
    ],
    recordKind: 'int_report',
    KindsEditor: IntEditor,
    kindPatch: intKindPatch,
  },
  ipfix: {
    label: 'IPFIX',
    description: 'Flow records',
    Builder: FtdEditor,
    kinds: [SERIES, { value: 'records', label: 'Flow records', description: 'Every flow, filtered and aggregated' }],
    recordKind: 'ipfix_flow',
  },
};

/** The kinds of query a source answers. */
export function kindsOf(source: Source | undefined): QueryKind[] {
  const section = SOURCES[source ?? 'ftd'] ?? SOURCES.ftd;
  return (section.kinds ?? [SERIES]).map((k) => k.value!);
}

// The header's select menu is as narrow as the select and wraps a
// description word by word; a few words fit, a sentence did not.
export const SOURCE_OPTIONS: Array<SelectableValue<Source>> = (Object.keys(SOURCES) as Source[]).map((s) => ({
  value: s,
  label: SOURCES[s].label,
  description: SOURCES[s].Builder ? undefined : 'not received yet',
  isDisabled: !SOURCES[s].Builder,
}));
