import { FieldColorModeId, FieldConfigProperty, PanelPlugin, ThresholdsMode } from '@grafana/data';

import { NetworkPathPanel } from './components/NetworkPathPanel';
import { DEFAULT_OPTIONS, Options } from './types';

// Thresholds, unit, decimals and colour come from the standard field config,
// so they follow Grafana's editor and overrides: the defaults below fit hop
// latency in ns (green below 10 µs, orange to 100 µs, red above); give
// queue_occupancy its own thresholds with an override by field name.
export const plugin = new PanelPlugin<Options>(NetworkPathPanel)
  .useFieldConfig({
    standardOptions: {
      [FieldConfigProperty.Color]: { defaultValue: { mode: FieldColorModeId.Thresholds } },
      [FieldConfigProperty.Thresholds]: {
        defaultValue: {
          mode: ThresholdsMode.Absolute,
          steps: [
            { value: -Infinity, color: 'green' },
            { value: 10000, color: 'orange' },
            { value: 100000, color: 'red' },
          ],
        },
      },
    },
  })
  .setPanelOptions((builder) =>
    builder
      .addRadio({
        path: 'selection',
        name: 'Flows',
        description: 'The top N flows by end-to-end latency, or the flows a dashboard variable names',
        defaultValue: DEFAULT_OPTIONS.selection,
        settings: {
          options: [
            { value: 'top', label: 'Top N by latency' },
            { value: 'variable', label: 'From variable' },
          ],
        },
      })
      .addNumberInput({
        path: 'topN',
        name: 'Top N',
        defaultValue: DEFAULT_OPTIONS.topN,
        settings: { min: 1, integer: true },
        showIf: (o) => o.selection === 'top',
      })
      .addTextInput({
        path: 'flowFilter',
        name: 'Flow',
        description: 'Flow id(s) to show, usually a variable such as $flow; empty or All shows the top N',
        defaultValue: DEFAULT_OPTIONS.flowFilter,
        showIf: (o) => o.selection === 'variable',
      })
      .addTextInput({
        path: 'flowVariable',
        name: 'Variable set on click',
        description:
          'Clicking a flow sets this dashboard variable (name without $) to the flow id, so tables and other panels can follow; empty turns clicking off',
        defaultValue: DEFAULT_OPTIONS.flowVariable,
      })
      .addRadio({
        path: 'colorBy',
        name: 'Colour hops by',
        description: 'The figure whose field thresholds colour each switch',
        defaultValue: DEFAULT_OPTIONS.colorBy,
        settings: {
          options: [
            { value: 'hop_latency', label: 'Hop latency' },
            { value: 'queue_occupancy', label: 'Queue occupancy' },
          ],
        },
      })
      .addBooleanSwitch({ path: 'showPorts', name: 'Show ports', defaultValue: DEFAULT_OPTIONS.showPorts })
      .addBooleanSwitch({ path: 'showSwitchIds', name: 'Show switch ids', defaultValue: DEFAULT_OPTIONS.showSwitchIds })
      .addNumberInput({
        path: 'maxFlows',
        name: 'Max flows',
        description: 'Never draw more rows than this, whatever the selection',
        defaultValue: DEFAULT_OPTIONS.maxFlows,
        settings: { min: 1, integer: true },
      })
  );
