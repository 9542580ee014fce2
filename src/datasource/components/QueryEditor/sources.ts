import { ComponentType } from 'react';
import { SelectableValue, TimeRange } from '@grafana/data';

import type { DataSource } from '../../datasource';
import { NetlensQuery, Source } from '../../types';
import { FtdEditor } from '../FtdEditor/FtdEditor';

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
}

// One entry a source: a new receiver plugs in its builder here.
export const SOURCES: Record<Source, SourceSection> = {
  ftd: { label: 'Cisco FTD', description: 'Firepower Threat Defense streaming telemetry', Builder: FtdEditor },
  xr: { label: 'Cisco IOS XR', description: 'Model-driven telemetry' },
  int: { label: 'INT', description: 'Inband network telemetry reports' },
  ipfix: { label: 'IPFIX', description: 'Flow records' },
};

// The header's select menu is as narrow as the select and wraps a
// description word by word; a few words fit, a sentence did not.
export const SOURCE_OPTIONS: Array<SelectableValue<Source>> = (Object.keys(SOURCES) as Source[]).map((s) => ({
  value: s,
  label: SOURCES[s].label,
  description: SOURCES[s].Builder ? undefined : 'not received yet',
  isDisabled: !SOURCES[s].Builder,
}));
