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
  { value: 'intFlows', label: 'INT flows', description: 'Flow ids of INT reports, for $flow' },
  { value: 'intSwitches', label: 'INT switches', description: 'Value: switch id; text: name' },
];

/** The contract's INT flows variable query: the records variable query on int_report's flow column. */
export const INT_FLOWS: Partial<NetlensVariableQuery> = { kind: 'records', recordKind: 'int_report', field: 'flow' };

/**
 * The type a saved query is of. The contract's records variable query may
 * come without one; on int_report's flow column it is INT flows, whether
 * saved as such or as record values.
 */
export function variableType(q: Partial<NetlensVariableQuery>): VariableQueryType {
  const records = q.kind === 'records' && (!q.type || q.type === 'recordValues');
  if (records && q.recordKind === INT_FLOWS.recordKind && q.field === INT_FLOWS.field) {
    return 'intFlows';
  }
  if (q.type) {
    return q.type;
  }
  return q.kind === 'records' ? 'recordValues' : 'devices';
}

/** What a query carries once its type changes: the records fields only where they mean something. */
function typePatch(q: Partial<NetlensVariableQuery>, type: VariableQueryType): Partial<NetlensVariableQuery> {
  switch (type) {
    case 'recordValues': {
      const fromFlows = variableType(q) === 'intFlows';
      return {
        type,
        kind: 'records',
        recordKind: fromFlows ? 'ipfix_flow' : (q.recordKind ?? 'ipfix_flow'),
        field: fromFlows ? undefined : q.field,
      };
    }
    case 'intFlows':
      return { type, ...INT_FLOWS };
    default:
      return { type, kind: undefined, recordKind: undefined, field: undefined };
  }
}

// One width for every field, so the inputs line up under each other.
const FIELD_WIDTH = 36;

export function VariableQueryEditor({ query, onChange, datasource, range }: Props) {
  const type = variableType(query);
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
            onChange={(v) => update(typePatch(query, v.value))}
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
