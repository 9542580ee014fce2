import React, { useMemo, useState } from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2, SelectableValue } from '@grafana/data';
import { EditorField, EditorFieldGroup, EditorRow } from '@grafana/plugin-ui';
import {
  Button,
  Combobox,
  ComboboxOption,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  Stack,
  Switch,
  Text,
  useStyles2,
} from '@grafana/ui';

import {
  NetlensQuery,
  RECORD_FUNCS,
  RecordAggregate,
  RecordFieldInfo,
  RecordFilter,
  RecordFunc,
  RecordKind,
  RecordOp,
} from '../../types';
import { withCurrent } from '../QueryEditor/options';
import { SourceEditorProps } from '../QueryEditor/sources';
import { useLoader, useSlow } from '../QueryEditor/useLoader';
import { describeRecords, FUNC_HELP, MULTI_OPS, NUMERIC_TYPES, opsFor, validBucket, valuesFor } from './describe';

type Shape = 'aggregate' | 'raw';

const SHAPE_OPTIONS: Array<SelectableValue<Shape>> = [
  { value: 'aggregate', label: 'Aggregate', description: 'Group, compute, rank and bucket' },
  { value: 'raw', label: 'Raw rows', description: 'The records themselves, newest first' },
];

type BucketMode = 'none' | 'auto' | 'fixed';

const BUCKET_OPTIONS: Array<SelectableValue<BucketMode>> = [
  { value: 'none', label: 'None', description: 'One row per group over the whole range (tables, bar gauges)' },
  { value: 'auto', label: 'Auto', description: "Grafana's interval: one series per group" },
  { value: 'fixed', label: 'Fixed', description: 'A bucket of your choice, such as 1m' },
];

const FUNC_OPTIONS: Array<ComboboxOption<RecordFunc>> = RECORD_FUNCS.map((f) => ({
  value: f,
  description: FUNC_HELP[f],
}));

/** The aggregate a records query starts with: bytes, as the volume series. */
const FIRST_AGGREGATE: RecordAggregate = { func: 'sum', field: 'bytes' };

/**
 * What a query becomes when it turns into a records query: its record kind,
 * and bytes over time unless it already says what to compute or show.
 */
export function recordsDefaults(query: NetlensQuery, recordKind: RecordKind = 'ipfix_flow'): Partial<NetlensQuery> {
  const patch: Partial<NetlensQuery> = { recordKind: query.recordKind ?? recordKind };
  if ((query.aggregates ?? []).length === 0 && (query.columns ?? []).length === 0) {
    patch.aggregates = [FIRST_AGGREGATE];
    patch.bucket = query.bucket ?? 'auto';
  }
  return patch;
}

function bucketMode(bucket: string | undefined): BucketMode {
  if (!bucket) {
    return 'none';
  }
  return bucket === 'auto' ? 'auto' : 'fixed';
}

const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

// The menu is as narrow as the field: type and a short count fit, a long one was cut.
function fieldOption(f: RecordFieldInfo): ComboboxOption<string> {
  return { value: f.name, description: `${f.type} · ${COMPACT.format(f.rows)} rows` };
}

function positiveInt(text: string): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Builder for records queries (IPFIX flows): filters on any field that has
 * arrived, then either aggregates (group by, top N with "other", time
 * buckets) or raw rows. Field names come from the record store
 * (records/fields), values from records/values as they are typed.
 */
export function RecordsEditor({ query, datasource, range, onChange }: SourceEditorProps) {
  const styles = useStyles2(getStyles);
  const kind: RecordKind = query.recordKind ?? 'ipfix_flow';
  const fields = useLoader(`${datasource.uid}|${kind}`, () => datasource.getRecordFields(kind, range));
  const fieldsSlow = useSlow(fields.loading);
  const shape: Shape = (query.aggregates ?? []).length > 0 ? 'aggregate' : 'raw';
  const aggregates = query.aggregates ?? [];

  const all = useMemo(() => (fields.value ?? []).map(fieldOption), [fields.value]);
  const numeric = useMemo(
    () => (fields.value ?? []).filter((f) => NUMERIC_TYPES.includes(f.type)).map(fieldOption),
    [fields.value]
  );

  const switchShape = (next: Shape) => {
    if (next === shape) {
      return;
    }
    // Grouping, ranking and buckets mean nothing to raw rows, nor columns
    // and limit to aggregates: the backend would refuse the mix.
    onChange(
      next === 'raw'
        ? { aggregates: undefined, groupBy: undefined, bucket: undefined, topN: undefined, other: undefined }
        : { aggregates: [FIRST_AGGREGATE], bucket: 'auto', columns: undefined, limit: undefined }
    );
  };

  return (
    <>
      <EditorRow>
        <EditorField label="Records" tooltip="Aggregates feed time series, bar gauges and tables; raw rows a table">
          <RadioButtonGroup<Shape> options={SHAPE_OPTIONS} value={shape} size="sm" onChange={switchShape} />
        </EditorField>
      </EditorRow>
      <EditorRow>
        <RecordFilters
          idPrefix={`netlens-records-${query.refId}`}
          filters={query.filters ?? []}
          fields={fields.value ?? []}
          fieldOptions={all}
          fieldsLoading={fieldsSlow}
          fieldsError={fields.error}
          loadValues={(field, prefix) => datasource.getRecordValues(kind, field, prefix, range)}
          onChange={(filters) => onChange({ filters })}
        />
      </EditorRow>
      {shape === 'aggregate' && (
        <>
          <EditorRow>
            <Aggregates
              idPrefix={`netlens-records-${query.refId}`}
              aggregates={aggregates}
              numeric={numeric}
              loading={fieldsSlow}
              onChange={(next) => onChange({ aggregates: next })}
            />
            <EditorField label="Group by" optional tooltip="One row, or one series, per combination of these fields">
              <MultiCombobox<string>
                id={`netlens-records-groupby-${query.refId}`}
                width="auto"
                minWidth={24}
                maxWidth={60}
                createCustomValue
                placeholder="no grouping"
                loading={fieldsSlow}
                options={withCurrent(all, ...(query.groupBy ?? []))}
                value={query.groupBy ?? []}
                onChange={(items) => onChange({ groupBy: items.map((i) => i.value) })}
              />
            </EditorField>
          </EditorRow>
          <EditorRow>
            <Bucket query={query} onChange={onChange} />
            <EditorField
              label="Top N"
              optional
              tooltip="Keeps the groups ranked highest by the first aggregate over the whole range"
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
              htmlFor={`netlens-records-other-${query.refId}`}
              tooltip='The groups past the top N, folded into one "other" group'
            >
              <div className={styles.control}>
                <Switch
                  id={`netlens-records-other-${query.refId}`}
                  aria-label="Other"
                  disabled={!query.topN}
                  value={Boolean(query.other)}
                  onChange={(e) => onChange({ other: e.currentTarget.checked })}
                />
              </div>
            </EditorField>
          </EditorRow>
        </>
      )}
      {shape === 'raw' && (
        <EditorRow>
          <EditorField label="Limit" optional tooltip="The newest rows, at most 100000">
            <Input
              aria-label="Limit"
              type="number"
              min={1}
              max={100000}
              width={12}
              placeholder="default"
              defaultValue={query.limit ?? ''}
              onBlur={(e) => {
                const limit = positiveInt(e.currentTarget.value);
                if (limit !== query.limit) {
                  onChange({ limit: limit === undefined ? undefined : Math.min(limit, 100000) });
                }
              }}
            />
          </EditorField>
          {/* Last in the row, so that a long list of columns has the room to its right. */}
          <EditorField label="Columns" optional tooltip="Time comes first; none chosen shows every column">
            <MultiCombobox<string>
              id={`netlens-records-columns-${query.refId}`}
              width="auto"
              minWidth={30}
              maxWidth={120}
              createCustomValue
              placeholder="every column"
              loading={fieldsSlow}
              options={withCurrent(all, ...(query.columns ?? []))}
              value={query.columns ?? []}
              onChange={(items) => onChange({ columns: items.map((i) => i.value) })}
            />
          </EditorField>
        </EditorRow>
      )}
      <EditorRow>
        <EditorField label="Query" width="100%" tooltip="What the builder asks of the record store">
          <code className={styles.preview} data-testid="netlens-records-preview">
            {describeRecords({ ...query, recordKind: kind })}
          </code>
        </EditorField>
      </EditorRow>
    </>
  );
}

export interface RecordFiltersProps {
  idPrefix: string;
  filters: RecordFilter[];
  fields: RecordFieldInfo[];
  fieldOptions: Array<ComboboxOption<string>>;
  fieldsLoading: boolean;
  fieldsError?: string;
  /** Values of a field that start with prefix. */
  loadValues: (field: string, prefix: string) => Promise<string[]>;
  onChange: (filters: RecordFilter[]) => void;
}

/**
 * Filters: field, operator, value(s). The operators offered follow the
 * field's type; in, not in, cidr and not cidr take several values.
 */
export function RecordFilters(props: RecordFiltersProps) {
  const { idPrefix, filters, fields, fieldOptions, fieldsLoading, fieldsError, loadValues, onChange } = props;
  const styles = useStyles2(getStyles);
  const update = (i: number, f: RecordFilter) => onChange(filters.map((old, j) => (j === i ? f : old)));
  const remove = (i: number) => onChange(filters.filter((_, j) => j !== i));
  const valueOptions = async (field: string, typed: string) =>
    field ? (await loadValues(field, typed)).map((value) => ({ value })) : [];

  return (
    <EditorField
      label="Filters"
      tooltip="All must hold. in, not in: any, none of the values; cidr, not cidr: prefixes such as 10.0.0.0/8; range: lo-hi, both included. The operators offered follow the field's type."
    >
      <Stack gap={1} direction="row" wrap="wrap" alignItems="flex-start">
        {fieldsError && (
          // The field lists failed; filters can still be typed by hand.
          <Text color="error" variant="bodySmall">
            Cannot list the fields: {fieldsError}
          </Text>
        )}
        {filters.map((f, i) => {
          const id = `${idPrefix}-filter-${i}`;
          const type = fields.find((x) => x.name === f.field)?.type;
          const ops = opsFor(type);
          const multi = MULTI_OPS.includes(f.op);
          const prefixes = f.op === 'cidr' || f.op === 'not cidr';
          return (
            <EditorFieldGroup key={i}>
              <label htmlFor={`${id}-field`} className={styles.hidden}>
                Filter {i + 1} field
              </label>
              <Combobox<string>
                id={`${id}-field`}
                width="auto"
                minWidth={12}
                placeholder="field"
                createCustomValue
                loading={fieldsLoading}
                value={f.field || null}
                options={withCurrent(fieldOptions, f.field)}
                onChange={(v) => {
                  const nextType = fields.find((x) => x.name === v.value)?.type;
                  const nextOps = opsFor(nextType);
                  update(i, { field: v.value, op: nextOps.includes(f.op) ? f.op : '=', values: [] });
                }}
              />
              <label htmlFor={`${id}-op`} className={styles.hidden}>
                Filter {i + 1} operator
              </label>
              <Combobox<RecordOp>
                id={`${id}-op`}
                width={11}
                value={f.op}
                options={
                  withCurrent(
                    ops.map((op) => ({ value: op })),
                    f.op
                  ) as Array<ComboboxOption<RecordOp>>
                }
                onChange={(v) => update(i, { ...f, op: v.value, values: valuesFor(v.value, f.values) })}
              />
              <label htmlFor={`${id}-value`} className={styles.hidden}>
                Filter {i + 1} value
              </label>
              {f.op === 'range' ? (
                <RangeInput
                  id={`${id}-value`}
                  value={f.values[0] ?? ''}
                  onChange={(v) => update(i, { ...f, values: [v] })}
                />
              ) : multi ? (
                <MultiCombobox<string>
                  id={`${id}-value`}
                  width="auto"
                  // The box folds values into a count once their chips (text
                  // plus 50 px each, by its own estimate) pass its width, and
                  // then does not grow: at 22 it folded "6, 17" to one chip.
                  minWidth={30}
                  maxWidth={60}
                  createCustomValue
                  placeholder={prefixes ? '10.0.0.0/8' : 'values'}
                  // Prefixes are typed; the store's values are addresses, not prefixes.
                  options={prefixes ? [] : (typed) => valueOptions(f.field, typed)}
                  value={f.values}
                  onChange={(items) => update(i, { ...f, values: items.map((x) => x.value) })}
                />
              ) : (
                <Combobox<string>
                  id={`${id}-value`}
                  width="auto"
                  minWidth={12}
                  placeholder="value"
                  createCustomValue
                  value={f.values[0] || null}
                  options={(typed) => valueOptions(f.field, typed)}
                  onChange={(v) => update(i, { ...f, values: [v.value] })}
                />
              )}
              <Button
                variant="secondary"
                icon="times"
                aria-label={`Remove filter ${i + 1}`}
                onClick={() => remove(i)}
              />
            </EditorFieldGroup>
          );
        })}
        <Button
          variant="secondary"
          icon="plus"
          aria-label="Add filter"
          onClick={() => onChange([...filters, { field: '', op: '=', values: [] }])}
        />
      </Stack>
    </EditorField>
  );
}

/** A range as "lo-hi", committed when the input loses focus. */
function RangeInput({ id, value, onChange }: { id: string; value: string; onChange: (v: string) => void }) {
  const [draft, setDraft] = useState<string>();
  const text = draft ?? value;
  const invalid = text !== '' && !/^\s*-?[\w.:$]+\s*-\s*-?[\w.:$]+\s*$/.test(text);
  return (
    <Input
      id={id}
      width={20}
      placeholder="1024-65535"
      invalid={invalid}
      value={text}
      onChange={(e) => setDraft(e.currentTarget.value)}
      onBlur={() => {
        if (draft !== undefined && draft !== value) {
          onChange(draft.replace(/\s+/g, ''));
        }
        setDraft(undefined);
      }}
    />
  );
}

interface AggregatesProps {
  idPrefix: string;
  aggregates: RecordAggregate[];
  numeric: Array<ComboboxOption<string>>;
  loading: boolean;
  onChange: (aggregates: RecordAggregate[]) => void;
}

/** The computed columns; the first one ranks the groups for top N. */
function Aggregates({ idPrefix, aggregates, numeric, loading, onChange }: AggregatesProps) {
  const styles = useStyles2(getStyles);
  const update = (i: number, a: RecordAggregate) => onChange(aggregates.map((old, j) => (j === i ? a : old)));
  return (
    <EditorField label="Aggregates" tooltip="The first one ranks the groups for top N">
      <Stack gap={1} direction="row" wrap="wrap" alignItems="flex-start">
        {aggregates.map((a, i) => {
          const id = `${idPrefix}-aggregate-${i}`;
          return (
            <EditorFieldGroup key={i}>
              <label htmlFor={`${id}-func`} className={styles.hidden}>
                Aggregate {i + 1} function
              </label>
              <Combobox<RecordFunc>
                id={`${id}-func`}
                width={10}
                value={a.func}
                options={FUNC_OPTIONS}
                onChange={(v) =>
                  update(i, v.value === 'count' ? { func: 'count' } : { func: v.value, field: a.field ?? '' })
                }
              />
              {a.func !== 'count' && (
                <>
                  <label htmlFor={`${id}-field`} className={styles.hidden}>
                    Aggregate {i + 1} field
                  </label>
                  <Combobox<string>
                    id={`${id}-field`}
                    width="auto"
                    minWidth={12}
                    placeholder="numeric field"
                    createCustomValue
                    loading={loading}
                    value={a.field || null}
                    invalid={!a.field}
                    options={withCurrent(numeric, a.field)}
                    onChange={(v) => update(i, { ...a, field: v.value })}
                  />
                </>
              )}
              {aggregates.length > 1 && (
                <Button
                  variant="secondary"
                  icon="times"
                  aria-label={`Remove aggregate ${i + 1}`}
                  onClick={() => onChange(aggregates.filter((_, j) => j !== i))}
                />
              )}
            </EditorFieldGroup>
          );
        })}
        <Button
          variant="secondary"
          icon="plus"
          aria-label="Add aggregate"
          onClick={() => onChange([...aggregates, { func: 'count' }])}
        />
      </Stack>
    </EditorField>
  );
}

/** Time bucket: none (whole range), Grafana's interval, or a fixed duration. */
export function Bucket({ query, onChange }: { query: NetlensQuery; onChange: (patch: Partial<NetlensQuery>) => void }) {
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
  // Read by screen readers (and tests), not shown: the row's placeholders say the same.
  hidden: css({
    position: 'absolute',
    width: '1px',
    height: '1px',
    overflow: 'hidden',
    clip: 'rect(0 0 0 0)',
    whiteSpace: 'nowrap',
  }),
  // As tall as an input, so a switch sits on the same line as its neighbours.
  control: css({ display: 'flex', alignItems: 'center', minHeight: theme.spacing(theme.components.height.md) }),
  bucket: css({ gap: theme.spacing(1) }),
  // The same block as the series builder's PromQL preview.
  preview: css({
    display: 'block',
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    lineHeight: theme.typography.bodySmall.lineHeight,
    padding: theme.spacing(0.75, 1),
    color: theme.colors.text.primary,
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    whiteSpace: 'pre-wrap',
    overflowWrap: 'anywhere',
  }),
});
