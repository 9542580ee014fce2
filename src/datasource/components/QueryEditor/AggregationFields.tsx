import React from 'react';
import { EditorField } from '@grafana/plugin-ui';
import { Combobox, ComboboxOption, MultiCombobox } from '@grafana/ui';

import { Aggregation, AGGREGATIONS, NetlensQuery } from '../../types';

// Combobox options cannot have an empty value, so "no aggregation" has a name here.
const NO_AGGREGATION = 'none';
const AGG_OPTIONS: ComboboxOption[] = AGGREGATIONS.map((a) => ({ value: a || NO_AGGREGATION }));

interface Props {
  idPrefix: string;
  query: NetlensQuery;
  onChange: (patch: Partial<NetlensQuery>) => void;
  /** What the aggregation may keep: the labels the series carry. */
  groupOptions: ComboboxOption[];
  groupTooltip: string;
  /** What the group-by box says while empty and enabled. */
  groupPlaceholder: string;
  groupLoading?: boolean;
}

/**
 * Aggregation and group by of a series builder. Group by is only offered
 * with an aggregation, and removing the aggregation clears it, because the
 * backend refuses a group by without an aggregation.
 */
export function AggregationFields({
  idPrefix,
  query,
  onChange,
  groupOptions,
  groupTooltip,
  groupPlaceholder,
  groupLoading,
}: Props) {
  return (
    <>
      <EditorField label="Aggregation">
        <Combobox<string>
          id={`${idPrefix}-aggregation-${query.refId}`}
          width={16}
          options={AGG_OPTIONS}
          value={query.aggregation || NO_AGGREGATION}
          onChange={(v) => {
            const aggregation = (v.value === NO_AGGREGATION ? '' : v.value) as Aggregation;
            onChange(aggregation ? { aggregation } : { aggregation: '', groupBy: undefined });
          }}
        />
      </EditorField>
      <EditorField label="Group by" tooltip={groupTooltip}>
        <MultiCombobox<string>
          id={`${idPrefix}-groupby-${query.refId}`}
          width="auto"
          minWidth={24}
          maxWidth={60}
          createCustomValue
          disabled={!query.aggregation}
          // Disabled and empty, the field was a blank box with nothing to say why.
          placeholder={query.aggregation ? groupPlaceholder : 'needs an aggregation'}
          loading={groupLoading}
          options={groupOptions}
          value={query.groupBy ?? []}
          onChange={(items) => onChange({ groupBy: items.map((i) => i.value) })}
        />
      </EditorField>
    </>
  );
}
