import React from 'react';
import { css } from '@emotion/css';
import { EditorField, EditorFieldGroup } from '@grafana/plugin-ui';
import { Button, Combobox, ComboboxOption, Stack, useStyles2 } from '@grafana/ui';

import { Matcher, MatchOp, MATCH_OPS } from '../../types';
import { matching } from './options';

export interface LabelFiltersProps {
  /** Makes the inputs' ids unique among the queries of a panel. */
  idPrefix: string;
  matchers: Matcher[];
  onChange: (matchers: Matcher[]) => void;
  /** Label names that arrived (on the chosen metric). */
  loadLabels: () => Promise<string[]>;
  /** Values of a label, narrowed by the other filters. */
  loadValues: (label: string, others: Matcher[]) => Promise<string[]>;
  /** Whether a label name no list offers can be typed; off where the backend accepts a fixed set. */
  customLabels?: boolean;
  /** The label a new filter starts with. */
  newLabel?: string;
  /** The operators offered; every PromQL one unless the backend takes fewer (records: = and !=). */
  ops?: MatchOp[];
  /** The field's title. */
  title?: string;
}

/**
 * Label filters of a builder query: label, operator, value. Names and values
 * are fetched each time a list opens, since what is offered depends on the
 * other filters.
 */
export function LabelFilters({
  idPrefix,
  matchers,
  onChange,
  loadLabels,
  loadValues,
  customLabels = true,
  newLabel = '',
  ops = MATCH_OPS,
  title = 'Label filters',
}: LabelFiltersProps) {
  const styles = useStyles2(getStyles);
  const opOptions: Array<ComboboxOption<MatchOp>> = ops.map((op) => ({ value: op }));
  const update = (i: number, m: Matcher) => onChange(matchers.map((old, j) => (j === i ? m : old)));
  const remove = (i: number) => onChange(matchers.filter((_, j) => j !== i));

  return (
    <EditorField label={title}>
      <Stack gap={1} direction="row" wrap="wrap" alignItems="flex-start">
        {matchers.map((m, i) => {
          const id = `${idPrefix}-filter-${i}`;
          const others = matchers.filter((_, j) => j !== i);
          return (
            <EditorFieldGroup key={i}>
              <label htmlFor={`${id}-label`} className={styles.hidden}>
                Filter {i + 1} label
              </label>
              <Combobox<string>
                id={`${id}-label`}
                width="auto"
                minWidth={12}
                placeholder="label"
                createCustomValue={customLabels}
                value={m.label || null}
                options={async (typed) => matching(await loadLabels(), typed)}
                onChange={(v) => update(i, { ...m, label: v.value, value: '' })}
              />
              <label htmlFor={`${id}-op`} className={styles.hidden}>
                Filter {i + 1} operator
              </label>
              <Combobox<MatchOp>
                id={`${id}-op`}
                width={8}
                value={m.op}
                options={opOptions}
                onChange={(v) => update(i, { ...m, op: v.value })}
              />
              <label htmlFor={`${id}-value`} className={styles.hidden}>
                Filter {i + 1} value
              </label>
              <Combobox<string>
                id={`${id}-value`}
                width="auto"
                minWidth={12}
                placeholder={m.op === '=~' || m.op === '!~' ? 'regex' : 'value'}
                createCustomValue
                value={m.value || null}
                options={async (typed) => (m.label ? matching(await loadValues(m.label, others), typed) : [])}
                onChange={(v) => update(i, { ...m, value: v.value })}
              />
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
          aria-label="Add label filter"
          onClick={() => onChange([...matchers, { label: newLabel, op: '=', value: '' }])}
        />
      </Stack>
    </EditorField>
  );
}

const getStyles = () => ({
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
