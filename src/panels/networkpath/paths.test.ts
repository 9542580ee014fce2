import { createDataFrame, FieldType } from '@grafana/data';

import { parsePathFrames, pathsDiffer, rankLatency, resolveFlowFilter, selectFlows } from './paths';
import {
  FLOW_BACKUP,
  FLOW_DB,
  FLOW_DNS,
  FLOW_WEB,
  largeFrame,
  pathFrame,
  smallFrame,
  smallRows,
  T0,
} from './testing/fixtures';
import { DEFAULT_OPTIONS, FlowPath } from './types';

function parsed() {
  const p = parsePathFrames([smallFrame()]);
  if (p.kind !== 'ok') {
    throw new Error(`want ok, got ${p.kind}`);
  }
  return new Map(p.flows.map((f) => [f.flow, f]));
}

describe('parsePathFrames', () => {
  it('keeps the newest observation of each flow, hops in path order', () => {
    const web = parsed().get(FLOW_WEB)!;
    expect(web.time).toBe(T0 + 1000);
    expect(web.hops.map((h) => h.name)).toEqual(['leaf1', 'spine1', 'leaf2']);
    expect(web.hops.map((h) => h.latency)).toEqual([950, 14500, 820]);
    expect(web.e2eLatency).toBe(950 + 14500 + 820 + 1200);
    expect(web).toMatchObject({
      srcAddr: '10.1.1.10',
      dstAddr: '10.2.2.20',
      protocol: 'tcp',
      srcPort: 40000,
      dstPort: 443,
    });
    expect(web.hops[1]).toMatchObject({
      switchId: 0x1a2b11,
      ingressPort: 1,
      egressPort: 2,
      queueId: 3,
      queueOccupancy: 120,
    });
    expect(web.pathChanged).toBe(false);
    expect(web.dropAt).toBe(-1);
  });

  it('orders hops by the hop field whatever the row order, and takes rows spread over frames', () => {
    const rows = smallRows();
    const reversed = [...rows].reverse();
    const p = parsePathFrames([pathFrame(reversed.slice(0, 10)), pathFrame(reversed.slice(10))]);
    expect(p.kind).toBe('ok');
    const web = p.kind === 'ok' ? p.flows.find((f) => f.flow === FLOW_WEB)! : undefined;
    expect(web?.hops.map((h) => h.index)).toEqual([0, 1, 2]);
    expect(web?.hops.map((h) => h.latency)).toEqual([950, 14500, 820]);
  });

  it('detects a path change against the previous observation and keeps that path', () => {
    const db = parsed().get(FLOW_DB)!;
    expect(db.pathChanged).toBe(true);
    expect(db.hops.map((h) => h.name)).toEqual(['leaf1', 'spine2', 'leaf4']);
    expect(db.previousPath).toEqual(['leaf1', 'spine1', 'leaf4']);
    expect(db.previousTime).toBe(T0);
  });

  it('detects a change the frame does not flag, and trusts a flag without a previous observation', () => {
    const rows = smallRows().map((r) => ({ ...r, path_changed: false }));
    expect(parsePathFrames([pathFrame(rows)]).kind === 'ok' && parsed().get(FLOW_DB)!.pathChanged).toBe(true);
    const unflagged = parsePathFrames([pathFrame(rows)]);
    const db = unflagged.kind === 'ok' ? unflagged.flows.find((f) => f.flow === FLOW_DB) : undefined;
    expect(db?.previousPath).toEqual(['leaf1', 'spine1', 'leaf4']);

    const newestOnly = smallRows().filter((r) => r.time === T0 + 1000);
    const p = parsePathFrames([pathFrame(newestOnly)]);
    const only = p.kind === 'ok' ? p.flows.find((f) => f.flow === FLOW_DB) : undefined;
    expect(only?.pathChanged).toBe(true);
    expect(only?.previousPath).toBeNull();
  });

  it('marks the drop at the hop where it happened, and a path cut short by it is no path change', () => {
    const dns = parsed().get(FLOW_DNS)!;
    expect(dns.dropAt).toBe(1);
    expect(dns.hops[1]).toMatchObject({
      name: 'spine2',
      dropped: true,
      dropReason: 'tail drop: queue 3 full',
      latency: null,
    });
    expect(dns.pathChanged).toBe(false);
  });

  it('says which required fields are missing', () => {
    const p = parsePathFrames([pathFrame(smallRows(), ['hop', 'switch'])]);
    expect(p).toMatchObject({ kind: 'error', missing: ['hop', 'switch'] });
    expect(p.kind === 'error' && p.message).toContain('missing required fields hop, switch');
  });

  it('ignores a frame of another query when a path frame is there', () => {
    const other = createDataFrame({ fields: [{ name: 'value', type: FieldType.number, values: [1, 2] }] });
    const p = parsePathFrames([other, smallFrame()]);
    expect(p.kind === 'ok' && p.flows.length).toBe(4);
  });

  it('is empty without frames or rows', () => {
    expect(parsePathFrames(undefined)).toEqual({ kind: 'empty' });
    expect(parsePathFrames([])).toEqual({ kind: 'empty' });
    expect(parsePathFrames([pathFrame([])])).toEqual({ kind: 'empty' });
  });

  it('names a switch by id when the name is missing', () => {
    const rows = smallRows().map((r) => (r.switch === 'spine1' ? { ...r, switch: null } : r));
    const p = parsePathFrames([pathFrame(rows)]);
    const web = p.kind === 'ok' ? p.flows.find((f) => f.flow === FLOW_WEB) : undefined;
    expect(web?.hops[1].name).toBe(String(0x1a2b11));
  });
});

describe('pathsDiffer', () => {
  it('compares whole paths, and only what both reached when one was dropped', () => {
    expect(pathsDiffer(['a', 'b', 'c'], ['a', 'b', 'c'], false, false)).toBe(false);
    expect(pathsDiffer(['a', 'x', 'c'], ['a', 'b', 'c'], false, false)).toBe(true);
    expect(pathsDiffer(['a', 'b'], ['a', 'b', 'c'], true, false)).toBe(false);
    expect(pathsDiffer(['a', 'x'], ['a', 'b', 'c'], true, false)).toBe(true);
    expect(pathsDiffer(['a', 'b'], ['a', 'b', 'c'], false, false)).toBe(true);
    expect(pathsDiffer(['a', 'b', 'c'], ['a'], false, true)).toBe(false);
  });
});

describe('selectFlows', () => {
  const all = () => {
    const p = parsePathFrames([smallFrame()]);
    return p.kind === 'ok' ? p.flows : [];
  };

  it('ranks the top N by end-to-end latency', () => {
    const s = selectFlows(all(), { ...DEFAULT_OPTIONS, topN: 2 }, null);
    expect(s.flows.map((f) => f.flow)).toEqual([FLOW_BACKUP, FLOW_WEB]);
    expect(s).toMatchObject({ total: 4, byVariable: false });
  });

  it('shows only the flows the variable names', () => {
    const s = selectFlows(all(), { ...DEFAULT_OPTIONS, selection: 'variable' }, [FLOW_DNS]);
    expect(s.flows.map((f) => f.flow)).toEqual([FLOW_DNS]);
    expect(s.byVariable).toBe(true);
    expect(selectFlows(all(), { ...DEFAULT_OPTIONS, selection: 'variable' }, ['nope']).flows).toEqual([]);
  });

  it('falls back to the top N when the variable names nothing', () => {
    const s = selectFlows(all(), { ...DEFAULT_OPTIONS, selection: 'variable', topN: 1 }, null);
    expect(s.flows.map((f) => f.flow)).toEqual([FLOW_BACKUP]);
    expect(s.byVariable).toBe(false);
  });

  it('never returns more than max flows', () => {
    const p = parsePathFrames([largeFrame(500, 5)]);
    const flows = p.kind === 'ok' ? p.flows : [];
    expect(flows).toHaveLength(500);
    expect(selectFlows(flows, { ...DEFAULT_OPTIONS, topN: 400, maxFlows: 120 }, null).flows).toHaveLength(120);
    const s = selectFlows(flows, { ...DEFAULT_OPTIONS, topN: 500 }, null).flows;
    for (let i = 1; i < s.length; i++) {
      expect(rankLatency(s[i - 1])).toBeGreaterThanOrEqual(rankLatency(s[i]));
    }
  });

  it('ranks a flow without end-to-end latency by the sum of its hops', () => {
    const f = { e2eLatency: null, hops: [{ latency: 5 }, { latency: null }, { latency: 7 }] } as unknown as FlowPath;
    expect(rankLatency(f)).toBe(12);
  });
});

describe('resolveFlowFilter', () => {
  const vars: Record<string, string | string[]> = {
    flow: FLOW_WEB,
    flows: [FLOW_WEB, FLOW_DB],
    all: ['$__all'],
    none: '',
  };
  const replace = (value: string, _s?: undefined, format?: string | Function) =>
    value.replace(/\$(\w+)/g, (m, name: string) => {
      if (!(name in vars)) {
        return m;
      }
      return typeof format === 'function' ? format(vars[name]) : String(vars[name]);
    });

  it('gives the flow ids of a single- or multi-value variable', () => {
    expect(resolveFlowFilter('$flow', replace)).toEqual([FLOW_WEB]);
    expect(resolveFlowFilter('$flows', replace)).toEqual([FLOW_WEB, FLOW_DB]);
    expect(resolveFlowFilter(FLOW_DNS, replace)).toEqual([FLOW_DNS]);
  });

  it('gives nothing for an empty filter, All, an empty value or an unknown variable', () => {
    expect(resolveFlowFilter('', replace)).toBeNull();
    expect(resolveFlowFilter('$all', replace)).toBeNull();
    expect(resolveFlowFilter('$none', replace)).toBeNull();
    expect(resolveFlowFilter('$missing', replace)).toBeNull();
  });
});
