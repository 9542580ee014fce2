import React from 'react';
import { EditorField, EditorRow } from '@grafana/plugin-ui';
import { ComboboxOption, MultiCombobox, Text } from '@grafana/ui';

import { EVENT_LABELS, EVENT_TYPES, EventType, Matcher } from '../../types';
import { LabelFilters } from '../QueryEditor/LabelFilters';
import { SourceEditorProps } from '../QueryEditor/sources';

const EVENT_HELP: Record<EventType, string> = {
  connected: 'a device started streaming',
  disconnected: 'a stream ended',
  rejected: 'a peer was refused before it could stream',
  cancelled: 'a stream was cancelled, by the device or the collector',
  error: 'an error on a device (auth, streaming, buffer, …)',
};

const TYPE_OPTIONS: Array<ComboboxOption<string>> = EVENT_TYPES.map((t) => ({ value: t, description: EVENT_HELP[t] }));

/** Keeps only the filters an events query can carry. */
export function eventMatchers(matchers?: Matcher[]): Matcher[] {
  return (matchers ?? []).filter((m) => EVENT_LABELS.includes(m.label));
}

/**
 * Device events: what the collector's device registry saw happen to each
 * device, for annotations and tables. Filters are on device and hostname,
 * the only labels an event has.
 */
export function EventsEditor({ query, datasource, range, onChange }: SourceEditorProps) {
  const source = query.source;
  return (
    <>
      <EditorRow>
        <EditorField label="Event types" tooltip="None chosen means every type">
          <MultiCombobox<string>
            id={`netlens-events-types-${query.refId}`}
            width="auto"
            minWidth={24}
            // Room for all five chips: past maxWidth this combobox lets chips
            // spill out of its box rather than folding them into a count.
            maxWidth={80}
            placeholder="all types"
            options={TYPE_OPTIONS}
            value={query.eventTypes ?? []}
            onChange={(items) => {
              const picked = items.map((i) => i.value);
              // Sent in a fixed order, so the saved query does not change with the clicking order.
              onChange({ eventTypes: EVENT_TYPES.filter((t) => picked.includes(t)) });
            }}
          />
        </EditorField>
      </EditorRow>
      <EditorRow>
        <LabelFilters
          idPrefix={`netlens-events-${query.refId}`}
          matchers={query.matchers ?? []}
          onChange={(matchers) => onChange({ matchers })}
          customLabels={false}
          newLabel="device"
          loadLabels={async () => EVENT_LABELS}
          loadValues={(label, others) => datasource.getLabelValues(source, label, undefined, others, range)}
        />
      </EditorRow>
      <EditorRow>
        <Text variant="bodySmall" color="secondary">
          Events come from the collector&apos;s device registry. It is kept in memory and bounded (the oldest events go
          first), so a restart of the collector starts a new history.
        </Text>
      </EditorRow>
    </>
  );
}
