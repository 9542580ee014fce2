import React from 'react';
import { dateTimeFormatTimeAgo } from '@grafana/data';
import { EditorField, EditorRow } from '@grafana/plugin-ui';
import { Alert, Badge, Combobox, ComboboxOption, Switch, Text, useStyles2 } from '@grafana/ui';

import { Matcher, XrLeaf, XrPath } from '../../types';
import { describeRecords } from '../RecordsEditor/describe';
import { LimitField } from '../RecordsEditor/QuerySections';
import { AggregationFields } from '../QueryEditor/AggregationFields';
import { LabelFilters } from '../QueryEditor/LabelFilters';
import { withCurrent } from '../QueryEditor/options';
import { getEditorStyles } from '../QueryEditor/styles';
import { SourceEditorProps } from '../QueryEditor/sources';
import { useLoader, useSlow } from '../QueryEditor/useLoader';
import {
  describeLeaf,
  describePath,
  devicePatch,
  filtersAsMatchers,
  keyFilters,
  keyFiltersPatch,
  keyMatchers,
  keyMatchersPatch,
  leafPatch,
  matchersAsFilters,
  pathKeyLabels,
  pathPatch,
  RESERVED_LABELS,
  selectionOf,
  XR_STATE,
} from './xrQuery';

/** The port routers send to by default (config xr_tcp_listen_address). */
export const XR_PORT = 57500;

/**
 * Builder for IOS XR telemetry: router, then policy path or sensor path,
 * then leaf. A numeric leaf is a series (the leaf's metric, its keys as
 * labels); a string leaf (states, descriptions) is raw xr_state records for
 * a table or a state timeline. Paths from the .policy files are listed with
 * their group's cadence before any router sends them.
 */
export function XrEditor({ query, datasource, range, onChange }: SourceEditorProps) {
  const styles = useStyles2(getEditorStyles);
  const sel = selectionOf(query);
  const records = query.kind === 'records';
  const base = datasource.uid;

  const routers = useLoader(`${base}|routers`, () => datasource.getXrRouters());
  const paths = useLoader(`${base}|paths|${sel.device ?? ''}`, () => datasource.getXrPaths(sel.device));
  const leaves = useLoader(sel.path ? `${base}|leaves|${sel.device ?? ''}|${sel.path}` : null, () =>
    datasource.getXrLeaves(sel.path!, sel.device)
  );
  const routersSlow = useSlow(routers.loading);
  const pathsSlow = useSlow(paths.loading);
  const leavesSlow = useSlow(leaves.loading);

  const path: XrPath | undefined = paths.value?.find((p) => p.path === sel.path);
  const keyLabels = pathKeyLabels(path);
  const leaf: XrLeaf | undefined = records
    ? leaves.value?.find((l) => l.leaf === sel.leaf)
    : leaves.value?.find((l) => l.metric !== '' && l.metric === sel.metric);
  const leafValue = records ? sel.leaf : (leaf?.leaf ?? sel.metric);

  const routerOptions = withCurrent(
    (routers.value ?? []).map((r) => ({
      value: r.device,
      description: [r.remote, r.encodings?.join(', '), r.lastSeenMs > 0 ? dateTimeFormatTimeAgo(r.lastSeenMs) : '']
        .filter(Boolean)
        .join(' · '),
    })),
    sel.device
  );
  const pathOptions = withCurrent(pathChoices(paths.value ?? []), sel.path);
  const leafOptions = withCurrent(leafChoices(leaves.value ?? []), leafValue);

  const pickLeaf = (name: string | undefined) => {
    const next = leaves.value?.find((l) => l.leaf === name);
    if (next) {
      onChange(leafPatch(query, next, keyLabels));
    } else if (name && !records) {
      // Typed by hand (a metric name, a variable): taken as a series metric.
      onChange({ metric: name });
    }
  };

  // Labels a key filter or group by can use: the path's keys, and what
  // arrived on the metric besides the labels every XR series has.
  const loadKeyLabels = async () => {
    const arrived = sel.metric ? await datasource.getLabels('xr', sel.metric, range) : [];
    return [...new Set([...keyLabels, ...arrived.filter((l) => !RESERVED_LABELS.includes(l))])];
  };
  const picked: Matcher[] = [
    ...(sel.device ? [{ label: 'device', op: '=' as const, value: sel.device }] : []),
    ...(sel.path ? [{ label: 'path', op: '=' as const, value: sel.path }] : []),
  ];
  const empty = routers.value !== undefined && routers.value.length === 0;

  return (
    <>
      {routers.error && (
        <Alert severity="warning" title="Cannot list the IOS XR routers">
          {routers.error}
        </Alert>
      )}
      {empty && !routers.error && (
        <Alert severity="info" title="No router has sent data yet">
          {emptyText((paths.value ?? []).length > 0)}
        </Alert>
      )}
      <EditorRow>
        <EditorField label="Router" optional tooltip="The device label: the router's node name, else its address">
          <Combobox<string>
            id={`netlens-xr-router-${query.refId}`}
            width={28}
            isClearable
            createCustomValue
            placeholder="any router"
            loading={routersSlow}
            options={routerOptions}
            value={sel.device || null}
            onChange={(v) => onChange(devicePatch(query, v?.value || undefined, keyLabels))}
          />
        </EditorField>
        <EditorField
          label="Path"
          tooltip="Policy paths (policy-driven, from the .policy files and data) and sensor paths (model-driven)"
          error={paths.error}
          invalid={Boolean(paths.error)}
        >
          <Combobox<string>
            id={`netlens-xr-path-${query.refId}`}
            width={64}
            createCustomValue
            placeholder="choose a policy or sensor path"
            loading={pathsSlow}
            options={pathOptions}
            value={sel.path || null}
            onChange={(v) => onChange(pathPatch(query, v?.value || undefined))}
          />
        </EditorField>
        {path && (
          <EditorField label="Cadence">
            <div className={styles.control}>
              <span data-testid="netlens-xr-cadence">
                <Text color="secondary" variant="bodySmall">
                  {describePath(path)}
                </Text>
              </span>
            </div>
          </EditorField>
        )}
      </EditorRow>
      <EditorRow>
        <EditorField
          label="Leaf"
          tooltip="Numbers are series (counters as a rate by default); strings are state records for tables and state timelines"
          error={leaves.error}
          invalid={Boolean(leaves.error)}
        >
          <Combobox<string>
            // The saved metric turns into its leaf's name once the leaves
            // are in; a new box shows it (the box keeps its text otherwise).
            key={leafValue ?? ''}
            id={`netlens-xr-leaf-${query.refId}`}
            width={48}
            createCustomValue={!records}
            disabled={!sel.path && !leafValue}
            placeholder={sel.path ? 'choose a leaf' : 'choose a path first'}
            loading={leavesSlow}
            options={leafOptions}
            value={leafValue || null}
            onChange={(v) => pickLeaf(v?.value)}
          />
        </EditorField>
        {leaf && (
          <EditorField label="Kind">
            <div className={styles.control}>
              <Badge
                color={leaf.kind === 'counter' ? 'purple' : leaf.kind === 'gauge' ? 'blue' : 'orange'}
                text={leaf.kind}
                tooltip={describeLeaf(leaf)}
              />
            </div>
          </EditorField>
        )}
        {!records && (
          <EditorField
            label="Rate"
            htmlFor={`netlens-xr-rate-${query.refId}`}
            tooltip="Per-second rate over $__rate_interval; on by default for counters"
          >
            <div className={styles.control}>
              <Switch
                id={`netlens-xr-rate-${query.refId}`}
                aria-label="Rate"
                value={Boolean(query.rate)}
                onChange={(e) => onChange({ rate: e.currentTarget.checked })}
              />
            </div>
          </EditorField>
        )}
      </EditorRow>
      {sel.path && leaves.value && leaves.value.length === 0 && !leaves.error && (
        <Alert severity="info" title="No leaves yet">
          {path?.source === 'policy'
            ? `No router has sent this path yet (${describePath(path)}); its leaves show once data arrives.`
            : 'Nothing of this path arrived in a form that has leaves yet.'}
        </Alert>
      )}
      {!records && (
        <>
          <EditorRow>
            <LabelFilters
              idPrefix={`netlens-xr-${query.refId}`}
              title="Key filters"
              matchers={keyMatchers(query)}
              onChange={(keys) => onChange(keyMatchersPatch(query, keys))}
              loadLabels={loadKeyLabels}
              loadValues={(label, others) =>
                datasource.getLabelValues('xr', label, sel.metric, [...picked, ...others], range)
              }
              newLabel={keyLabels[0] ?? ''}
            />
          </EditorRow>
          <EditorRow>
            <AggregationFields
              idPrefix="netlens-xr"
              query={query}
              onChange={onChange}
              groupOptions={withCurrent(
                [...keyLabels, 'device'].map((value) => ({ value })),
                ...(query.groupBy ?? [])
              )}
              groupTooltip="Key labels kept by the aggregation, such as interface_name"
              groupPlaceholder="key labels"
            />
          </EditorRow>
        </>
      )}
      {records && (
        <>
          <EditorRow>
            <LabelFilters
              idPrefix={`netlens-xr-${query.refId}`}
              title="Key filters"
              ops={['=', '!=']}
              matchers={filtersAsMatchers(keyFilters(query))}
              onChange={(keys) => onChange(keyFiltersPatch(query, matchersAsFilters(keys)))}
              loadLabels={async () => keyLabels}
              loadValues={(field) => datasource.getRecordValues(XR_STATE, field, '', range)}
              newLabel={keyLabels[0] ?? ''}
            />
            <LimitField rows="rows" placeholder="1000" query={query} onChange={onChange} />
          </EditorRow>
          <EditorRow>
            <EditorField label="Query" width="100%" tooltip="What the builder asks of the record store">
              <code className={styles.preview} data-testid="netlens-records-preview">
                {describeRecords(query)}
              </code>
            </EditorField>
          </EditorRow>
          <Alert severity="info" title="A string leaf is a table of its changes" data-testid="netlens-xr-state-hint">
            Each row is a value as it changed (and at least once a minute), newest first: a table panel shows it as it
            is. For a state timeline, choose the State timeline visualization and add the transformations{' '}
            <em>Sort by</em> time (ascending) and <em>Partition by values</em> on{' '}
            {keyLabels.length > 0 ? keyLabels.join(', ') : 'the key columns'}, so that each {keyLabels[0] ?? 'row key'}{' '}
            gets its own lane of values.
          </Alert>
        </>
      )}
    </>
  );
}

/** What to do when no router has sent anything. */
export function emptyText(policyPaths: boolean): string {
  return (
    `No router has sent data yet — point a policy group at port ${XR_PORT} (TCP, or UDP for compact GPB), ` +
    "or a model-driven subscription's destination group at the same port or the gRPC dial-out port." +
    (policyPaths ? " The policy files' paths are listed with their cadence; their leaves show once data arrives." : '')
  );
}

/**
 * Path options: one per path, grouped by policy (model-driven paths by
 * themselves), each saying its group and cadence. A path in several groups
 * lists them all.
 */
export function pathChoices(paths: XrPath[]): ComboboxOption[] {
  const byPath = new Map<string, { group: string; description: string[] }>();
  for (const p of paths) {
    const entry = byPath.get(p.path);
    if (entry) {
      entry.description.push(describePath(p));
    } else {
      byPath.set(p.path, {
        group: p.policy ? `Policy ${p.policy}` : 'Model-driven sensor paths',
        description: [describePath(p)],
      });
    }
  }
  return [...byPath.entries()].map(([value, e]) => ({ value, group: e.group, description: e.description.join('; ') }));
}

/** Leaf options: numbers first (series), then strings (state records). */
export function leafChoices(leaves: XrLeaf[]): ComboboxOption[] {
  const numbers = leaves.filter((l) => l.kind !== 'string');
  const strings = leaves.filter((l) => l.kind === 'string');
  return [
    ...numbers.map((l) => ({ value: l.leaf, group: 'Numbers (series)', description: describeLeaf(l) })),
    ...strings.map((l) => ({ value: l.leaf, group: 'Strings (state records)', description: describeLeaf(l) })),
  ];
}
