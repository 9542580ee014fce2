import React, { useMemo } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { ConfigSection } from '@grafana/plugin-ui';
import { ComboboxOption, Divider, InlineField, InlineSwitch, MultiCombobox } from '@grafana/ui';

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
      <StatusPanel state={state} />
    </>
  );
}
