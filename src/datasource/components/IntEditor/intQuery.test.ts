import { FLOW_TYPES, REPORTS_START } from '../../testing/intFixtures';
import { NetlensQuery } from '../../types';
import {
  describePath,
  figureOf,
  figurePatch,
  filtersOf,
  intKindPatch,
  parseSwitchNames,
  reportTypePatch,
  selectionOf,
} from './intQuery';

function reports(q: Partial<NetlensQuery>): NetlensQuery {
  return { refId: 'A', source: 'int', kind: 'records', editorMode: 'builder', recordKind: 'int_report', ...q };
}

describe('selectionOf and filtersOf', () => {
  it('reads report type and switches out of the filters and writes them back in front', () => {
    const filters = [
      { field: 'dst_addr', op: 'cidr' as const, values: ['10.2.0.0/16'] },
      { field: 'device', op: 'in' as const, values: ['0x0000000a', '0x0000000b'] },
      { ...FLOW_TYPES, values: ['postcard-path', 'flow', 'int'] },
    ];
    const sel = selectionOf({ filters });
    expect(sel).toEqual({
      reportType: 'flow',
      switches: ['0x0000000a', '0x0000000b'],
      others: [{ field: 'dst_addr', op: 'cidr', values: ['10.2.0.0/16'] }],
    });
    expect(filtersOf(sel)).toEqual([
      FLOW_TYPES,
      { field: 'device', op: 'in', values: ['0x0000000a', '0x0000000b'] },
      { field: 'dst_addr', op: 'cidr', values: ['10.2.0.0/16'] },
    ]);
  });

  it('keeps a type or device filter the pickers cannot show among the other filters', () => {
    const filters = [
      { field: 'type', op: '=' as const, values: ['int'] },
      { field: 'device', op: '!=' as const, values: ['0x0000000a'] },
    ];
    expect(selectionOf({ filters })).toEqual({ reportType: 'all', switches: [], others: filters });
    expect(filtersOf(selectionOf({ filters }))).toEqual(filters);
  });

  it('spells one switch and one type with =', () => {
    expect(filtersOf({ reportType: 'drop', switches: ['0x00000014'], others: [] })).toEqual([
      { field: 'type', op: '=', values: ['drop'] },
      { field: 'device', op: '=', values: ['0x00000014'] },
    ]);
  });
});

describe('figures', () => {
  it('names the first aggregate, none without one, undefined for an aggregate it has no name for', () => {
    expect(figureOf(reports({ aggregates: [{ func: 'p95', field: 'max_hop_latency' }] }))).toBe('hop_latency');
    expect(figureOf(reports({ aggregates: [{ func: 'count' }] }))).toBe('count');
    expect(figureOf(reports({}))).toBe('none');
    expect(figureOf(reports({ aggregates: [{ func: 'sum', field: 'hop_count' }] }))).toBeUndefined();
  });

  it('keeps the aggregation when the figure changes, and raw reports drop grouping and ranking', () => {
    const q = reports({ aggregates: [{ func: 'p99', field: 'e2e_latency' }], groupBy: ['flow'], topN: 5 });
    expect(figurePatch(q, 'hop_latency')).toEqual({ aggregates: [{ func: 'p99', field: 'max_hop_latency' }] });
    expect(figurePatch(q, 'queue_occupancy', 'max')).toEqual({
      aggregates: [{ func: 'max', field: 'queue_occupancy' }],
    });
    expect(figurePatch(q, 'none')).toEqual({
      aggregates: undefined,
      groupBy: undefined,
      bucket: undefined,
      topN: undefined,
      other: undefined,
    });
    // From raw reports a figure starts over time with max, without the raw columns.
    expect(figurePatch(reports({ columns: ['time', 'flow'], limit: 50 }), 'e2e_latency')).toEqual({
      columns: undefined,
      limit: undefined,
      bucket: 'auto',
      aggregates: [{ func: 'max', field: 'e2e_latency' }],
    });
  });

  it('gives each report type its natural figure and grouping, and leaves raw reports raw', () => {
    const q = reports({ filters: [FLOW_TYPES], aggregates: [{ func: 'max', field: 'e2e_latency' }] });
    expect(reportTypePatch(q, 'drop')).toEqual({
      filters: [{ field: 'type', op: '=', values: ['drop'] }],
      aggregates: [{ func: 'count' }],
      groupBy: ['device', 'drop_reason'],
    });
    expect(reportTypePatch(q, 'queue')).toMatchObject({
      aggregates: [{ func: 'max', field: 'queue_occupancy' }],
      groupBy: ['device', 'queue_id'],
    });
    expect(reportTypePatch(reports({ filters: [FLOW_TYPES] }), 'queue')).toEqual({
      filters: [{ field: 'type', op: '=', values: ['queue'] }],
    });
  });
});

describe('intKindPatch', () => {
  it('starts reports as the worst end-to-end latency of the top 10 flows over time', () => {
    expect(intKindPatch({ source: 'int', kind: 'series', metric: 'int_reports_total' }, 'records')).toMatchObject({
      ...REPORTS_START,
      metric: undefined,
    });
  });

  it('carries switches and filters from reports to path and episodes, but not the report type', () => {
    const q = reports({
      filters: [
        { field: 'type', op: '=', values: ['drop'] },
        { field: 'device', op: '=', values: ['0x0000000a'] },
      ],
      aggregates: [{ func: 'count' }],
      switchNames: '$switch_names',
    });
    const path = intKindPatch(q, 'path');
    expect(path).toMatchObject({
      kind: 'path',
      filters: [{ field: 'device', op: '=', values: ['0x0000000a'] }],
      topN: 20,
      aggregates: undefined,
      recordKind: undefined,
      format: 'table',
    });
    // Switch names stay for every INT kind that shows switches.
    expect(path).not.toHaveProperty('switchNames');
    expect(intKindPatch(q, 'episodes')).toMatchObject({
      kind: 'episodes',
      eventTypes: ['drop', 'congestion'],
      filters: [{ field: 'device', op: '=', values: ['0x0000000a'] }],
    });
    const series = intKindPatch(q, 'series');
    expect(series).toMatchObject({ kind: 'series', filters: undefined, aggregates: undefined });
    // INT series carry a switch label that the switch names name.
    expect(series).not.toHaveProperty('switchNames');
  });
});

describe('describePath', () => {
  it('says which flows the panel gets', () => {
    expect(describePath({ topN: 50 })).toBe(
      'int_report paths | top 50 flows by end-to-end latency | newest path per flow, and the previous one when it differs'
    );
    expect(describePath({ flow: '$flow', filters: [{ field: 'device', op: '=', values: ['0x0000000a'] }] })).toBe(
      'int_report paths | flows $flow | where device = 0x0000000a | newest path per flow, and the previous one when it differs'
    );
  });
});

describe('parseSwitchNames', () => {
  it('reads id=name by lines or commas, ids in hex, decimal or as an address, and lists what it cannot read', () => {
    const text = '0x0000000a=leaf1\n11 = leaf2, 192.0.2.40=edge-no-id\n\n2001:db8::7=v6\nspine1\n0xZZ=bad\n=nothing';
    expect(parseSwitchNames(text)).toEqual({
      names: [
        { id: '0x0000000a', name: 'leaf1' },
        { id: '11', name: 'leaf2' },
        { id: '192.0.2.40', name: 'edge-no-id' },
        { id: '2001:db8::7', name: 'v6' },
      ],
      bad: ['spine1', '0xZZ=bad', '=nothing'],
    });
  });
});
