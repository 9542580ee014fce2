import {
  DisplayProcessor,
  Field,
  FieldColorModeId,
  formattedValueToString,
  getDisplayProcessor,
  GrafanaTheme2,
  Threshold,
} from '@grafana/data';

import { FIELDS } from './types';
import { PathFields } from './paths';

// Colours and text of a figure come from its field, as Grafana set it up
// from the field config (unit, decimals, thresholds, colour scheme, overrides
// by field name). Only when the config names no unit are latencies taken as
// the nanoseconds the wire carries.

export interface Figure {
  /** Text with unit, e.g. "1.20 µs"; "–" when there is no value. */
  text: (value: number | null) => string;
  /** Text and colour in one pass of the display processor. */
  show: (value: number | null) => { text: string; color: string | undefined };
  /** The colour the field config gives the value; undefined when there is no value. */
  color: (value: number | null) => string | undefined;
  /** Threshold steps of the field, for the legend. */
  steps: Threshold[];
}

const NS_FIELDS = new Set<string>([FIELDS.hopLatency, FIELDS.e2eLatency]);

export function figureFor(field: Field | undefined, theme: GrafanaTheme2): Figure {
  let display: DisplayProcessor;
  if (!field) {
    display = getDisplayProcessor({ field: { config: {} }, theme });
  } else if (!field.config.unit && NS_FIELDS.has(field.name)) {
    display = getDisplayProcessor({ field: { ...field, config: { ...field.config, unit: 'ns' } }, theme });
  } else {
    display = field.display ?? getDisplayProcessor({ field, theme });
  }
  const thresholdColors =
    field?.config.color?.mode === undefined || field.config.color.mode === FieldColorModeId.Thresholds;
  return {
    text: (value) => (value === null ? '–' : formattedValueToString(display(value))),
    show: (value) => {
      if (value === null) {
        return { text: '–', color: undefined };
      }
      const d = display(value);
      return { text: formattedValueToString(d), color: d.color };
    },
    color: (value) => (value === null ? undefined : display(value).color),
    steps: thresholdColors ? (field?.config.thresholds?.steps ?? []) : [],
  };
}

export interface Figures {
  hopLatency: Figure;
  queueOccupancy: Figure;
  e2eLatency: Figure;
}

export function figuresFor(fields: PathFields, theme: GrafanaTheme2): Figures {
  return {
    hopLatency: figureFor(fields.hopLatency, theme),
    queueOccupancy: figureFor(fields.queueOccupancy, theme),
    e2eLatency: figureFor(fields.e2eLatency, theme),
  };
}
