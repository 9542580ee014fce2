import React, { useMemo } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { EditorField, EditorRow } from '@grafana/plugin-ui';
import { Badge, Combobox, Switch, useStyles2 } from '@grafana/ui';

import { MetricInfo } from '../../types';
import { AggregationFields } from '../QueryEditor/AggregationFields';
import { LabelFilters } from '../QueryEditor/LabelFilters';
import { withCurrent } from '../QueryEditor/options';
import { SourceEditorProps } from '../QueryEditor/sources';
import { useLoader, useSlow } from '../QueryEditor/useLoader';

/**
 * Builder for FTD series: family narrows the metric list, the chosen
 * metric's kind decides whether a rate is taken, filters and grouping act on
 * the labels that have arrived.
 */
export function FtdEditor({ query, datasource, range, onChange }: SourceEditorProps) {
  const styles = useStyles2(getStyles);
  const source = query.source;
  const base = `${datasource.uid}|${source}`;
  const families = useLoader(base, () => datasource.getFamilies(source, range));
  const metrics = useLoader(`${base}|${query.family ?? ''}`, () =>
    datasource.getMetrics(source, query.family || undefined, range)
  );
  const labels = useLoader(query.metric ? `${base}|${query.metric}` : null, () =>
    datasource.getLabels(source, query.metric, range)
  );
  const familiesSlow = useSlow(families.loading);
  const metricsSlow = useSlow(metrics.loading);
  const labelsSlow = useSlow(labels.loading);

  const familyOptions = useMemo(
    () =>
      withCurrent(
        (families.value ?? []).map((value) => ({ value })),
        query.family
      ),
    [families.value, query.family]
  );
  const metricOptions = useMemo(
    () =>
      withCurrent(
        (metrics.value ?? []).map((m) => ({ value: m.name, description: describe(m) })),
        query.metric
      ),
    [metrics.value, query.metric]
  );
  const chosen: MetricInfo | undefined = metrics.value?.find((m) => m.name === query.metric);
  const groupOptions = withCurrent(
    (labels.value ?? []).map((value) => ({ value })),
    ...(query.groupBy ?? [])
  );

  const pickMetric = (name: string | undefined) => {
    const info = metrics.value?.find((m) => m.name === name);
    onChange({
      metric: name,
      // A counter only means something as a rate; a gauge as it is.
      rate: info ? info.kind === 'counter' : query.rate,
      family: query.family || info?.family || undefined,
    });
  };

  return (
    <>
      <EditorRow>
        <EditorField label="Family" optional tooltip="Narrows the metric list to one metric family">
          <Combobox<string>
            id={`netlens-ftd-family-${query.refId}`}
            width={24}
            isClearable
            createCustomValue
            placeholder="any"
            loading={familiesSlow}
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
          <Combobox<string>
            id={`netlens-ftd-metric-${query.refId}`}
            width={48}
            createCustomValue
            placeholder="choose a metric"
            loading={metricsSlow}
            options={metricOptions}
            value={query.metric || null}
            onChange={(v) => pickMetric(v.value)}
          />
        </EditorField>
        {chosen && (
          <EditorField label="Kind">
            <div className={styles.control}>
              <Badge
                color={chosen.kind === 'counter' ? 'purple' : chosen.kind === 'gauge' ? 'blue' : 'orange'}
                text={chosen.kind}
                tooltip={chosen.help || undefined}
              />
            </div>
          </EditorField>
        )}
        <EditorField
          label="Rate"
          htmlFor={`netlens-ftd-rate-${query.refId}`}
          tooltip="Per-second rate over $__rate_interval; on by default for counters"
        >
          <div className={styles.control}>
            <Switch
              id={`netlens-ftd-rate-${query.refId}`}
              aria-label="Rate"
              value={Boolean(query.rate)}
              onChange={(e) => onChange({ rate: e.currentTarget.checked })}
            />
          </div>
        </EditorField>
      </EditorRow>
      <EditorRow>
        <LabelFilters
          idPrefix={`netlens-ftd-${query.refId}`}
          matchers={query.matchers ?? []}
          onChange={(matchers) => onChange({ matchers })}
          loadLabels={() => datasource.getLabels(source, query.metric, range)}
          loadValues={(label, others) => datasource.getLabelValues(source, label, query.metric, others, range)}
        />
      </EditorRow>
      <EditorRow>
        <AggregationFields
          idPrefix="netlens-ftd"
          query={query}
          onChange={onChange}
          groupOptions={groupOptions}
          groupTooltip="Labels kept by the aggregation"
          groupPlaceholder="labels"
          groupLoading={labelsSlow}
        />
      </EditorRow>
    </>
  );
}

function describe(m: MetricInfo): string {
  return m.help ? `${m.kind}: ${m.help}` : m.kind;
}

const getStyles = (theme: GrafanaTheme2) => ({
  // As tall as an input: the badge and the switch sit on the inputs' line
  // rather than at the top of the field.
  control: css({ display: 'flex', alignItems: 'center', minHeight: theme.spacing(theme.components.height.md) }),
});
