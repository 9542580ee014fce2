// The panel's options and the per-flow model the frame is parsed into. The
// frame itself is the "path frame" of issue 5 (one row per hop per flow
// observation); its field names are in FIELDS.

/** Which flows the panel draws. */
export type FlowSelection = 'top' | 'variable';

/** Which figure colours a hop (through that field's thresholds). */
export type ColorFigure = 'hop_latency' | 'queue_occupancy';

export interface Options {
  selection: FlowSelection;
  /** Flows drawn in "top" mode: the N with the highest end-to-end latency. */
  topN: number;
  /**
   * The value flows are matched against in "variable" mode, usually a
   * dashboard variable such as `$flow`; several values (a multi-value
   * variable) match any of them. Empty or "All" shows the top N instead.
   */
  flowFilter: string;
  /**
   * The dashboard variable a click on a flow row sets (without `$`), so a
   * table or other panels can follow; empty turns clicking off.
   */
  flowVariable: string;
  colorBy: ColorFigure;
  showPorts: boolean;
  showSwitchIds: boolean;
  /** Hard cap on rows, whatever the selection, so a runaway query stays drawable. */
  maxFlows: number;
}

export const DEFAULT_OPTIONS: Options = {
  selection: 'top',
  topN: 20,
  flowFilter: '$flow',
  flowVariable: 'flow',
  colorBy: 'hop_latency',
  showPorts: true,
  showSwitchIds: false,
  maxFlows: 500,
};

/** Field names of the path frame, exactly as the backend writes them. */
export const FIELDS = {
  time: 'time',
  flow: 'flow',
  srcAddr: 'src_addr',
  dstAddr: 'dst_addr',
  protocol: 'protocol',
  srcPort: 'src_port',
  dstPort: 'dst_port',
  hop: 'hop',
  switchName: 'switch',
  switchId: 'switch_id',
  ingressPort: 'ingress_port',
  egressPort: 'egress_port',
  hopLatency: 'hop_latency',
  queueId: 'queue_id',
  queueOccupancy: 'queue_occupancy',
  e2eLatency: 'e2e_latency',
  dropped: 'dropped',
  dropReason: 'drop_reason',
  pathChanged: 'path_changed',
} as const;

/** Without these a row cannot be placed on a path. */
export const REQUIRED_FIELDS = [FIELDS.time, FIELDS.flow, FIELDS.hop, FIELDS.switchName] as const;

export interface Hop {
  /** 0 = the first switch after the source. */
  index: number;
  /** The switch's name, else its id as text. */
  name: string;
  switchId: number | null;
  ingressPort: number | null;
  egressPort: number | null;
  /** Nanoseconds, as on the wire. */
  latency: number | null;
  queueId: number | null;
  queueOccupancy: number | null;
  dropped: boolean;
  dropReason: string | null;
}

export interface FlowPath {
  flow: string;
  srcAddr: string | null;
  dstAddr: string | null;
  protocol: string | null;
  srcPort: number | null;
  dstPort: number | null;
  /** Time of the newest observation (ms since the epoch). */
  time: number;
  e2eLatency: number | null;
  /** The newest observation's hops in path order. */
  hops: Hop[];
  /** Index into hops of the first drop, else -1. */
  dropAt: number;
  /** The switch list differs from the flow's previous observation (or the frame says so). */
  pathChanged: boolean;
  /** The previous observation's switches, when it is in the frame and differs. */
  previousPath: string[] | null;
  previousTime: number | null;
}

export type ParseResult =
  { kind: 'ok'; flows: FlowPath[] } | { kind: 'empty' } | { kind: 'error'; message: string; missing: string[] };
