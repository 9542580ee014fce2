import React, { useMemo } from 'react';
import { SelectableValue } from '@grafana/data';
import { EditorField, EditorRow } from '@grafana/plugin-ui';
import { Badge, MultiSelect, Select, Switch } from '@grafana/ui';

import { Aggregation, AGGREGATIONS, MetricInfo } from '../../types';
import { LabelFilters } from '../QueryEditor/LabelFilters';
import { SourceEditorProps } from '../QueryEditor/sources';
import { useLoader } from '../QueryEditor/useLoader';

const AGG_OPTIONS: Array<SelectableValue<Aggregation>> = AGGREGATIONS.map((a) => ({
  value: a,
  label: a === '' ? 'none' : a,
}));

/**
 * Builder for FTD series: family narrows the metric list, the chosen
 * metric's kind decides whether a rate is taken, filters and grouping act on
 * the labels that have arrived.
 */
export function FtdEditor({ query, datasource, range, onChange }: SourceEditorProps) {
  const source = query.source;
  const base = `${datasource.uid}|${source}`;
  const families = useLoader(base, () => datasource.getFamilies(source, range));
  const metrics = useLoader(`${base}|${query.family ?? ''}`, () =>
    datasource.getMetrics(source, query.family || undefined, range)
  );
  const labels = useLoader(query.metric ? `${base}|${query.metric}` : null, () =>
    datasource.getLabels(source, query.metric, range)
  );

  const familyOptions = useMemo(
    () =>
      withCurrent(
        (families.value ?? []).map((f) => ({ value: f, label: f })),
        query.family
      ),
    [families.value, query.family]
  );
  const metricOptions = useMemo(
    () =>
      withCurrent(
        (metrics.value ?? []).map((m) => ({ value: m.name, label: m.name, description: describe(m) })),
        query.metric
      ),
    [metrics.value, query.metric]
  );
  const chosen: MetricInfo | undefined = metrics.value?.find((m) => m.name === query.metric);
  const groupOptions = (labels.value ?? []).map((l) => ({ value: l, label: l }));

  const pickMetric = (name: string | undefined) => {
    const info = metrics.value?.find((m) => m.name === name);
    onChange({
      metric: name,
      // A counter only means something as a rate; a gauge as it is.
      rate: info ? info.kind === 'counter' : query.rate,
      family: query.family || info?.family,
    });
  };

  return (
    <>
      <EditorRow>
        <EditorField label="Family" optional tooltip="Narrows the metric list to one FTD metric family">
          <Select<string>
            inputId="netlens-ftd-family"
            aria-label="Family"
            width={24}
            isClearable
            allowCustomValue
            placeholder="any"
            isLoading={families.loading}
            options={familyOptions}
            value={query.family || null}
            onChange={(v) => {
              const family = v?.value || undefined;
              const keep = !family || !query.metric || chosen?.family === family;
              onChange(keep ? { family } : { family, metric: undefined });
            }}
          />
        </EditorField>
        <EditorField label="Metric" error={metrics.error} invalid={Boolean(metrics.error)}>
          <Select<string>
            inputId="netlens-ftd-metric"
            aria-label="Metric"
            width={48}
            allowCustomValue
            placeholder="choose a metric"
            isLoading={metrics.loading}
            options={metricOptions}
            value={query.metric || null}
            onChange={(v) => pickMetric(v?.value)}
          />
        </EditorField>
        {chosen && (
          <EditorField label="Kind">
            <Badge
              color={chosen.kind === 'counter' ? 'purple' : chosen.kind === 'gauge' ? 'blue' : 'orange'}
              text={chosen.kind}
              tooltip={chosen.help || undefined}
            />
          </EditorField>
        )}
        <EditorField label="Rate" tooltip="Per-second rate over $__rate_interval; on by default for counters">
          <Switch
            id="netlens-ftd-rate"
            aria-label="Rate"
            value={Boolean(query.rate)}
            onChange={(e) => onChange({ rate: e.currentTarget.checked })}
          />
        </EditorField>
      </EditorRow>
      <EditorRow>
        <LabelFilters
          matchers={query.matchers ?? []}
          onChange={(matchers) => onChange({ matchers })}
          loadLabels={() => datasource.getLabels(source, query.metric, range)}
          loadValues={(label, others) => datasource.getLabelValues(source, label, query.metric, others, range)}
        />
      </EditorRow>
      <EditorRow>
        <EditorField label="Aggregation">
          <Select<Aggregation>
            inputId="netlens-ftd-aggregation"
            aria-label="Aggregation"
            width={16}
            options={AGG_OPTIONS}
            value={query.aggregation ?? ''}
            onChange={(v) =>
              // The backend refuses a group by without an aggregation.
              onChange(v.value ? { aggregation: v.value } : { aggregation: '', groupBy: undefined })
            }
          />
        </EditorField>
        <EditorField label="Group by" tooltip="Labels kept by the aggregation">
          <MultiSelect<string>
            inputId="netlens-ftd-groupby"
            aria-label="Group by"
            width={40}
            allowCustomValue
            disabled={!query.aggregation}
            isLoading={labels.loading}
            options={groupOptions}
            value={query.groupBy ?? []}
            onChange={(items: Array<SelectableValue<string>>) =>
              onChange({ groupBy: items.map((i) => i.value).filter((v): v is string => Boolean(v)) })
            }
          />
        </EditorField>
      </EditorRow>
    </>
  );
}

function describe(m: MetricInfo): string {
  return m.help ? `${m.kind}: ${m.help}` : m.kind;
}

function withCurrent(options: Array<SelectableValue<string>>, current?: string): Array<SelectableValue<string>> {
  if (!current || options.some((o) => o.value === current)) {
    return options;
  }
  return [{ value: current, label: current }, ...options];
}
