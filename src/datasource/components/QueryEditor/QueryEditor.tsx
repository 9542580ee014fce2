import React, { useState } from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2, QueryEditorProps, SelectableValue } from '@grafana/data';
import { EditorField, EditorHeader, EditorRow, EditorRows, FlexItem, InlineSelect } from '@grafana/plugin-ui';
import { Alert, InlineSwitch, Input, RadioButtonGroup, Switch, TextArea, useStyles2 } from '@grafana/ui';

import type { DataSource } from '../../datasource';
import { builderToPromQL, promQLToBuilder } from '../../promql';
import { DEFAULT_QUERY, EditorMode, Format, NetlensOptions, NetlensQuery, QueryKind, Source } from '../../types';
import { EventsEditor, eventMatchers } from '../EventsEditor/EventsEditor';
import { RecordsEditor, recordsDefaults } from '../RecordsEditor/RecordsEditor';
import { kindsOf, SOURCES, SOURCE_OPTIONS } from './sources';
import { SOURCE_FIELDS_CLEARED } from './cleared';
import { getEditorStyles } from './styles';

type Props = QueryEditorProps<DataSource, NetlensQuery, NetlensOptions>;

const MODE_OPTIONS: Array<SelectableValue<EditorMode>> = [
  { value: 'builder', label: 'Builder' },
  { value: 'code', label: 'Code' },
];

const FORMAT_OPTIONS: Array<SelectableValue<Format>> = [
  { value: 'time_series', label: 'Time series' },
  { value: 'table', label: 'Table' },
];

export function QueryEditor(props: Props) {
  const { datasource, onChange, onRunQuery, range } = props;
  const styles = useStyles2(getStyles);
  const query: NetlensQuery = { ...DEFAULT_QUERY, ...props.query } as NetlensQuery;
  const mode: EditorMode = query.editorMode ?? 'builder';
  const [notice, setNotice] = useState<string>();
  // The code text is run on blur, not on every key.
  const [exprDraft, setExprDraft] = useState<string | undefined>(undefined);

  // Every change runs the query, as Grafana's editors do.
  const change = (patch: Partial<NetlensQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };

  const switchMode = (next: EditorMode) => {
    if (next === mode) {
      return;
    }
    setExprDraft(undefined);
    if (next === 'code') {
      // The builder's query becomes the starting text; with no metric
      // chosen, the last code text (if any) stays.
      const expr = builderToPromQL(query) || query.expr || '';
      setNotice(undefined);
      change({ editorMode: 'code', expr });
      return;
    }
    const fields = query.expr ? promQLToBuilder(query.expr) : undefined;
    if (query.expr && !fields) {
      setNotice('This PromQL does not fit the builder; the builder shows its last query and the code text is kept.');
      change({ editorMode: 'builder' });
      return;
    }
    setNotice(undefined);
    change({ editorMode: 'builder', ...(fields ?? {}) });
  };

  const switchKind = (kind: QueryKind) => {
    if (kind === query.kind) {
      return;
    }
    setNotice(undefined);
    const own = SOURCES[query.source]?.kindPatch;
    if (own) {
      change(own(query, kind));
      return;
    }
    // The backend takes only device and hostname filters on events; the
    // series' other filters (interface, …) would make it refuse the query.
    // Live and Instant are hidden for events, so they must not stay on
    // unseen either. Records keep Live (new rows are pushed) but have no
    // Instant; a new records query starts as bytes over time.
    if (kind === 'events') {
      change({ kind, matchers: eventMatchers(query.matchers), live: undefined, instant: undefined });
    } else if (kind === 'records') {
      change({ kind, instant: undefined, ...recordsDefaults(query, SOURCES[query.source]?.recordKind) });
    } else {
      change({ kind });
    }
  };

  // A source that does not answer the query's kind (device events of IPFIX
  // exporters, flow records of FTD, or records of another table) starts
  // over as a series query. A builder that picks the kind itself (XR)
  // starts from nothing: another source's metric and filters mean nothing
  // to its router, path and leaf.
  const switchSource = (source: Source) => {
    if (source === query.source) {
      return;
    }
    setNotice(undefined);
    const next = SOURCES[source];
    // A source with kinds of its own (INT) starts from nothing: an
    // annotation's events become episodes, anything else its first kind
    // (INT reports). Leaving it, its path and episodes mean nothing elsewhere.
    if (next?.kindPatch) {
      const start: QueryKind = query.kind === 'events' ? 'episodes' : kindsOf(source)[0];
      change({ ...SOURCE_FIELDS_CLEARED, source, ...next.kindPatch({ ...SOURCE_FIELDS_CLEARED, source }, start) });
      return;
    }
    if (SOURCES[query.source]?.kindPatch) {
      const kind: QueryKind = query.kind === 'episodes' && kindsOf(source).includes('events') ? 'events' : 'series';
      change({ ...SOURCE_FIELDS_CLEARED, source, kind, editorMode: 'builder', format: 'time_series', live: undefined });
      return;
    }
    if (next?.builderPicksKind || SOURCES[query.source]?.builderPicksKind) {
      change({ ...SOURCE_FIELDS_CLEARED, source, kind: 'series', editorMode: 'builder', format: 'time_series' });
      return;
    }
    const keep =
      kindsOf(source).includes(query.kind) && (query.kind !== 'records' || next?.recordKind === query.recordKind);
    change(keep ? { source } : { source, kind: 'series' });
  };

  const commitExpr = () => {
    if (exprDraft !== undefined && exprDraft !== query.expr) {
      change({ expr: exprDraft });
    }
    setExprDraft(undefined);
  };

  const section = SOURCES[query.source] ?? SOURCES.ftd;
  const Builder = section.Builder;
  // Events come from FTD's device registry; records from IPFIX's record store.
  const kind: QueryKind = kindsOf(query.source).includes(query.kind) ? query.kind : 'series';
  const series = kind === 'series';
  // A source's own editor of its other kinds (INT reports, path, episodes).
  const KindsEditor = series ? undefined : section.KindsEditor;
  const events = kind === 'events' && !KindsEditor;
  const records = kind === 'records' && !KindsEditor;
  // Annotations (events, episodes) have no Live.
  const noLive = kind === 'events' || kind === 'episodes';
  const promql = series && mode === 'builder' && Builder ? builderToPromQL(query) : '';

  return (
    <EditorRows>
      <EditorHeader>
        <InlineSelect<Source>
          label="Source"
          aria-label="Source"
          value={query.source}
          options={SOURCE_OPTIONS}
          onChange={(v) => v.value && switchSource(v.value)}
        />
        {Builder && section.kinds && section.kinds.length > 1 && !section.builderPicksKind && (
          <RadioButtonGroup<QueryKind> options={section.kinds} value={kind} size="sm" onChange={switchKind} />
        )}
        <FlexItem grow={1} />
        {!noLive && (
          <>
            <InlineSwitch
              id={`netlens-live-${query.refId}`}
              label="Live"
              showLabel
              aria-label="Live"
              value={Boolean(query.live)}
              onChange={(e) => change({ live: e.currentTarget.checked })}
            />
            {series && (
              <RadioButtonGroup<EditorMode> options={MODE_OPTIONS} value={mode} size="sm" onChange={switchMode} />
            )}
          </>
        )}
      </EditorHeader>
      {KindsEditor && (
        <KindsEditor query={query} datasource={datasource} range={range} onChange={(patch) => change(patch)} />
      )}
      {events && (
        <EventsEditor query={query} datasource={datasource} range={range} onChange={(patch) => change(patch)} />
      )}
      {records && !section.builderPicksKind && (
        <RecordsEditor query={query} datasource={datasource} range={range} onChange={(patch) => change(patch)} />
      )}
      {records && section.builderPicksKind && Builder && (
        <Builder query={query} datasource={datasource} range={range} onChange={(patch) => change(patch)} />
      )}
      {notice && (
        <Alert severity="warning" title="" onRemove={() => setNotice(undefined)}>
          {notice}
        </Alert>
      )}
      {series &&
        mode === 'builder' &&
        (Builder ? (
          <>
            <Builder query={query} datasource={datasource} range={range} onChange={(patch) => change(patch)} />
            <EditorRow>
              <EditorField label="PromQL" width="100%" tooltip="What the builder asks of the store">
                <code
                  className={cx(styles.preview, !promql && styles.placeholder)}
                  data-testid="netlens-promql-preview"
                >
                  {promql || 'choose a metric'}
                </code>
              </EditorField>
            </EditorRow>
          </>
        ) : (
          <Alert severity="info" title={`${section.label} is not received yet`}>
            Netlens does not collect {section.description.toLowerCase()} yet; only Cisco FTD, IPFIX and Cisco IOS XR can
            be queried.
          </Alert>
        ))}
      {series && mode === 'code' && (
        <EditorRow>
          <EditorField
            label="PromQL"
            width="100%"
            tooltip="$__interval, $__rate_interval and $__range are filled in; Shift+Enter runs the query"
          >
            <TextArea
              aria-label="PromQL"
              className={styles.code}
              rows={3}
              placeholder='rate(ftd_interface_input_bytes{device="…"}[$__rate_interval])'
              value={exprDraft ?? query.expr ?? ''}
              onChange={(e) => setExprDraft(e.currentTarget.value)}
              onBlur={commitExpr}
              onKeyDown={(e) => {
                // Shift+Enter runs the query, as in Grafana's own code editors.
                if (e.key === 'Enter' && e.shiftKey) {
                  e.preventDefault();
                  commitExpr();
                }
              }}
            />
          </EditorField>
        </EditorRow>
      )}
      {series && (
        <EditorRow>
          <EditorField label="Legend" optional tooltip="{{label}} is replaced by the series' label value">
            <Input
              aria-label="Legend"
              width={30}
              placeholder="auto"
              defaultValue={query.legendFormat ?? ''}
              onBlur={(e) => {
                const legendFormat = e.currentTarget.value || undefined;
                if (legendFormat !== query.legendFormat) {
                  change({ legendFormat });
                }
              }}
            />
          </EditorField>
          <EditorField label="Format">
            <RadioButtonGroup<Format>
              options={FORMAT_OPTIONS}
              value={query.format ?? 'time_series'}
              size="sm"
              onChange={(format) => change({ format })}
            />
          </EditorField>
          <EditorField
            label="Instant"
            htmlFor={`netlens-instant-${query.refId}`}
            tooltip="One value per series at the end of the range"
          >
            {/* A plain switch centred on the inputs' line, like the builder's Rate. */}
            <div className={styles.control}>
              <Switch
                id={`netlens-instant-${query.refId}`}
                aria-label="Instant"
                value={Boolean(query.instant)}
                onChange={(e) => change({ instant: e.currentTarget.checked })}
              />
            </div>
          </EditorField>
        </EditorRow>
      )}
    </EditorRows>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  ...getEditorStyles(theme),
  // The field spans the row (width 100%); a fixed minimum width here pushed
  // the whole editor, header included, past a narrow query pane.
  code: css({ fontFamily: theme.typography.fontFamilyMonospace }),
  placeholder: css({ color: theme.colors.text.secondary, fontStyle: 'italic' }),
});
