import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

// The query model mirrors pkg/query/model.go field for field: the backend
// decodes exactly this JSON, so a rename here must be made there too.

/** Which kind of device a query is about. Only FTD is received today. */
export type Source = 'ftd' | 'xr' | 'int' | 'ipfix';

/**
 * series: PromQL over the store; events: the device registry's history
 * (annotations, tables); records: rows of a record table; path: INT flows'
 * paths (the network path panel's frame); episodes: INT drop and congestion
 * episodes (annotations).
 */
export type QueryKind = 'series' | 'records' | 'events' | 'path' | 'episodes';

export type EditorMode = 'builder' | 'code';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export const MATCH_OPS: MatchOp[] = ['=', '!=', '=~', '!~'];

export type Aggregation = '' | 'sum' | 'avg' | 'min' | 'max' | 'count';

export const AGGREGATIONS: Aggregation[] = ['', 'sum', 'avg', 'min', 'max', 'count'];

export type Format = 'time_series' | 'table';

/** One label filter, as in PromQL. */
export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}

export interface NetlensQuery extends DataQuery {
  source: Source;
  kind: QueryKind;
  editorMode: EditorMode;

  /** Code mode: PromQL typed by the user. */
  expr?: string;

  /** Builder mode. */
  family?: string;
  metric?: string;
  matchers?: Matcher[];
  rate?: boolean;
  aggregation?: Aggregation;
  groupBy?: string[];

  legendFormat?: string;
  format?: Format;
  /** The dashboard's ad-hoc filters, filled in by applyTemplateVariables. */
  adhocFilters?: Matcher[];

  live?: boolean;
  instant?: boolean;

  /** Events: which kinds of event; empty means all. Their matchers filter on EVENT_LABELS only. */
  eventTypes?: string[];

  /**
   * Records (kind records): the record schema, "ipfix_flow" for flows. With
   * no aggregates the query returns raw rows (columns, newest first, at most
   * limit); with aggregates it groups by groupBy (shared with series),
   * optionally per time bucket, cut to the topN groups by the first
   * aggregate with the rest folded into "other".
   */
  recordKind?: RecordKind;
  filters?: RecordFilter[];
  aggregates?: RecordAggregate[];
  /** "" (whole range), "auto" (Grafana's interval) or a duration such as "1m". */
  bucket?: string;
  topN?: number;
  other?: boolean;
  columns?: string[];
  limit?: number;
  /** Variable queries on records: the field whose values are listed (contract section 7). */
  field?: string;

  /**
   * INT path: the flow ids shown ("10.1.1.10:40000 > 10.2.2.20:443 tcp"),
   * several as a JSON array string or {a,b}; empty means the top N flows by
   * end-to-end latency.
   */
  flow?: string;
  /**
   * INT: switch names, "id=name" separated by commas or newlines (id hex
   * 0x0000000a, decimal, or the sender's address); each id overrides the data
   * source's intSwitchNames. Usually a dashboard variable ($switch_names).
   */
  switchNames?: string;
}

export const DEFAULT_QUERY: Partial<NetlensQuery> = {
  source: 'ftd',
  kind: 'series',
  editorMode: 'builder',
  format: 'time_series',
};

/** Record schemas the collector stores: IPFIX flows, IOS XR string leaves (states, descriptions), INT reports. */
export type RecordKind = 'ipfix_flow' | 'xr_state' | 'int_report';

export const RECORD_KINDS: RecordKind[] = ['ipfix_flow', 'xr_state', 'int_report'];

/** What an INT episodes query finds: runs of drop reports, runs of queue (congestion) reports. */
export type IntEpisodeType = 'drop' | 'congestion';

export const INT_EPISODE_TYPES: IntEpisodeType[] = ['drop', 'congestion'];

/**
 * Record filter operators (pkg/query Op*). Values are text as the editor
 * shows them: addresses, numbers, names; cidr takes prefixes, range "lo-hi".
 */
export type RecordOp = '=' | '!=' | 'in' | 'not in' | 'cidr' | 'not cidr' | 'range' | '<' | '<=' | '>' | '>=';

export const RECORD_OPS: RecordOp[] = ['=', '!=', 'in', 'not in', 'cidr', 'not cidr', 'range', '<', '<=', '>', '>='];

/** Narrows records on one field; several filters all apply. */
export interface RecordFilter {
  field: string;
  op: RecordOp;
  values: string[];
}

/** Aggregate functions of a records query; count takes no field. */
export type RecordFunc = 'sum' | 'count' | 'avg' | 'min' | 'max' | 'p50' | 'p90' | 'p95' | 'p99';

export const RECORD_FUNCS: RecordFunc[] = ['sum', 'count', 'avg', 'min', 'max', 'p50', 'p90', 'p95', 'p99'];

export interface RecordAggregate {
  func: RecordFunc;
  /** Empty for count. */
  field?: string;
}

/** What can happen to a device, as the collector's device registry records it (pkg/status EventType). */
export type EventType = 'connected' | 'disconnected' | 'rejected' | 'cancelled' | 'error';

export const EVENT_TYPES: EventType[] = ['connected', 'disconnected', 'rejected', 'cancelled', 'error'];

/** The only labels an events query can filter on. */
export const EVENT_LABELS = ['device', 'hostname'];

/** A new annotation query: the devices' events, all types, all devices. */
export const DEFAULT_EVENTS_QUERY: Partial<NetlensQuery> = {
  source: 'ftd',
  kind: 'events',
};

/** Query-side settings of one data source instance (jsonData). */
export interface NetlensOptions extends DataSourceJsonData {
  /** Restrict this data source to these device ids; empty means all. */
  devices?: string[];
  /** New queries start with Live on. */
  liveEnabledByDefault?: boolean;
  /**
   * INT switch names, "id=name" one a line (or separated by commas): id is
   * the switch id in hex (0x0000000a) or decimal, or the sender address of a
   * switch without an id. A query's switchNames overrides it per id.
   */
  intSwitchNames?: string;
}

// Answers of the backend's resources (CallResource), one type each.

export type MetricKind = 'gauge' | 'counter' | 'unknown';

export interface MetricInfo {
  name: string;
  family: string;
  kind: MetricKind;
  help: string;
}

export type DeviceState = 'connected' | 'disconnected' | 'rejected';

export type ErrorCategory = 'auth' | 'streaming' | 'buffer' | 'invalid_argument' | 'system';

export const ERROR_CATEGORIES: ErrorCategory[] = ['auth', 'streaming', 'buffer', 'invalid_argument', 'system'];

export interface ErrorStat {
  count: number;
  last: string;
  lastAt: string;
}

export interface DeviceStatus {
  source: Source;
  id: string;
  hostname: string;
  remote: string;
  state: DeviceState;
  stateReason: string;
  since: string;
  lastBatch: string;
  intervalSeconds: number;
  batches: number;
  samples: number;
  rejected: number;
  errors?: Partial<Record<ErrorCategory, ErrorStat>>;
}

export interface ListenerStatus {
  name: string;
  network: string;
  /** The configured address. */
  address: string;
  /** The address actually bound (empty when not listening); older builds sent true/false. */
  bound?: string | boolean;
  error?: string;
  since: string;
}

export interface SettingInfo {
  key: string;
  value: string;
  default: string;
  help: string;
}

/** A free-form tree of figures (store and live statistics). */
export interface Figures {
  [key: string]: number | string | boolean | null | Figures;
}

export interface StatusResponse {
  listeners: ListenerStatus[];
  devices: DeviceStatus[];
  counters: Record<string, number>;
  settings: SettingInfo[];
  store?: Figures;
  live?: Figures;
  /** Start-up problems of the plugin process (bad settings, a store that did not open). */
  problems?: string[];
  /** The IOS XR section; enabled is false while the XR receiver is off. */
  xr?: XrStatusSection;
}

/** Column types of a record table (records/fields). */
export type RecordFieldType = 'uint' | 'int' | 'float' | 'time' | 'string' | 'addr' | 'bool';

/** One field (column) of a record table as GET records/fields lists it. */
export interface RecordFieldInfo {
  name: string;
  type: RecordFieldType;
  /** Rows holding a value (non-null). */
  rows: number;
}

/** How an IPFIX exporter is doing: losing means sequence gaps or drops lately, stopped means silent. */
export type ExporterState = 'ok' | 'losing' | 'stopped';

/** One exporter and observation domain as GET ipfix/exporters reports it. */
export interface ExporterStatus {
  /** Exporter address and ODID, "192.0.2.7/0": the device label and the records' exporter column. */
  device: string;
  /** Address and port the messages come from. */
  address: string;
  transport: string;
  odid: number;
  /** 10 for IPFIX, 9 for NetFlow v9; 0 before a message decoded. */
  version?: number;
  templates?: number[];
  optionsTemplates?: number[];
  records: number;
  recordsPerSec: number;
  bytesPerSec: number;
  /** Records missing by the sequence numbers (lost export packets). */
  lostRecords: number;
  /** NetFlow v9 numbers packets, not records: export packets missing. */
  lostPackets?: number;
  /** Records waiting for their template. */
  heldRecords: number;
  heldBytes?: number;
  /** Records the receiver dropped, by reason (queue_full, malformed:<reason>, ...). */
  drops?: Record<string, number>;
  samplingRate?: number;
  lastSeenMs: number;
  state: ExporterState;
}

/** What a template variable query asks for. */
export type VariableQueryType =
  'devices' | 'families' | 'metrics' | 'labelValues' | 'recordValues' | 'intFlows' | 'intSwitches';

export interface NetlensVariableQuery {
  refId: string;
  type: VariableQueryType;
  source?: Source;
  /** metrics: narrow to this family. */
  family?: string;
  /** labelValues: the label whose values are listed. */
  label?: string;
  /** labelValues: only values seen on this metric. */
  metric?: string;
  /**
   * recordValues: the contract's records variable query,
   * {"kind":"records","recordKind":"ipfix_flow","field":"src_addr"}; intFlows
   * is the same query on int_report's flow column.
   */
  kind?: 'records';
  recordKind?: RecordKind;
  /** recordValues: the record field whose values are listed. */
  field?: string;
}

// IOS XR telemetry: the answers of GET xr/routers, xr/paths and xr/leaves
// (notes/xr2-contracts.md, "HTTP resources") and the status page's section.

/** One router the XR receiver heard from. */
export interface XrRouter {
  /** The device label: the router's node name, else its address. */
  device: string;
  /** Address and port the telemetry comes from. */
  remote: string;
  transports: string[];
  /** Framing generations seen: policy-driven v1/v2, model-driven. */
  generations: string[];
  encodings: string[];
  lastSeenMs: number;
  messages: number;
  bytes?: number;
  /** Messages the receiver dropped, by reason. */
  drops?: Record<string, number>;
  /** Compact GPB rows skipped for want of their .proto, by policy path. */
  missingProtos?: Record<string, number>;
}

/** Where a path is known from: a .policy file, arrived data, or both. */
export type XrPathSource = 'policy' | 'data' | 'both';

/** One policy path or sensor path as GET xr/paths lists it. */
export interface XrPath {
  path: string;
  /** The policy (policy-driven), empty for model-driven sensor paths. */
  policy: string;
  /** The policy's collection group, or the model-driven subscription. */
  group: string;
  /** The group's cadence; 0 when only data knows the path. */
  periodSeconds: number;
  source: XrPathSource;
  devices: string[];
  lastSeenMs: number;
  /** Naming parameters (keys) of the path's rows. */
  keys: string[];
  leaves: number;
}

export type XrLeafKind = 'counter' | 'gauge' | 'string';

/** One leaf of a path: numbers are series named metric, strings xr_state records. */
export interface XrLeaf {
  leaf: string;
  /** Empty for string leaves. */
  metric: string;
  kind: XrLeafKind;
  type: string;
}

/** A policy group that sent nothing for three of its periods. */
export interface XrSilentGroup {
  /** Empty when no router ever sent the group. */
  router: string;
  policy: string;
  group: string;
  periodSeconds: number;
  lastSeenMs: number;
  sinceMs: number;
}

/** The status resource's XR section. */
export interface XrStatusSection {
  enabled: boolean;
  routers?: XrRouter[];
  drops?: number;
  missingProtoRows?: number;
  fileProblems?: number;
  silentGroups?: XrSilentGroup[];
}

// INT: the switches the receiver heard from (GET int/switches, notes/int-wiring.md).

/** How an INT switch is doing: losing means report loss lately, stopped means silent past int_switch_timeout. */
export type IntSwitchState = 'ok' | 'losing' | 'stopped';

/** One switch as GET int/switches lists it (intrcv.SwitchStatus plus its name). */
export interface IntSwitch {
  /** The device label and the records' device column: "0x0000000a", or the sender address without a switch id. */
  device: string;
  /** From the data source's intSwitchNames; empty when the switch has none. */
  name?: string;
  /** Address and port the reports come from. */
  address: string;
  switchId: number;
  hasSwitchId: boolean;
  /** Reports by type: flow, drop, queue, int. */
  reports?: Record<string, number>;
  bytes?: number;
  /** Reports the receiver dropped, by reason (truncated, bad_version, queue_full, ...). */
  drops?: Record<string, number>;
  /** Reports missing by the sequence numbers. */
  lostReports: number;
  /** Report versions seen: "0.5", "1.0". */
  versions?: string[];
  firstSeenMs?: number;
  lastSeenMs: number;
  state: IntSwitchState | string;
  /** The newest decode error. */
  lastError?: string;
}

/** One flow as GET int/flows lists it: its id (the records' flow column) and how many reports named it. */
export interface IntFlow {
  flow: string;
  reports: number;
}
