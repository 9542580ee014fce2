import React, { useMemo, useState } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { ConfigSection } from '@grafana/plugin-ui';
import { ComboboxOption, Divider, Field, InlineField, InlineSwitch, MultiCombobox, TextArea } from '@grafana/ui';

import { parseSwitchNames } from '../IntEditor/intQuery';
import { NetlensOptions } from '../../types';
import { withCurrent } from '../QueryEditor/options';
import { StatusPanel } from '../Status/StatusPanel';
import { useStatus } from '../Status/useStatus';

type Props = DataSourcePluginOptionsEditorProps<NetlensOptions>;

export function ConfigEditor(props: Props) {
  const { options, onOptionsChange } = props;
  const jsonData = options.jsonData ?? {};
  const state = useStatus(options.uid);

  const setJsonData = (patch: Partial<NetlensOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  // Devices seen by the collector are offered by name; ids typed by hand
  // (a device that has not connected yet) are kept too.
  const deviceOptions = useMemo(() => {
    // The hostname alone names a chosen device: FTD ids are UUIDs, and a
    // chip holding one left room for barely one device in the field. The
    // state comes first in the description, which the menu may cut short.
    const known: ComboboxOption[] = (state.status?.devices ?? []).map((d) => ({
      value: d.id,
      label: d.hostname || d.id,
      description: d.hostname ? `${d.state} · ${d.id}` : d.state,
    }));
    // An IPFIX exporter's device ("192.0.2.7/0") restricts its flows and
    // volume series the same way.
    const exporters: ComboboxOption[] = (state.exporters ?? [])
      .filter((e) => !known.some((k) => k.value === e.device))
      .map((e) => ({ value: e.device, description: `IPFIX exporter · ${e.state}` }));
    return withCurrent([...known, ...exporters], ...(jsonData.devices ?? []));
  }, [state.status, state.exporters, jsonData.devices]);

  return (
    <>
      <ConfigSection
        title="Queries"
        description="What queries through this data source may see. Receivers, TLS and storage are process settings, listed below."
      >
        <InlineField
          label="Devices"
          labelWidth={24}
          tooltip="Only these devices are visible through this data source. Empty: every device."
        >
          <MultiCombobox<string>
            id="netlens-devices"
            width="auto"
            minWidth={50}
            maxWidth={80}
            createCustomValue
            placeholder="All devices"
            options={deviceOptions}
            value={jsonData.devices ?? []}
            onChange={(items) => setJsonData({ devices: items.map((i) => i.value) })}
          />
        </InlineField>
        <InlineField label="Live by default" labelWidth={24} tooltip="New queries start with Live on">
          <InlineSwitch
            id="netlens-live-default"
            aria-label="Live by default"
            value={Boolean(jsonData.liveEnabledByDefault)}
            onChange={(e) => setJsonData({ liveEnabledByDefault: e.currentTarget.checked })}
          />
        </InlineField>
      </ConfigSection>
      <Divider />
      <ConfigSection
        title="INT switch names"
        description="Names for INT switches, shown in the network path panel, in report tables and on episode annotations."
      >
        <SwitchNames
          value={jsonData.intSwitchNames ?? ''}
          onChange={(intSwitchNames) => setJsonData({ intSwitchNames })}
        />
      </ConfigSection>
      <Divider />
      <StatusPanel state={state} />
    </>
  );
}

/** An example of every id form, in the placeholder. */
const SWITCH_NAMES_EXAMPLE = '0x0000000a=leaf1\n0x00000014=spine1\n12=leaf3\n192.0.2.40=edge-7';

/**
 * The switch-name text, saved as typed when the field loses focus. The
 * entries the backend would not read are named under it, so a typo does not
 * silently leave a switch unnamed.
 */
function SwitchNames({ value, onChange }: { value: string; onChange: (text: string | undefined) => void }) {
  const [draft, setDraft] = useState<string>();
  const text = draft ?? value;
  const { names, bad } = parseSwitchNames(text);
  const invalid = bad.length > 0;
  return (
    <Field
      label="Switch names"
      htmlFor="netlens-int-switch-names"
      description={
        <>
          One <code>id=name</code> a line (or separated by commas). The id is the switch id the reports carry, in hex (
          <code>0x0000000a</code>, any width) or decimal, or the sender address of a switch that sends no switch id.
          Nexus switches derive the id from the VDC MAC; the status below lists every switch heard from with its id. A
          query&apos;s <em>Switch names</em> (for example a dashboard constant <code>$switch_names</code>) overrides
          these per id.
        </>
      }
      invalid={invalid}
      error={invalid ? `Not of the form id=name: ${bad.join(', ')}` : undefined}
    >
      <>
        <TextArea
          id="netlens-int-switch-names"
          rows={5}
          placeholder={SWITCH_NAMES_EXAMPLE}
          value={text}
          onChange={(e) => setDraft(e.currentTarget.value)}
          onBlur={() => {
            if (draft !== undefined && draft !== value) {
              onChange(draft.trim() === '' ? undefined : draft);
            }
            setDraft(undefined);
          }}
        />
        {names.length > 0 && !invalid && (
          <small data-testid="netlens-int-switch-names-count">
            {names.length === 1 ? '1 switch named' : `${names.length} switches named`}
          </small>
        )}
      </>
    </Field>
  );
}
