import React, { useMemo, useState } from 'react';
import { css } from '@emotion/css';
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
import { GroupByField, RankRow, RawRow, RecordsPreview } from './QuerySections';
import { SourceEditorProps } from '../QueryEditor/sources';
import { useLoader, useSlow } from '../QueryEditor/useLoader';
import { FUNC_HELP, MULTI_OPS, NUMERIC_TYPES, opsFor, valuesFor } from './describe';

type Shape = 'aggregate' | 'raw';

const SHAPE_OPTIONS: Array<SelectableValue<Shape>> = [
  { value: 'aggregate', label: 'Aggregate', description: 'Group, compute, rank and bucket' },
  { value: 'raw', label: 'Raw rows', description: 'The records themselves, newest first' },
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

const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

// The menu is as narrow as the field: type and a short count fit, a long one was cut.
function fieldOption(f: RecordFieldInfo): ComboboxOption<string> {
  return { value: f.name, description: `${f.type} · ${COMPACT.format(f.rows)} rows` };
}

/**
 * Builder for records queries (IPFIX flows): filters on any field that has
 * arrived, then either aggregates (group by, top N with "other", time
 * buckets) or raw rows. Field names come from the record store
 * (records/fields), values from records/values as they are typed.
 */
export function RecordsEditor({ query, datasource, range, onChange }: SourceEditorProps) {
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
            <GroupByField
              id={`netlens-records-groupby-${query.refId}`}
              tooltip="One row, or one series, per combination of these fields"
              options={all}
              loading={fieldsSlow}
              query={query}
              onChange={onChange}
            />
          </EditorRow>
          <RankRow idPrefix="netlens-records" rankedBy="the first aggregate" query={query} onChange={onChange} />
        </>
      )}
      {shape === 'raw' && (
        <RawRow
          idPrefix="netlens-records"
          rows="rows"
          columnOptions={all}
          loading={fieldsSlow}
          query={query}
          onChange={onChange}
        />
      )}
      <RecordsPreview query={query} recordKind={kind} />
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
});
