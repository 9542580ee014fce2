import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Combobox, ComboboxOption, InlineField, InlineFieldRow, Input } from '@grafana/ui';

import type { DataSource } from '../../datasource';
import { NetlensOptions, NetlensQuery, NetlensVariableQuery, RecordKind, VariableQueryType } from '../../types';
import { withCurrent } from '../QueryEditor/options';
import { useLoader } from '../QueryEditor/useLoader';

type Props = QueryEditorProps<DataSource, NetlensQuery, NetlensOptions, NetlensVariableQuery>;

// Descriptions are kept short enough to show whole in the menu, which is as
// wide as the field.
const TYPES: Array<ComboboxOption<VariableQueryType>> = [
  { value: 'devices', label: 'Devices', description: 'Value: device id; text: hostname' },
  { value: 'families', label: 'Metric families' },
  { value: 'metrics', label: 'Metric names', description: 'Optionally of one family' },
  { value: 'labelValues', label: 'Label values', description: 'Of one label, optionally on one metric' },
  { value: 'recordValues', label: 'Flow record values', description: 'Of one IPFIX flow field' },
];

// One width for every field, so the inputs line up under each other.
const FIELD_WIDTH = 36;

export function VariableQueryEditor({ query, onChange, datasource, range }: Props) {
  // The contract's records variable query ({"kind":"records", ...}) may come without a type.
  const type: VariableQueryType = query.type ?? (query.kind === 'records' ? 'recordValues' : 'devices');
  const update = (patch: Partial<NetlensVariableQuery>) => onChange({ ...query, type, ...patch });

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={16}>
          <Combobox<VariableQueryType>
            id="netlens-variable-type"
            width={FIELD_WIDTH}
            options={TYPES}
            value={type}
            onChange={(v) =>
              update(
                v.value === 'recordValues'
                  ? { type: v.value, kind: 'records', recordKind: query.recordKind ?? 'ipfix_flow' }
                  : { type: v.value, kind: undefined, recordKind: undefined, field: undefined }
              )
            }
          />
        </InlineField>
      </InlineFieldRow>
      {type === 'metrics' && (
        <InlineFieldRow>
          <InlineField label="Family" labelWidth={16} tooltip="Leave empty for every family; variables allowed">
            <Input
              aria-label="Family"
              width={FIELD_WIDTH}
              defaultValue={query.family ?? ''}
              onBlur={(e) => update({ family: e.currentTarget.value || undefined })}
            />
          </InlineField>
        </InlineFieldRow>
      )}
      {type === 'labelValues' && (
        <InlineFieldRow>
          <InlineField label="Label" labelWidth={16}>
            <Input
              aria-label="Label"
              width={FIELD_WIDTH}
              defaultValue={query.label ?? ''}
              onBlur={(e) => update({ label: e.currentTarget.value })}
            />
          </InlineField>
          <InlineField label="Metric" labelWidth={12} tooltip="Only values seen on this metric; variables allowed">
            <Input
              aria-label="Metric"
              width={36}
              defaultValue={query.metric ?? ''}
              onBlur={(e) => update({ metric: e.currentTarget.value || undefined })}
            />
          </InlineField>
        </InlineFieldRow>
      )}
      {type === 'recordValues' && (
        <RecordField
          kind={query.recordKind ?? 'ipfix_flow'}
          field={query.field}
          loadFields={(kind) => datasource.getRecordFields(kind, range)}
          uid={datasource.uid}
          onChange={(field) => update({ kind: 'records', recordKind: query.recordKind ?? 'ipfix_flow', field })}
        />
      )}
    </>
  );
}

interface RecordFieldProps {
  kind: RecordKind;
  field?: string;
  uid: string;
  loadFields: DataSourceFields;
  onChange: (field: string) => void;
}

type DataSourceFields = (kind: RecordKind) => ReturnType<Props['datasource']['getRecordFields']>;

/** The field whose values the variable lists, offered from the fields that have arrived. */
function RecordField({ kind, field, uid, loadFields, onChange }: RecordFieldProps) {
  const fields = useLoader(`${uid}|${kind}`, () => loadFields(kind));
  const options = withCurrent(
    (fields.value ?? []).map((f) => ({ value: f.name, description: f.type })),
    field
  );
  return (
    <InlineFieldRow>
      <InlineField
        label="Field"
        labelWidth={16}
        tooltip="Values seen in the time range, most frequent first"
        error={fields.error}
        invalid={Boolean(fields.error)}
      >
        <Combobox<string>
          id="netlens-variable-field"
          width={FIELD_WIDTH}
          createCustomValue
          placeholder="exporter, src_addr, …"
          options={options}
          value={field || null}
          onChange={(v) => onChange(v.value)}
        />
      </InlineField>
    </InlineFieldRow>
  );
}
