import React, { useState } from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2, SelectableValue } from '@grafana/data';
import { EditorField, EditorRow } from '@grafana/plugin-ui';
import { ComboboxOption, Input, MultiCombobox, RadioButtonGroup, Switch, useStyles2 } from '@grafana/ui';

import { NetlensQuery, RecordKind } from '../../types';
import { withCurrent } from '../QueryEditor/options';
import { getEditorStyles } from '../QueryEditor/styles';
import { describeRecords, validBucket } from './describe';

// The parts of a records query that the IPFIX records builder and the INT
// reports builder both offer, the same way: grouping, buckets, top N with
// "other", raw rows' limit and columns, and the preview.

type OnChange = (patch: Partial<NetlensQuery>) => void;

/** A positive whole number typed into a field, or undefined for anything else (empty included). */
export function positiveInt(text: string): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

interface GroupByProps {
  id: string;
  tooltip: string;
  options: Array<ComboboxOption<string>>;
  loading?: boolean;
  query: NetlensQuery;
  onChange: OnChange;
}

/** Group by: any fields, chosen or typed. */
export function GroupByField({ id, tooltip, options, loading, query, onChange }: GroupByProps) {
  return (
    <EditorField label="Group by" optional tooltip={tooltip}>
      <MultiCombobox<string>
        id={id}
        width="auto"
        minWidth={24}
        maxWidth={60}
        createCustomValue
        placeholder="no grouping"
        loading={loading}
        options={withCurrent(options, ...(query.groupBy ?? []))}
        value={query.groupBy ?? []}
        onChange={(items) => onChange({ groupBy: items.map((i) => i.value) })}
      />
    </EditorField>
  );
}

interface RankRowProps {
  idPrefix: string;
  /** What ranks the groups for top N ("the figure"). */
  rankedBy: string;
  query: NetlensQuery;
  onChange: OnChange;
}

/** The row of an aggregate query after grouping: time bucket, top N, and the "other" group. */
export function RankRow({ idPrefix, rankedBy, query, onChange }: RankRowProps) {
  const styles = useStyles2(getEditorStyles);
  return (
    <EditorRow>
      <Bucket query={query} onChange={onChange} />
      <EditorField
        label="Top N"
        optional
        tooltip={`Keeps the groups ranked highest by ${rankedBy} over the whole range`}
      >
        <Input
          aria-label="Top N"
          type="number"
          min={1}
          width={10}
          placeholder="all"
          defaultValue={query.topN ?? ''}
          onBlur={(e) => {
            const topN = positiveInt(e.currentTarget.value);
            if (topN !== query.topN) {
              onChange(topN ? { topN } : { topN: undefined, other: undefined });
            }
          }}
        />
      </EditorField>
      <EditorField
        label="Other"
        htmlFor={`${idPrefix}-other-${query.refId}`}
        tooltip='The groups past the top N, folded into one "other" group'
      >
        <div className={styles.control}>
          <Switch
            id={`${idPrefix}-other-${query.refId}`}
            aria-label="Other"
            disabled={!query.topN}
            value={Boolean(query.other)}
            onChange={(e) => onChange({ other: e.currentTarget.checked })}
          />
        </div>
      </EditorField>
    </EditorRow>
  );
}

interface RawRowProps {
  idPrefix: string;
  /** What a row is ("rows", "reports"), for the limit's tooltip. */
  rows: string;
  columnOptions: Array<ComboboxOption<string>>;
  loading?: boolean;
  query: NetlensQuery;
  onChange: OnChange;
}

/** The row of a raw query: how many of the newest rows, and which columns. */
export function RawRow({ idPrefix, rows, columnOptions, loading, query, onChange }: RawRowProps) {
  return (
    <EditorRow>
      <LimitField rows={rows} placeholder="default" query={query} onChange={onChange} />
      {/* Last in the row, so that a long list of columns has the room to its right. */}
      <EditorField label="Columns" optional tooltip="Time comes first; none chosen shows every column">
        <MultiCombobox<string>
          id={`${idPrefix}-columns-${query.refId}`}
          width="auto"
          minWidth={30}
          maxWidth={120}
          createCustomValue
          placeholder="every column"
          loading={loading}
          options={withCurrent(columnOptions, ...(query.columns ?? []))}
          value={query.columns ?? []}
          onChange={(items) => onChange({ columns: items.map((i) => i.value) })}
        />
      </EditorField>
    </EditorRow>
  );
}

interface LimitFieldProps {
  /** What a row is ("rows", "reports"), for the tooltip. */
  rows: string;
  /** Shown while empty: the limit the backend applies then. */
  placeholder: string;
  query: NetlensQuery;
  onChange: OnChange;
}

/** How many of the newest rows a raw query returns, at most 100000; empty or not a positive number: the default. */
export function LimitField({ rows, placeholder, query, onChange }: LimitFieldProps) {
  return (
    <EditorField label="Limit" optional tooltip={`The newest ${rows}, at most 100000`}>
      <Input
        aria-label="Limit"
        type="number"
        min={1}
        max={100000}
        width={12}
        placeholder={placeholder}
        defaultValue={query.limit ?? ''}
        onBlur={(e) => {
          const limit = positiveInt(e.currentTarget.value);
          if (limit !== query.limit) {
            onChange({ limit: limit === undefined ? undefined : Math.min(limit, 100000) });
          }
        }}
      />
    </EditorField>
  );
}

/** The records query in words, as the record store is asked it. */
export function RecordsPreview({ query, recordKind }: { query: NetlensQuery; recordKind: RecordKind }) {
  const styles = useStyles2(getEditorStyles);
  return (
    <EditorRow>
      <EditorField label="Query" width="100%" tooltip="What the builder asks of the record store">
        <code className={styles.preview} data-testid="netlens-records-preview">
          {describeRecords({ ...query, recordKind })}
        </code>
      </EditorField>
    </EditorRow>
  );
}

type BucketMode = 'none' | 'auto' | 'fixed';

const BUCKET_OPTIONS: Array<SelectableValue<BucketMode>> = [
  { value: 'none', label: 'None', description: 'One row per group over the whole range (tables, bar gauges)' },
  { value: 'auto', label: 'Auto', description: "Grafana's interval: one series per group" },
  { value: 'fixed', label: 'Fixed', description: 'A bucket of your choice, such as 1m' },
];

function bucketMode(bucket: string | undefined): BucketMode {
  if (!bucket) {
    return 'none';
  }
  return bucket === 'auto' ? 'auto' : 'fixed';
}

/** Time bucket: none (whole range), Grafana's interval, or a fixed duration. */
export function Bucket({ query, onChange }: { query: NetlensQuery; onChange: OnChange }) {
  const styles = useStyles2(getStyles);
  const mode = bucketMode(query.bucket);
  const [draft, setDraft] = useState<string>();
  const text = draft ?? (mode === 'fixed' ? (query.bucket ?? '') : '');
  const invalid = mode === 'fixed' && text !== '' && !validBucket(text);
  return (
    <EditorField label="Time bucket" tooltip="With a bucket each group is a time series; without, one row per group">
      <div className={cx(styles.control, styles.bucket)}>
        <RadioButtonGroup<BucketMode>
          options={BUCKET_OPTIONS}
          value={mode}
          size="sm"
          onChange={(next) => {
            setDraft(undefined);
            onChange({ bucket: next === 'none' ? undefined : next === 'auto' ? 'auto' : '1m' });
          }}
        />
        {mode === 'fixed' && (
          <Input
            aria-label="Bucket"
            width={10}
            placeholder="1m"
            invalid={invalid}
            value={text}
            onChange={(e) => setDraft(e.currentTarget.value)}
            onBlur={() => {
              if (draft !== undefined && draft !== query.bucket && validBucket(draft)) {
                onChange({ bucket: draft });
              }
              setDraft(undefined);
            }}
          />
        )}
      </div>
    </EditorField>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  ...getEditorStyles(theme),
  bucket: css({ gap: theme.spacing(1) }),
});
