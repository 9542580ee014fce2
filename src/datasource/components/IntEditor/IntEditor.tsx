import React, { useMemo, useRef } from 'react';
import { SelectableValue } from '@grafana/data';
import { EditorField, EditorRow } from '@grafana/plugin-ui';
import { Alert, Combobox, ComboboxOption, Input, MultiCombobox, RadioButtonGroup, Text, useStyles2 } from '@grafana/ui';

import { IntFlow, IntSwitch, RecordFilter, RecordFunc } from '../../types';
import { FtdEditor } from '../FtdEditor/FtdEditor';
import { withCurrent } from '../QueryEditor/options';
import { SourceEditorProps } from '../QueryEditor/sources';
import { useLoader, useSlow } from '../QueryEditor/useLoader';
import { FUNC_HELP } from '../RecordsEditor/describe';
import { RecordFilters } from '../RecordsEditor/RecordsEditor';
import { GroupByField, positiveInt, RankRow, RawRow, RecordsPreview } from '../RecordsEditor/QuerySections';
import { getEditorStyles } from '../QueryEditor/styles';
import {
  DEFAULT_PATH_FLOWS,
  describePath,
  episodeTypes,
  Figure,
  FIGURE_FUNCS,
  figureOf,
  figurePatch,
  filtersOf,
  GROUP_LABELS,
  INT_COLUMNS,
  INT_PORT,
  INT_REPORT,
  MAX_PATH_FLOWS,
  ReportType,
  reportTypePatch,
  selectionOf,
} from './intQuery';

const REPORT_TYPE_OPTIONS: Array<SelectableValue<ReportType>> = [
  { value: 'flow', label: 'Flow', description: 'Flow reports, INT reports from the sink and postcard paths' },
  { value: 'drop', label: 'Drop', description: 'Drop reports: where and why packets were dropped' },
  { value: 'queue', label: 'Queue', description: 'Queue congestion reports' },
  { value: 'all', label: 'All', description: 'Every report' },
];

const FIGURE_OPTIONS: Array<ComboboxOption<Figure>> = [
  { value: 'hop_latency', label: 'hop latency', description: 'max_hop_latency: the slowest hop of a report, ns' },
  { value: 'e2e_latency', label: 'end-to-end latency', description: 'e2e_latency: first to last switch, ns' },
  { value: 'queue_occupancy', label: 'queue occupancy', description: 'queue_occupancy of the report' },
  { value: 'count', label: 'report count', description: 'how many reports' },
  { value: 'none', label: 'none: raw reports', description: 'the reports themselves, newest first, as a table' },
];

const FUNC_OPTIONS: Array<ComboboxOption<RecordFunc>> = FIGURE_FUNCS.map((f) => ({
  value: f,
  description: FUNC_HELP[f],
}));

const GROUP_OPTIONS: Array<ComboboxOption<string>> = Object.entries(GROUP_LABELS).map(([value, label]) => ({
  value,
  label,
  description: value,
}));

const EPISODE_OPTIONS: Array<ComboboxOption<string>> = [
  { value: 'drop', label: 'drop', description: 'drop reports of a switch and port with no gap over 10 s' },
  {
    value: 'congestion',
    label: 'congestion',
    description: 'queue reports of a switch and queue with no gap over 10 s',
  },
];

/** Filter fields: int_report's columns with what they mean; the switch and type have pickers of their own. */
const FILTER_FIELD_OPTIONS: Array<ComboboxOption<string>> = INT_COLUMNS.filter(
  (c) => !['time', 'hops'].includes(c.name)
).map((c) => ({ value: c.name, description: c.help }));

const COLUMN_OPTIONS: Array<ComboboxOption<string>> = INT_COLUMNS.map((c) => ({ value: c.name, description: c.help }));

/** The flows whose id holds the typed text, most reported first, each with its count. */
export function matchingFlows(flows: IntFlow[], typed: string): Array<ComboboxOption<string>> {
  const t = typed.toLowerCase();
  return flows
    .filter((f) => f.flow.toLowerCase().includes(t))
    .map((f) => ({ value: f.flow, description: `${f.reports.toLocaleString('en')} reports` }));
}

/** A switch's option: its name when the settings give one, the id or address beside it. */
export function switchOption(s: IntSwitch): ComboboxOption<string> {
  const name = s.name || s.device;
  const detail = [s.name ? s.device : '', s.address, s.state].filter(Boolean).join(' · ');
  return { value: s.device, label: name, description: detail };
}

/**
 * Builder for INT (in-band network telemetry): reports (flow, drop or queue
 * reports of int_report, a figure aggregated and ranked, or the raw
 * reports), the network path panel's paths, and drop and congestion episodes
 * for annotations. INT series (int_*) use the series builder.
 */
export function IntEditor(props: SourceEditorProps) {
  const { query, datasource } = props;
  const switches = useLoader(`${datasource.uid}|int/switches|${query.switchNames ?? ''}`, () =>
    datasource.getIntSwitches(query.switchNames)
  );
  const switchesLoading = useSlow(switches.loading);
  const empty = switches.value !== undefined && switches.value.length === 0;
  return (
    <>
      {switches.error && (
        <Alert severity="warning" title="Cannot list the INT switches">
          {switches.error}
        </Alert>
      )}
      {empty && !switches.error && (
        <Alert severity="info" title="No switch has sent a report yet">
          Point the switches&apos; INT exporter (monitor-collector) at this Grafana server, UDP port {INT_PORT}.
        </Alert>
      )}
      {query.kind === 'path' && <PathFields {...props} switches={switches.value} switchesLoading={switchesLoading} />}
      {query.kind === 'episodes' && (
        <EpisodeFields {...props} switches={switches.value} switchesLoading={switchesLoading} />
      )}
      {query.kind === 'records' && (
        <ReportFields {...props} switches={switches.value} switchesLoading={switchesLoading} />
      )}
    </>
  );
}

/**
 * INT series (int_*): the series builder, and the switch names that name
 * the series' switch label ({{switch}} in a legend).
 */
export function IntSeriesEditor(props: SourceEditorProps) {
  return (
    <>
      <FtdEditor {...props} />
      <EditorRow>
        <SwitchNames {...props} />
      </EditorRow>
    </>
  );
}

type FieldsProps = SourceEditorProps & { switches?: IntSwitch[]; switchesLoading: boolean };

/** Switch picker and the other filters of an int_report query. */
function Filters({ query, datasource, range, onChange, switches, switchesLoading }: FieldsProps) {
  const sel = selectionOf(query);
  const options = useMemo(
    () => withCurrent((switches ?? []).map(switchOption), ...sel.switches),
    [switches, sel.switches]
  );
  const update = (patch: Partial<typeof sel>) => onChange({ filters: filtersOf({ ...sel, ...patch }) });
  return (
    <>
      <EditorRow>
        <EditorField
          label="Switch"
          optional
          tooltip="The reporting switch (for INT reports the sink, for postcard paths the last hop). Names come from the switch names."
        >
          <MultiCombobox<string>
            id={`netlens-int-switch-${query.refId}`}
            width="auto"
            minWidth={24}
            maxWidth={60}
            createCustomValue
            placeholder="any switch"
            loading={switchesLoading}
            options={options}
            value={sel.switches}
            onChange={(items) => update({ switches: items.map((i) => i.value) })}
          />
        </EditorField>
      </EditorRow>
      <EditorRow>
        <RecordFilters
          idPrefix={`netlens-int-${query.refId}`}
          filters={sel.others}
          fields={INT_COLUMNS}
          fieldOptions={FILTER_FIELD_OPTIONS}
          fieldsLoading={false}
          loadValues={(field, prefix) => datasource.getRecordValues(INT_REPORT, field, prefix, range)}
          onChange={(others: RecordFilter[]) => update({ others })}
        />
      </EditorRow>
    </>
  );
}

/** The query's own switch names, usually a dashboard variable. */
function SwitchNames({ query, onChange }: SourceEditorProps) {
  return (
    <EditorField
      label="Switch names"
      optional
      tooltip="id=name separated by commas or newlines (id: 0x0000000a, decimal, or the sender address); overrides the data source's names per id. A constant variable such as $switch_names serves a whole dashboard."
    >
      <Input
        aria-label="Switch names"
        width={48}
        placeholder="$switch_names or 0x0000000a=leaf1, 0x00000014=spine1"
        defaultValue={query.switchNames ?? ''}
        onBlur={(e) => {
          const switchNames = e.currentTarget.value.trim() || undefined;
          if (switchNames !== query.switchNames) {
            onChange({ switchNames });
          }
        }}
      />
    </EditorField>
  );
}

/** Reports: type, filters, then a figure aggregated and ranked, or the raw reports. */
function ReportFields(props: FieldsProps) {
  const { query, onChange } = props;
  const sel = selectionOf(query);
  const figure = figureOf(query);
  const raw = figure === 'none';
  const func = query.aggregates?.[0]?.func;
  const figureOptions = figure
    ? FIGURE_OPTIONS
    : [
        { value: 'custom' as Figure, label: 'as saved', description: 'aggregates the editor has no name for' },
        ...FIGURE_OPTIONS,
      ];

  return (
    <>
      <EditorRow>
        <EditorField
          label="Reports"
          tooltip="Which reports: flow covers local flow reports, INT reports and postcard paths"
        >
          <RadioButtonGroup<ReportType>
            options={REPORT_TYPE_OPTIONS}
            value={sel.reportType}
            size="sm"
            onChange={(t) => onChange(reportTypePatch(query, t))}
          />
        </EditorField>
      </EditorRow>
      <Filters {...props} />
      <EditorRow>
        <EditorField label="Figure" tooltip="What is computed per group; none gives the raw reports as a table">
          <Combobox<Figure>
            id={`netlens-int-figure-${query.refId}`}
            width={26}
            options={figureOptions}
            value={figure ?? ('custom' as Figure)}
            onChange={(v) => v.value !== ('custom' as Figure) && onChange(figurePatch(query, v.value))}
          />
        </EditorField>
        {figure && figure !== 'none' && figure !== 'count' && (
          <EditorField label="Aggregation" tooltip="How the reports of a group are combined: max is the worst case">
            <Combobox<RecordFunc>
              id={`netlens-int-aggregation-${query.refId}`}
              width={12}
              options={FUNC_OPTIONS}
              value={func ?? 'max'}
              onChange={(v) => onChange(figurePatch(query, figure, v.value))}
            />
          </EditorField>
        )}
        {!raw && (
          <GroupByField
            id={`netlens-int-groupby-${query.refId}`}
            tooltip="One row, or one series, per switch, port, flow, ..."
            options={GROUP_OPTIONS}
            query={query}
            onChange={onChange}
          />
        )}
      </EditorRow>
      {!raw && <RankRow idPrefix="netlens-int" rankedBy="the figure" query={query} onChange={onChange} />}
      {raw && (
        <RawRow
          idPrefix="netlens-int"
          rows="reports"
          columnOptions={COLUMN_OPTIONS}
          query={query}
          onChange={onChange}
        />
      )}
      <EditorRow>
        <SwitchNames {...props} />
      </EditorRow>
      <RecordsPreview query={query} recordKind={INT_REPORT} />
    </>
  );
}

/** Path: the flows the network path panel draws, by id or the top N by latency. */
function PathFields(props: FieldsProps) {
  const { query, datasource, range, onChange } = props;
  const styles = useStyles2(getEditorStyles);
  // The flows are asked for once the menu first opens, then kept.
  const flows = useRef<Promise<IntFlow[]>>(undefined);
  const loadFlows = () => {
    flows.current ??= datasource.getIntFlows(range).catch(() => []);
    return flows.current;
  };
  return (
    <>
      <EditorRow>
        <EditorField
          label="Flow"
          optional
          tooltip='A flow id ("10.1.1.10:40000 > 10.2.2.20:443 tcp"), or a variable of them ($flow, several allowed); empty: the top N flows by end-to-end latency'
        >
          <Combobox<string>
            id={`netlens-int-flow-${query.refId}`}
            width={48}
            isClearable
            createCustomValue
            placeholder="$flow, or empty for the top N"
            options={async (typed) => withCurrent(matchingFlows(await loadFlows(), typed), query.flow)}
            value={query.flow || null}
            onChange={(v) => onChange({ flow: v?.value || undefined })}
          />
        </EditorField>
        <EditorField
          label="Top N"
          tooltip={`Without a flow: the flows with the worst end-to-end latency (else hop latency) in the range, at most ${MAX_PATH_FLOWS}`}
        >
          <Input
            aria-label="Top N"
            type="number"
            min={1}
            max={MAX_PATH_FLOWS}
            width={10}
            placeholder={String(DEFAULT_PATH_FLOWS)}
            defaultValue={query.topN ?? ''}
            onBlur={(e) => {
              const n = positiveInt(e.currentTarget.value);
              const topN = n === undefined ? undefined : Math.min(n, MAX_PATH_FLOWS);
              if (topN !== query.topN) {
                onChange({ topN });
              }
            }}
          />
        </EditorField>
      </EditorRow>
      <Filters {...props} />
      <EditorRow>
        <SwitchNames {...props} />
      </EditorRow>
      <EditorRow>
        <EditorField label="Query" width="100%" tooltip="What the network path panel gets">
          <code className={styles.preview} data-testid="netlens-int-path-preview">
            {describePath(query)}
          </code>
        </EditorField>
      </EditorRow>
      <Text variant="bodySmall" color="secondary">
        For the Network path panel: one row per hop of each flow&apos;s newest path, latencies in ns. With Live on, new
        paths arrive as the switches report them.
      </Text>
    </>
  );
}

/** Episodes: drops and congestion as annotations on any dashboard. */
function EpisodeFields(props: FieldsProps) {
  const { query, onChange } = props;
  return (
    <>
      <EditorRow>
        <EditorField label="Episodes" tooltip="None chosen means both">
          <MultiCombobox<string>
            id={`netlens-int-episodes-${query.refId}`}
            width="auto"
            minWidth={24}
            maxWidth={40}
            placeholder="drops and congestion"
            options={EPISODE_OPTIONS}
            value={query.eventTypes ?? []}
            onChange={(items) => onChange({ eventTypes: episodeTypes(items.map((i) => i.value)) })}
          />
        </EditorField>
      </EditorRow>
      <Filters {...props} />
      <EditorRow>
        <SwitchNames {...props} />
      </EditorRow>
      <Text variant="bodySmall" color="secondary">
        An episode is a run of drop reports (or queue reports) of one switch and port or queue with no gap over 10 s:
        one annotation from its first to its last report, titled with the switch&apos;s name. At most 1000, newest
        first.
      </Text>
    </>
  );
}
