import { createTheme } from '@grafana/data';

import { figuresFor } from './display';
import { parsePathFrames } from './paths';
import { smallFrame, withFieldConfig } from './testing/fixtures';

const theme = createTheme({ colors: { mode: 'dark' } });
const c = theme.visualization.getColorByName;

function figures(frame = withFieldConfig(smallFrame(), theme)) {
  const p = parsePathFrames([frame]);
  if (p.kind !== 'ok') {
    throw new Error('want ok');
  }
  return figuresFor(p.fields, theme);
}

describe('figures from field config', () => {
  it('colours a hop by the thresholds of its field', () => {
    const f = figures();
    expect(f.hopLatency.color(900)).toBe(c('green'));
    expect(f.hopLatency.color(14500)).toBe(c('orange'));
    expect(f.hopLatency.color(131000)).toBe(c('red'));
    expect(f.hopLatency.color(null)).toBeUndefined();
    expect(f.hopLatency.steps.map((s) => s.color)).toEqual(['green', 'orange', 'red']);
  });

  it('takes an override by field name for queue occupancy', () => {
    const f = figures();
    expect(f.queueOccupancy.color(20)).toBe(c('blue'));
    expect(f.queueOccupancy.color(120)).toBe(c('yellow'));
    expect(f.queueOccupancy.color(470)).toBe(c('purple'));
  });

  it('follows a colour scheme other than thresholds, with no legend steps', () => {
    const f = figures(withFieldConfig(smallFrame(), theme, { color: { mode: 'fixed', fixedColor: 'purple' } }, {}));
    expect(f.hopLatency.color(900)).toBe(c('purple'));
    expect(f.hopLatency.steps).toEqual([]);
  });

  it('formats with the field unit (ns from the frame) and shows a dash without a value', () => {
    const f = figures();
    expect(f.hopLatency.text(14500)).toBe('14.5 µs');
    expect(f.e2eLatency.text(900)).toBe('900 ns');
    expect(f.hopLatency.text(null)).toBe('–');
    expect(f.queueOccupancy.text(470)).toBe('470');
  });

  it('lets an override of the unit win over the frame', () => {
    const f = figures(withFieldConfig(smallFrame(), theme, {}, { hop_latency: { unit: 'µs', decimals: 1 } }));
    expect(f.hopLatency.text(12)).toBe('12.0 µs');
  });

  it('takes latencies as ns when no config names a unit', () => {
    const p = parsePathFrames([smallFrame()]);
    const fields = p.kind === 'ok' ? p.fields : {};
    const bare = { ...fields.hopLatency!, config: {}, display: undefined };
    expect(figuresFor({ hopLatency: bare }, theme).hopLatency.text(2500000)).toBe('2.50 ms');
  });
});
