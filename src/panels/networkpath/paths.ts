import { DataFrame, Field } from '@grafana/data';

import { FIELDS, FlowPath, Hop, Options, REQUIRED_FIELDS } from './types';

// From path frames to one path per flow: the newest observation of each flow
// (an observation is the rows of one flow with the same time), compared with
// the one before it to tell a path change. Pure: the panel calls it on every
// new frame, so it makes two passes over the rows and nothing more.

export interface PathFields {
  hopLatency?: Field;
  queueOccupancy?: Field;
  e2eLatency?: Field;
}

export type Parsed =
  | { kind: 'ok'; flows: FlowPath[]; fields: PathFields }
  | { kind: 'empty' }
  | { kind: 'error'; message: string; missing: string[] };

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Time values arrive as ms numbers; a string or Date (a hand-made frame) is taken too. */
function timeOf(v: unknown): number {
  if (typeof v === 'number') {
    return v;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? 0 : t;
  }
  return 0;
}

function byName(frame: DataFrame): Map<string, Field> {
  const m = new Map<string, Field>();
  for (const f of frame.fields) {
    if (!m.has(f.name)) {
      m.set(f.name, f);
    }
  }
  return m;
}

interface Acc {
  newest: number;
  prev: number;
  path: FlowPath;
  prevHops: Array<{ index: number; name: string }>;
  prevDropped: boolean;
}

/** Whether two switch lists differ; a path cut short by a drop is compared on what both reached. */
export function pathsDiffer(
  newest: string[],
  previous: string[],
  newestDropped: boolean,
  prevDropped: boolean
): boolean {
  if (!newestDropped && !prevDropped) {
    return newest.length !== previous.length || newest.some((s, i) => s !== previous[i]);
  }
  const n = Math.min(newest.length, previous.length);
  for (let i = 0; i < n; i++) {
    if (newest[i] !== previous[i]) {
      return true;
    }
  }
  // The shorter one must have stopped because of its drop, not because it went elsewhere.
  return (newest.length < previous.length && !newestDropped) || (previous.length < newest.length && !prevDropped);
}

function hopName(name: unknown, id: number | null, index: number): string {
  return str(name) ?? (id !== null ? String(id) : `hop ${index}`);
}

export function parsePathFrames(frames: DataFrame[] | undefined): Parsed {
  const withRows = (frames ?? []).filter((f) => f.length > 0 && f.fields.length > 0);
  if (withRows.length === 0) {
    return { kind: 'empty' };
  }
  const usable: Array<Map<string, Field>> = [];
  let missing: string[] = [];
  for (const frame of withRows) {
    const fields = byName(frame);
    const lacks = REQUIRED_FIELDS.filter((n) => !fields.has(n));
    if (lacks.length === 0) {
      usable.push(fields);
    } else if (missing.length === 0) {
      missing = lacks;
    }
  }
  if (usable.length === 0) {
    return {
      kind: 'error',
      missing,
      message: `The frame is missing required field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: this panel expects Netlens INT path rows (time, flow, hop, switch, ...).`,
    };
  }

  const accs = new Map<string, Acc>();
  // Pass 1: the newest and the one-before-newest time of each flow.
  for (const fields of usable) {
    const time = fields.get(FIELDS.time)!.values;
    const flow = fields.get(FIELDS.flow)!.values;
    for (let i = 0; i < time.length; i++) {
      const key = str(flow[i]);
      if (key === null) {
        continue;
      }
      const t = timeOf(time[i]);
      const acc = accs.get(key);
      if (!acc) {
        accs.set(key, {
          newest: t,
          prev: -Infinity,
          prevHops: [],
          prevDropped: false,
          path: {
            flow: key,
            srcAddr: null,
            dstAddr: null,
            protocol: null,
            srcPort: null,
            dstPort: null,
            time: t,
            e2eLatency: null,
            hops: [],
            dropAt: -1,
            pathChanged: false,
            previousPath: null,
            previousTime: null,
          },
        });
      } else if (t > acc.newest) {
        acc.prev = acc.newest;
        acc.newest = t;
      } else if (t < acc.newest && t > acc.prev) {
        acc.prev = t;
      }
    }
  }

  // Pass 2: the hops of those two observations.
  for (const fields of usable) {
    const v = (name: string) => fields.get(name)?.values;
    const time = v(FIELDS.time)!;
    const flow = v(FIELDS.flow)!;
    const hop = v(FIELDS.hop)!;
    const sw = v(FIELDS.switchName)!;
    const swId = v(FIELDS.switchId);
    const inPort = v(FIELDS.ingressPort);
    const outPort = v(FIELDS.egressPort);
    const lat = v(FIELDS.hopLatency);
    const qId = v(FIELDS.queueId);
    const qOcc = v(FIELDS.queueOccupancy);
    const e2e = v(FIELDS.e2eLatency);
    const dropped = v(FIELDS.dropped);
    const reason = v(FIELDS.dropReason);
    const changed = v(FIELDS.pathChanged);
    const srcAddr = v(FIELDS.srcAddr);
    const dstAddr = v(FIELDS.dstAddr);
    const proto = v(FIELDS.protocol);
    const srcPort = v(FIELDS.srcPort);
    const dstPort = v(FIELDS.dstPort);
    for (let i = 0; i < time.length; i++) {
      const key = str(flow[i]);
      if (key === null) {
        continue;
      }
      const acc = accs.get(key)!;
      const t = timeOf(time[i]);
      const index = num(hop[i]) ?? 0;
      const id = num(swId?.[i]);
      if (t === acc.newest) {
        const p = acc.path;
        p.hops.push({
          index,
          name: hopName(sw[i], id, index),
          switchId: id,
          ingressPort: num(inPort?.[i]),
          egressPort: num(outPort?.[i]),
          latency: num(lat?.[i]),
          queueId: num(qId?.[i]),
          queueOccupancy: num(qOcc?.[i]),
          dropped: dropped?.[i] === true,
          dropReason: str(reason?.[i]),
        });
        p.e2eLatency ??= num(e2e?.[i]);
        p.srcAddr ??= str(srcAddr?.[i]);
        p.dstAddr ??= str(dstAddr?.[i]);
        p.protocol ??= str(proto?.[i]);
        p.srcPort ??= num(srcPort?.[i]);
        p.dstPort ??= num(dstPort?.[i]);
        if (changed?.[i] === true) {
          p.pathChanged = true;
        }
      } else if (t === acc.prev) {
        acc.prevHops.push({ index, name: hopName(sw[i], id, index) });
        if (dropped?.[i] === true) {
          acc.prevDropped = true;
        }
      }
    }
  }

  const flows: FlowPath[] = [];
  for (const acc of accs.values()) {
    const p = acc.path;
    p.time = acc.newest;
    p.hops.sort(byIndex);
    p.dropAt = p.hops.findIndex((h) => h.dropped);
    if (acc.prevHops.length > 0) {
      acc.prevHops.sort(byIndex);
      const prev = acc.prevHops.map((h) => h.name);
      if (pathsDiffer(p.hops.map(nameOf), prev, p.dropAt >= 0, acc.prevDropped)) {
        p.pathChanged = true;
        p.previousPath = prev;
        p.previousTime = acc.prev;
      }
    }
    flows.push(p);
  }
  const first = usable[0];
  return {
    kind: 'ok',
    flows,
    fields: {
      hopLatency: first.get(FIELDS.hopLatency),
      queueOccupancy: first.get(FIELDS.queueOccupancy),
      e2eLatency: first.get(FIELDS.e2eLatency),
    },
  };
}

function byIndex(a: { index: number }, b: { index: number }) {
  return a.index - b.index;
}

function nameOf(h: Hop) {
  return h.name;
}

/** End-to-end latency, else the sum of the hops' latencies, for ranking. */
export function rankLatency(p: FlowPath): number {
  if (p.e2eLatency !== null) {
    return p.e2eLatency;
  }
  let sum = -1;
  for (const h of p.hops) {
    if (h.latency !== null) {
      sum = Math.max(sum, 0) + h.latency;
    }
  }
  return sum;
}

export interface Selection {
  flows: FlowPath[];
  /** Flows in the frame. */
  total: number;
  /** Whether the flows are those a variable picked (else the top N). */
  byVariable: boolean;
}

/**
 * The rows to draw: the flows the variable names (when it names any), else
 * the top N by end-to-end latency; never more than maxFlows.
 */
export function selectFlows(
  all: FlowPath[],
  options: Pick<Options, 'selection' | 'topN' | 'maxFlows'>,
  wanted: string[] | null
): Selection {
  const sorted = [...all].sort(
    (a, b) => rankLatency(b) - rankLatency(a) || (a.flow < b.flow ? -1 : a.flow > b.flow ? 1 : 0)
  );
  const cap = Math.max(1, options.maxFlows);
  if (options.selection === 'variable' && wanted !== null) {
    const set = new Set(wanted);
    return { flows: sorted.filter((f) => set.has(f.flow)).slice(0, cap), total: all.length, byVariable: true };
  }
  return { flows: sorted.slice(0, Math.min(Math.max(1, options.topN), cap)), total: all.length, byVariable: false };
}

const SEP = '\u001f';

/**
 * The flow ids a filter such as `$flow` stands for, or null when it stands
 * for none (empty, All, or a variable the dashboard does not have).
 */
export function resolveFlowFilter(
  filter: string,
  replaceVariables: (value: string, scopedVars?: undefined, format?: string | Function) => string
): string[] | null {
  const raw = filter.trim();
  if (raw === '') {
    return null;
  }
  const out = replaceVariables(raw, undefined, (value: string | string[]) =>
    Array.isArray(value) ? value.join(SEP) : value
  );
  if (out === raw && /^\$\{?\w+/.test(raw)) {
    return null;
  }
  const values = out.split(SEP).filter((s) => s !== '' && s !== '$__all' && s !== 'All');
  return values.length > 0 ? values : null;
}
