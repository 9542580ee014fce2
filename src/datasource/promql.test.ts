import { builderToPromQL, escapeRegex, escapeRegexInString, promQLToBuilder, quoteLabelValue } from './promql';

describe('builderToPromQL', () => {
  it('renders selector, rate and aggregation in the shape the backend builds', () => {
    expect(
      builderToPromQL({
        metric: 'ftd_interface_input_bytes',
        matchers: [
          { label: 'device', op: '=', value: 'a1b2' },
          { label: 'interface', op: '=~', value: 'Gig.*' },
        ],
        rate: true,
        aggregation: 'sum',
        groupBy: ['device', 'interface'],
      })
    ).toBe(
      'sum by (device, interface) (rate(ftd_interface_input_bytes{device="a1b2", interface=~"Gig.*"}[$__rate_interval]))'
    );
  });

  it('is empty without a metric and skips half-filled filters', () => {
    expect(builderToPromQL({ matchers: [{ label: 'device', op: '=', value: 'x' }] })).toBe('');
    expect(builderToPromQL({ metric: 'm', matchers: [{ label: '', op: '=', value: 'x' }] })).toBe('m');
  });

  it('quotes values so they cannot end the string', () => {
    expect(quoteLabelValue('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(escapeRegex('Gi0/0.100 (x)')).toBe('Gi0/0\\.100 \\(x\\)');
    // In a PromQL string "a\\\\\\.b" reads as the regex a\\\.b: a literal backslash, then a literal dot.
    expect(escapeRegexInString('a\\.b')).toBe('a\\\\\\\\\\\\.b');
  });
});

describe('promQLToBuilder', () => {
  it('reads back what the builder wrote', () => {
    const fields = {
      metric: 'ftd_interface_input_bytes',
      matchers: [
        { label: 'device', op: '!=' as const, value: 'a "quoted" \\ id' },
        { label: 'interface', op: '!~' as const, value: 'Gig.*' },
      ],
      rate: true,
      aggregation: 'max' as const,
      groupBy: ['device'],
    };
    expect(promQLToBuilder(builderToPromQL(fields))).toEqual(fields);
  });

  it('accepts a bare metric and loose spacing', () => {
    expect(promQLToBuilder('  sum( ftd_cpu_cpu_utilisation )')).toEqual({
      metric: 'ftd_cpu_cpu_utilisation',
      matchers: [],
      rate: false,
      aggregation: 'sum',
      groupBy: [],
    });
  });

  it('refuses what the builder cannot show', () => {
    expect(promQLToBuilder('rate(m[5m])')).toBeUndefined();
    expect(promQLToBuilder('a + b')).toBeUndefined();
    expect(promQLToBuilder('histogram_quantile(0.9, m)')).toBeUndefined();
    expect(promQLToBuilder('m{device="a" device="b"}')).toBeUndefined();
    expect(promQLToBuilder('topk(3, m)')).toBeUndefined();
  });
});
