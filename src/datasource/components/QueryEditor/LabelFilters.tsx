import React, { useState } from 'react';
import { SelectableValue } from '@grafana/data';
import { EditorField, EditorFieldGroup } from '@grafana/plugin-ui';
import { Button, Select, Stack } from '@grafana/ui';

import { Matcher, MatchOp, MATCH_OPS } from '../../types';

export interface LabelFiltersProps {
  matchers: Matcher[];
  onChange: (matchers: Matcher[]) => void;
  /** Label names that arrived (on the chosen metric). */
  loadLabels: () => Promise<string[]>;
  /** Values of a label, narrowed by the other filters. */
  loadValues: (label: string, others: Matcher[]) => Promise<string[]>;
}

const OP_OPTIONS: Array<SelectableValue<MatchOp>> = MATCH_OPS.map((op) => ({ value: op, label: op }));

/** Label filters of a builder query: label, operator, value, each offering what has arrived. */
export function LabelFilters({ matchers, onChange, loadLabels, loadValues }: LabelFiltersProps) {
  const update = (i: number, m: Matcher) => onChange(matchers.map((old, j) => (j === i ? m : old)));
  const remove = (i: number) => onChange(matchers.filter((_, j) => j !== i));

  return (
    <EditorField label="Label filters">
      <Stack gap={1} direction="row" wrap="wrap" alignItems="flex-start">
        {matchers.map((m, i) => (
          <FilterRow
            key={i}
            index={i}
            matcher={m}
            onChange={(next) => update(i, next)}
            onRemove={() => remove(i)}
            loadLabels={loadLabels}
            loadValues={(label) =>
              loadValues(
                label,
                matchers.filter((_, j) => j !== i)
              )
            }
          />
        ))}
        <Button
          variant="secondary"
          icon="plus"
          size="md"
          aria-label="Add label filter"
          onClick={() => onChange([...matchers, { label: '', op: '=', value: '' }])}
        />
      </Stack>
    </EditorField>
  );
}

interface FilterRowProps {
  index: number;
  matcher: Matcher;
  onChange: (m: Matcher) => void;
  onRemove: () => void;
  loadLabels: () => Promise<string[]>;
  loadValues: (label: string) => Promise<string[]>;
}

function FilterRow({ index, matcher, onChange, onRemove, loadLabels, loadValues }: FilterRowProps) {
  const labels = useOnOpen(loadLabels);
  const values = useOnOpen(() => (matcher.label ? loadValues(matcher.label) : Promise.resolve([])));
  const isRegex = matcher.op === '=~' || matcher.op === '!~';

  return (
    <EditorFieldGroup>
      <Select<string>
        inputId={`netlens-filter-label-${index}`}
        aria-label={`Filter ${index + 1} label`}
        width="auto"
        placeholder="label"
        allowCustomValue
        value={matcher.label || null}
        options={withCurrent(labels.options, matcher.label)}
        isLoading={labels.loading}
        onOpenMenu={labels.open}
        onChange={(v) => onChange({ ...matcher, label: v?.value ?? '', value: '' })}
      />
      <Select<MatchOp>
        inputId={`netlens-filter-op-${index}`}
        aria-label={`Filter ${index + 1} operator`}
        width="auto"
        value={matcher.op}
        options={OP_OPTIONS}
        onChange={(v) => onChange({ ...matcher, op: v.value ?? '=' })}
      />
      <Select<string>
        inputId={`netlens-filter-value-${index}`}
        aria-label={`Filter ${index + 1} value`}
        width="auto"
        placeholder={isRegex ? 'regex' : 'value'}
        allowCustomValue
        value={matcher.value || null}
        options={withCurrent(values.options, matcher.value)}
        isLoading={values.loading}
        onOpenMenu={values.open}
        onChange={(v) => onChange({ ...matcher, value: v?.value ?? '' })}
      />
      <Button variant="secondary" icon="times" aria-label={`Remove filter ${index + 1}`} onClick={onRemove} />
    </EditorFieldGroup>
  );
}

/** Keeps a value typed by hand (or a $variable) selectable though no catalog lists it. */
function withCurrent(options: Array<SelectableValue<string>>, current: string): Array<SelectableValue<string>> {
  if (!current || options.some((o) => o.value === current)) {
    return options;
  }
  return [{ value: current, label: current }, ...options];
}

/** Options fetched each time the menu opens, since they depend on the other filters. */
function useOnOpen(load: () => Promise<string[]>) {
  const [options, setOptions] = useState<Array<SelectableValue<string>>>([]);
  const [loading, setLoading] = useState(false);
  const open = () => {
    setLoading(true);
    load().then(
      (names) => {
        setOptions(names.map((n) => ({ value: n, label: n })));
        setLoading(false);
      },
      () => setLoading(false)
    );
  };
  return { options, loading, open };
}
