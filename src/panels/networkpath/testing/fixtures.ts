import {
  createDataFrame,
  DataFrame,
  FieldColorModeId,
  FieldConfig,
  FieldType,
  getDisplayProcessor,
  GrafanaTheme2,
  ThresholdsMode,
} from '@grafana/data';

// Recorded-style path frames (the "path frame" of issue 5): one row per hop
// per flow observation. Used by the jest tests and by the visual page.

export interface Row {
  time: number;
  flow: string;
  src_addr: string | null;
  dst_addr: string | null;
  protocol: string | null;
  src_port: number | null;
  dst_port: number | null;
  hop: number;
  switch: string | null;
  switch_id: number | null;
  ingress_port: number | null;
  egress_port: number | null;
  hop_latency: number | null;
  queue_id: number | null;
  queue_occupancy: number | null;
  e2e_latency: number | null;
  dropped: boolean | null;
  drop_reason: string | null;
  path_changed: boolean | null;
}

const NUMBER_FIELDS = [
  'src_port',
  'dst_port',
  'hop',
  'switch_id',
  'ingress_port',
  'egress_port',
  'hop_latency',
  'queue_id',
  'queue_occupancy',
  'e2e_latency',
] as const;
const STRING_FIELDS = ['flow', 'src_addr', 'dst_addr', 'protocol', 'switch', 'drop_reason'] as const;

/** Builds a path frame with the contract's field names, types and the ns unit on latencies. */
export function pathFrame(rows: Row[], omit: string[] = []): DataFrame {
  const col = <K extends keyof Row>(k: K) => rows.map((r) => r[k]);
  const fields = [
    { name: 'time', type: FieldType.time, values: col('time') },
    ...STRING_FIELDS.map((name) => ({ name, type: FieldType.string, values: col(name) })),
    ...NUMBER_FIELDS.map((name) => ({
      name,
      type: FieldType.number,
      values: col(name),
      config: name === 'hop_latency' || name === 'e2e_latency' ? { unit: 'ns' } : {},
    })),
    { name: 'dropped', type: FieldType.boolean, values: col('dropped') },
    { name: 'path_changed', type: FieldType.boolean, values: col('path_changed') },
  ].filter((f) => !omit.includes(f.name));
  return createDataFrame({ refId: 'A', name: 'int_path', fields });
}

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

interface HopSpec {
  sw: string;
  id: number;
  inPort: number;
  outPort: number;
  lat: number | null;
  q: number | null;
  drop?: string;
}

/** The rows of one observation of a flow. */
export function observation(
  flow: { src: string; dst: string; sport: number; dport: number; proto: string },
  time: number,
  hops: HopSpec[],
  opts: { pathChanged?: boolean; e2e?: number | null } = {}
): Row[] {
  const id = `${flow.src}:${flow.sport} > ${flow.dst}:${flow.dport} ${flow.proto}`;
  const e2e = opts.e2e !== undefined ? opts.e2e : hops.reduce((s, h) => s + (h.lat ?? 0), 0) + 1200;
  return hops.map((h, i) => ({
    time,
    flow: id,
    src_addr: flow.src,
    dst_addr: flow.dst,
    protocol: flow.proto,
    src_port: flow.sport,
    dst_port: flow.dport,
    hop: i,
    switch: h.sw,
    switch_id: h.id,
    ingress_port: h.inPort,
    egress_port: h.outPort,
    hop_latency: h.lat,
    queue_id: 3,
    queue_occupancy: h.q,
    e2e_latency: e2e,
    dropped: h.drop !== undefined,
    drop_reason: h.drop ?? null,
    path_changed: opts.pathChanged ?? false,
  }));
}

const web = { src: '10.1.1.10', dst: '10.2.2.20', sport: 40000, dport: 443, proto: 'tcp' };
const db = { src: '10.1.1.11', dst: '10.4.4.40', sport: 51522, dport: 5432, proto: 'tcp' };
const dns = { src: '10.3.3.30', dst: '10.2.2.53', sport: 33001, dport: 53, proto: 'udp' };
const backup = { src: '10.4.4.41', dst: '10.1.1.12', sport: 60001, dport: 873, proto: 'tcp' };

export const FLOW_WEB = '10.1.1.10:40000 > 10.2.2.20:443 tcp';
export const FLOW_DB = '10.1.1.11:51522 > 10.4.4.40:5432 tcp';
export const FLOW_DNS = '10.3.3.30:33001 > 10.2.2.53:53 udp';
export const FLOW_BACKUP = '10.4.4.41:60001 > 10.1.1.12:873 tcp';

/**
 * Four flows over a leaf-spine fabric, two observations each: the web flow
 * steady, the database flow moved from spine1 to spine2 (path change), the
 * DNS flow dropped at spine2 in its newest observation, the backup flow
 * congested at leaf1.
 */
export function smallRows(): Row[] {
  const t1 = T0;
  const t2 = T0 + 1000;
  return [
    ...observation(web, t1, [
      { sw: 'leaf1', id: 0x1a2b01, inPort: 1, outPort: 49, lat: 900, q: 4 },
      { sw: 'spine1', id: 0x1a2b11, inPort: 1, outPort: 2, lat: 1500, q: 10 },
      { sw: 'leaf2', id: 0x1a2b02, inPort: 49, outPort: 7, lat: 800, q: 2 },
    ]),
    ...observation(web, t2, [
      { sw: 'leaf1', id: 0x1a2b01, inPort: 1, outPort: 49, lat: 950, q: 5 },
      { sw: 'spine1', id: 0x1a2b11, inPort: 1, outPort: 2, lat: 14500, q: 120 },
      { sw: 'leaf2', id: 0x1a2b02, inPort: 49, outPort: 7, lat: 820, q: 3 },
    ]),
    ...observation(db, t1, [
      { sw: 'leaf1', id: 0x1a2b01, inPort: 2, outPort: 49, lat: 1000, q: 6 },
      { sw: 'spine1', id: 0x1a2b11, inPort: 1, outPort: 4, lat: 2100, q: 14 },
      { sw: 'leaf4', id: 0x1a2b04, inPort: 49, outPort: 3, lat: 700, q: 1 },
    ]),
    ...observation(
      db,
      t2,
      [
        { sw: 'leaf1', id: 0x1a2b01, inPort: 2, outPort: 50, lat: 1100, q: 7 },
        { sw: 'spine2', id: 0x1a2b12, inPort: 1, outPort: 4, lat: 3300, q: 30 },
        { sw: 'leaf4', id: 0x1a2b04, inPort: 50, outPort: 3, lat: 750, q: 1 },
      ],
      { pathChanged: true }
    ),
    ...observation(dns, t1, [
      { sw: 'leaf3', id: 0x1a2b03, inPort: 5, outPort: 50, lat: 600, q: 2 },
      { sw: 'spine2', id: 0x1a2b12, inPort: 3, outPort: 2, lat: 1900, q: 40 },
      { sw: 'leaf2', id: 0x1a2b02, inPort: 50, outPort: 9, lat: 500, q: 1 },
    ]),
    ...observation(dns, t2, [
      { sw: 'leaf3', id: 0x1a2b03, inPort: 5, outPort: 50, lat: 650, q: 2 },
      { sw: 'spine2', id: 0x1a2b12, inPort: 3, outPort: 2, lat: null, q: 512, drop: 'tail drop: queue 3 full' },
    ]),
    ...observation(backup, t1, [
      { sw: 'leaf4', id: 0x1a2b04, inPort: 8, outPort: 49, lat: 52000, q: 380 },
      { sw: 'spine1', id: 0x1a2b11, inPort: 4, outPort: 1, lat: 2600, q: 20 },
      { sw: 'leaf1', id: 0x1a2b01, inPort: 49, outPort: 12, lat: 900, q: 3 },
    ]),
    ...observation(backup, t2, [
      { sw: 'leaf4', id: 0x1a2b04, inPort: 8, outPort: 49, lat: 131000, q: 470 },
      { sw: 'spine1', id: 0x1a2b11, inPort: 4, outPort: 1, lat: 2400, q: 22 },
      { sw: 'leaf1', id: 0x1a2b01, inPort: 49, outPort: 12, lat: 870, q: 3 },
    ]),
  ];
}

export function smallFrame(): DataFrame {
  return pathFrame(smallRows());
}

/** A deterministic pseudo-random sequence, so screenshots and tests repeat. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * `flows` flows of `hops` switches each (a three-tier fabric), one
 * observation per flow at T0 + tick seconds; every tick moves the latencies
 * and queues, as a live stream would.
 */
export function largeFrame(flows = 500, hops = 5, tick = 0): DataFrame {
  const rnd = lcg(0x5eed + tick * 7919);
  const time = T0 + tick * 1000;
  const n = flows * hops;
  const flow: string[] = new Array(n);
  const src: string[] = new Array(n);
  const dst: string[] = new Array(n);
  const proto: string[] = new Array(n);
  const sport: number[] = new Array(n);
  const dport: number[] = new Array(n);
  const hop: number[] = new Array(n);
  const sw: string[] = new Array(n);
  const swId: number[] = new Array(n);
  const inPort: number[] = new Array(n);
  const outPort: number[] = new Array(n);
  const lat: Array<number | null> = new Array(n);
  const qId: number[] = new Array(n);
  const qOcc: number[] = new Array(n);
  const e2e: number[] = new Array(n);
  const dropped: boolean[] = new Array(n);
  const reason: Array<string | null> = new Array(n);
  const changed: boolean[] = new Array(n);
  const tiers = ['leaf', 'agg', 'spine', 'agg', 'leaf'];
  let r = 0;
  for (let f = 0; f < flows; f++) {
    const s = `10.${1 + (f % 8)}.${(f >> 3) % 250}.${10 + (f % 200)}`;
    const d = `10.${9 + (f % 7)}.${(f >> 2) % 250}.${20 + (f % 180)}`;
    const id = `${s}:${40000 + f} > ${d}:443 tcp`;
    let total = 1500;
    const start = r;
    const dropAt = f % 97 === 13 ? 2 : -1;
    for (let h = 0; h < hops; h++) {
      const tier = tiers[h % tiers.length];
      const l = Math.round(400 + rnd() * (f % 50 === 0 ? 150000 : 12000));
      total += l;
      flow[r] = id;
      src[r] = s;
      dst[r] = d;
      proto[r] = 'tcp';
      sport[r] = 40000 + f;
      dport[r] = 443;
      hop[r] = h;
      sw[r] = `${tier}${1 + ((f + h) % 4)}`;
      swId[r] = 0x1a2b00 + h * 16 + ((f + h) % 4);
      inPort[r] = 1 + ((f * 3 + h) % 48);
      outPort[r] = 49 + ((f + h) % 4);
      lat[r] = h === dropAt ? null : l;
      qId[r] = 3;
      qOcc[r] = Math.round(rnd() * 500);
      dropped[r] = h === dropAt;
      reason[r] = h === dropAt ? 'ACL deny' : null;
      changed[r] = false;
      r++;
      if (h === dropAt) {
        break;
      }
    }
    for (let i = start; i < r; i++) {
      e2e[i] = total;
    }
  }
  const len = r;
  const cut = <T>(a: T[]) => a.slice(0, len);
  return createDataFrame({
    refId: 'A',
    name: 'int_path',
    fields: [
      { name: 'time', type: FieldType.time, values: new Array(len).fill(time) },
      { name: 'flow', type: FieldType.string, values: cut(flow) },
      { name: 'src_addr', type: FieldType.string, values: cut(src) },
      { name: 'dst_addr', type: FieldType.string, values: cut(dst) },
      { name: 'protocol', type: FieldType.string, values: cut(proto) },
      { name: 'src_port', type: FieldType.number, values: cut(sport) },
      { name: 'dst_port', type: FieldType.number, values: cut(dport) },
      { name: 'hop', type: FieldType.number, values: cut(hop) },
      { name: 'switch', type: FieldType.string, values: cut(sw) },
      { name: 'switch_id', type: FieldType.number, values: cut(swId) },
      { name: 'ingress_port', type: FieldType.number, values: cut(inPort) },
      { name: 'egress_port', type: FieldType.number, values: cut(outPort) },
      { name: 'hop_latency', type: FieldType.number, values: cut(lat), config: { unit: 'ns' } },
      { name: 'queue_id', type: FieldType.number, values: cut(qId) },
      { name: 'queue_occupancy', type: FieldType.number, values: cut(qOcc) },
      { name: 'e2e_latency', type: FieldType.number, values: cut(e2e), config: { unit: 'ns' } },
      { name: 'dropped', type: FieldType.boolean, values: cut(dropped) },
      { name: 'drop_reason', type: FieldType.string, values: cut(reason) },
      { name: 'path_changed', type: FieldType.boolean, values: cut(changed) },
    ],
  });
}

export const LATENCY_THRESHOLDS = {
  mode: ThresholdsMode.Absolute,
  steps: [
    { value: -Infinity, color: 'green' },
    { value: 10000, color: 'orange' },
    { value: 100000, color: 'red' },
  ],
};

export const QUEUE_THRESHOLDS = {
  mode: ThresholdsMode.Absolute,
  steps: [
    { value: -Infinity, color: 'blue' },
    { value: 100, color: 'yellow' },
    { value: 400, color: 'purple' },
  ],
};

/**
 * What Grafana does to a panel's frames before the panel sees them, in the
 * order it does it: the panel's defaults fill what the data source left
 * unset, overrides by field name win over both, and each field gets its
 * display processor.
 */
export function withFieldConfig(
  frame: DataFrame,
  theme: GrafanaTheme2,
  defaults: FieldConfig = { color: { mode: FieldColorModeId.Thresholds }, thresholds: LATENCY_THRESHOLDS },
  overrides: Record<string, FieldConfig> = { queue_occupancy: { thresholds: QUEUE_THRESHOLDS } }
): DataFrame {
  return {
    ...frame,
    fields: frame.fields.map((f) => {
      const field = { ...f, config: { ...defaults, ...f.config, ...overrides[f.name] } };
      return { ...field, display: getDisplayProcessor({ field, theme, timeZone: 'utc' }) };
    }),
  };
}
