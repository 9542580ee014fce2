import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Combobox, ComboboxOption, InlineField, InlineFieldRow, Input } from '@grafana/ui';

import type { DataSource } from '../../datasource';
import { NetlensOptions, NetlensQuery, NetlensVariableQuery, VariableQueryType } from '../../types';

type Props = QueryEditorProps<DataSource, NetlensQuery, NetlensOptions, NetlensVariableQuery>;

// Descriptions are kept short enough to show whole in the menu, which is as
// wide as the field.
const TYPES: Array<ComboboxOption<VariableQueryType>> = [
  { value: 'devices', label: 'Devices', description: 'Value: device id; text: hostname' },
  { value: 'families', label: 'Metric families' },
  { value: 'metrics', label: 'Metric names', description: 'Optionally of one family' },
  { value: 'labelValues', label: 'Label values', description: 'Of one label, optionally on one metric' },
];

// One width for every field, so the inputs line up under each other.
const FIELD_WIDTH = 36;

export function VariableQueryEditor({ query, onChange }: Props) {
  const type: VariableQueryType = query.type ?? 'devices';
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
            onChange={(v) => update({ type: v.value })}
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
    </>
  );
}
