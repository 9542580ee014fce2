import {
  AdHocVariableFilter,
  AnnotationQuery,
  AnnotationSupport,
  CoreApp,
  DataSourceGetTagKeysOptions,
  DataSourceGetTagValuesOptions,
  DataSourceInstanceSettings,
  MetricFindValue,
  ScopedVars,
  TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { escapeRegex, escapeRegexInString } from './promql';
import {
  DEFAULT_EVENTS_QUERY,
  DEFAULT_QUERY,
  DeviceStatus,
  EVENT_LABELS,
  ExporterStatus,
  IntFlow,
  IntSwitch,
  Matcher,
  MatchOp,
  MetricInfo,
  MetricKind,
  NetlensOptions,
  NetlensQuery,
  NetlensVariableQuery,
  RecordFieldInfo,
  RecordFieldType,
  RecordFilter,
  RecordKind,
  Source,
  StatusResponse,
  XrLeaf,
  XrPath,
  XrRouter,
} from './types';
import { NetlensVariableSupport } from './variables';

/** Time range of a catalog request, so editors list what arrived in the range being looked at. */
function rangeParams(range?: TimeRange): Record<string, number> {
  return range ? { from: range.from.valueOf(), to: range.to.valueOf() } : {};
}

/**
 * Annotation queries go through QueryData like any other query and use the
 * normal query editor; Grafana maps the events frame's time, title, text and
 * tags fields by name. What annotations want from Netlens is the devices'
 * events, so that is what a new one asks for.
 */
export const annotationSupport: AnnotationSupport<NetlensQuery> = {
  // Grafana's annotation editor merges this under the stored target.
  getDefaultQuery: () => ({ ...DEFAULT_EVENTS_QUERY }),
  // A new annotation has no target until the editor changes something; the
  // dashboard's runner would skip it (prepareQuery returns the target) while
  // the editor already shows the events query. Filling the target in here
  // makes what runs what is shown.
  prepareAnnotation: (json: AnnotationQuery<NetlensQuery>) =>
    json.target ? json : { ...json, target: { refId: 'Anno', ...DEFAULT_EVENTS_QUERY } as NetlensQuery },
};

export class DataSource extends DataSourceWithBackend<NetlensQuery, NetlensOptions> {
  private readonly liveByDefault: boolean;

  constructor(instanceSettings: DataSourceInstanceSettings<NetlensOptions>) {
    super(instanceSettings);
    this.liveByDefault = Boolean(instanceSettings.jsonData?.liveEnabledByDefault);
    this.variables = new NetlensVariableSupport(this);
    this.annotations = annotationSupport;
  }

  getDefaultQuery(_: CoreApp): Partial<NetlensQuery> {
    return { ...DEFAULT_QUERY, live: this.liveByDefault };
  }

  filterQuery(query: NetlensQuery): boolean {
    // Events need nothing chosen: no filter and no type means every event.
    // Nor do INT paths (no flow: the top N) and episodes (no type: both).
    if (query.kind === 'events' || query.kind === 'path' || query.kind === 'episodes') {
      return true;
    }
    // Raw rows need nothing chosen either; an aggregate still waiting for
    // its field would only make the backend refuse the query.
    if (query.kind === 'records') {
      return Boolean(query.recordKind) && (query.aggregates ?? []).every((a) => a.func === 'count' || a.field);
    }
    if (query.editorMode === 'code') {
      return Boolean(query.expr?.trim());
    }
    return Boolean(query.metric);
  }

  /** Alerting asks this to warn that a rule's query uses dashboard variables, which alert rules do not have. */
  targetContainsTemplate(query: NetlensQuery): boolean {
    const srv = getTemplateSrv();
    const texts = [query.expr, query.metric, query.family, ...(query.groupBy ?? [])];
    for (const m of query.matchers ?? []) {
      texts.push(m.label, m.value);
    }
    for (const f of query.filters ?? []) {
      texts.push(f.field, ...f.values);
    }
    for (const a of query.aggregates ?? []) {
      texts.push(a.field);
    }
    texts.push(...(query.columns ?? []), query.flow, query.switchNames);
    return texts.some((t) => srv.containsTemplate(t));
  }

  applyTemplateVariables(query: NetlensQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): NetlensQuery {
    const srv = getTemplateSrv();
    const out: NetlensQuery = { ...query };
    if (query.metric) {
      out.metric = srv.replace(query.metric, scopedVars);
    }
    if (query.family) {
      out.family = srv.replace(query.family, scopedVars);
    }
    if (query.expr) {
      out.expr = srv.replace(query.expr, scopedVars, formatForPromQLText);
    }
    if (query.legendFormat) {
      out.legendFormat = srv.replace(query.legendFormat, scopedVars);
    }
    if (query.groupBy) {
      out.groupBy = query.groupBy.flatMap((g) => srv.replace(g, scopedVars, 'csv').split(',')).filter(Boolean);
    }
    if (query.matchers) {
      out.matchers = query.matchers.map((m) => interpolateMatcher(m, scopedVars));
    }
    // INT paths and episodes filter int_report records like a records query.
    if (query.kind === 'records' || query.kind === 'path' || query.kind === 'episodes') {
      Object.assign(out, interpolateRecords(out, scopedVars));
    }
    if (query.flow) {
      out.flow = interpolateFlow(query.flow, scopedVars);
    }
    if (query.switchNames) {
      out.switchNames = srv.replace(query.switchNames, scopedVars, 'csv');
    }
    const adhoc = adhocFor(query, filters ?? [])
      .map((f) => adhocToMatcher(f, scopedVars))
      .filter((m): m is Matcher => m !== undefined);
    if (adhoc.length > 0) {
      out.adhocFilters = adhoc;
    } else {
      delete out.adhocFilters;
    }
    return out;
  }

  // Resources the backend serves to the editors. What the editors pass may
  // hold dashboard variables ($device in a filter, $metric); they are
  // replaced here so the catalogs narrow by what the variables stand for.

  async getFamilies(source: Source, range?: TimeRange): Promise<string[]> {
    const r = await this.getResource<{ families?: string[] }>('catalog/families', { source, ...rangeParams(range) });
    return r.families ?? [];
  }

  async getMetrics(source: Source, family?: string, range?: TimeRange): Promise<MetricInfo[]> {
    const params: Record<string, string | number> = { source, ...rangeParams(range) };
    if (family) {
      params.family = getTemplateSrv().replace(family);
    }
    const r = await this.getResource<{ metrics?: Array<Omit<MetricInfo, 'kind'> & { kind: unknown }> }>(
      'catalog/metrics',
      params
    );
    return (r.metrics ?? []).map((m) => ({
      ...m,
      family: m.family ?? '',
      help: m.help ?? '',
      kind: metricKind(m.kind),
    }));
  }

  async getLabels(source: Source, metric?: string, range?: TimeRange): Promise<string[]> {
    const params: Record<string, string | number> = { source, ...rangeParams(range) };
    if (metric) {
      params.metric = getTemplateSrv().replace(metric);
    }
    const r = await this.getResource<{ labels?: string[] }>('catalog/labels', params);
    return r.labels ?? [];
  }

  /** Values of a label, narrowed by the metric and the other filters already chosen. */
  async getLabelValues(
    source: Source,
    label: string,
    metric?: string,
    matchers?: Matcher[],
    range?: TimeRange
  ): Promise<string[]> {
    const srv = getTemplateSrv();
    const params: Record<string, string | number> = { source, label: srv.replace(label), ...rangeParams(range) };
    if (metric) {
      params.metric = srv.replace(metric);
    }
    const usable = (matchers ?? [])
      .filter((m) => m.label && m.label !== label && m.value !== '')
      .map((m) => interpolateMatcher(m, {}));
    if (usable.length > 0) {
      params.matchers = JSON.stringify(usable);
    }
    const r = await this.getResource<{ values?: string[] }>('catalog/label-values', params);
    return r.values ?? [];
  }

  async getDevices(source: Source): Promise<DeviceStatus[]> {
    const r = await this.getResource<{ devices?: DeviceStatus[] }>('devices', { source });
    return r.devices ?? [];
  }

  async getStatus(): Promise<StatusResponse> {
    return this.getResource<StatusResponse>('status');
  }

  // Records (flows): the record store's columns and their values.

  /** Fields (columns) of a record table, most filled first. */
  async getRecordFields(kind: RecordKind, range?: TimeRange): Promise<RecordFieldInfo[]> {
    const r = await this.getResource<unknown>('records/fields', { kind, ...rangeParams(range) });
    const fields = listOf<Partial<RecordFieldInfo>>(r, 'fields');
    return fields
      .filter((f) => typeof f.name === 'string' && f.name !== '')
      .map((f) => ({ name: f.name!, type: recordFieldType(f.type), rows: Number(f.rows ?? 0) }));
  }

  /** Values of a record field that start with prefix, most frequent first. */
  async getRecordValues(
    kind: RecordKind,
    field: string,
    prefix = '',
    range?: TimeRange,
    limit = RECORD_VALUES_LIMIT
  ): Promise<string[]> {
    const params: Record<string, string | number> = {
      kind,
      field: getTemplateSrv().replace(field),
      prefix,
      limit,
      ...rangeParams(range),
    };
    const r = await this.getResource<unknown>('records/values', params);
    return listOf<unknown>(r, 'values').map(String);
  }

  /**
   * The IPFIX exporters the receiver has heard from. The status page polls
   * it; a failure is shown there, so Grafana's error toast stays off.
   */
  async getExporters(): Promise<ExporterStatus[]> {
    const r = await this.getResource<unknown>('ipfix/exporters', undefined, { showErrorAlert: false });
    return listOf<ExporterStatus>(r, 'exporters');
  }

  // IOS XR: routers heard from, policy and sensor paths (from .policy
  // files before data arrives), and each path's leaves.

  /**
   * The routers the XR receiver has heard from. The status page polls it
   * and shows its own error, so Grafana's toast stays off; the editor says
   * why too.
   */
  async getXrRouters(): Promise<XrRouter[]> {
    const r = await this.getResource<unknown>('xr/routers', undefined, { showErrorAlert: false });
    return listOf<XrRouter>(r, 'routers');
  }

  /** Policy paths and sensor paths, narrowed to what a router sent when device is given. */
  async getXrPaths(device?: string): Promise<XrPath[]> {
    const params: Record<string, string> = {};
    const dev = oneRouter(device);
    if (dev) {
      params.device = dev;
    }
    const r = await this.getResource<unknown>('xr/paths', params, { showErrorAlert: false });
    return listOf<XrPath>(r, 'paths');
  }

  /** The leaves of a path (of one router when device is given), numbers and strings. */
  async getXrLeaves(path: string, device?: string): Promise<XrLeaf[]> {
    const params: Record<string, string> = { path: getTemplateSrv().replace(path) };
    const dev = oneRouter(device);
    if (dev) {
      params.device = dev;
    }
    const r = await this.getResource<unknown>('xr/leaves', params, { showErrorAlert: false });
    return listOf<XrLeaf>(r, 'leaves');
  }

  /**
   * The switches the INT receiver heard from, with their names. The status
   * page polls it and shows its own error, so Grafana's toast stays off.
   */
  async getIntSwitches(switchNames?: string): Promise<IntSwitch[]> {
    // A query's own names (a $switch_names constant) name the switches as its panel will.
    const params = switchNames ? { switchNames: getTemplateSrv().replace(switchNames, {}, 'csv') } : undefined;
    const r = await this.getResource<unknown>('int/switches', params, { showErrorAlert: false });
    return listOf<IntSwitch>(r, 'switches');
  }

  /** The flows INT reports named in the range, most reports first. */
  async getIntFlows(range?: TimeRange, limit = RECORD_VALUES_LIMIT): Promise<IntFlow[]> {
    const r = await this.getResource<unknown>('int/flows', { ...rangeParams(range), limit }, { showErrorAlert: false });
    return listOf<IntFlow>(r, 'flows').filter((f) => typeof f?.flow === 'string' && f.flow !== '');
  }

  // Ad-hoc filters: FTD series labels and flow record fields, merged, so
  // one dashboard variable serves the FTD and the Flows overview alike. One
  // side failing (no records table yet) still leaves the other's keys.

  async getTagKeys(options?: DataSourceGetTagKeysOptions<NetlensQuery>): Promise<MetricFindValue[]> {
    const { labels, fields } = await this.tagKeySources(options?.timeRange);
    return uniqueTexts([...labels, ...fields]);
  }

  async getTagValues(options: DataSourceGetTagValuesOptions<NetlensQuery>): Promise<MetricFindValue[]> {
    const { labels, fields } = await this.tagKeySources(options.timeRange);
    const lookups: Array<Promise<string[]>> = [];
    if (labels.includes(options.key)) {
      const others = (options.filters ?? [])
        .filter((f) => f.key !== options.key)
        .map((f) => adhocToMatcher(f, {}))
        .filter((m): m is Matcher => m !== undefined);
      lookups.push(this.getLabelValues('ftd', options.key, undefined, others, options.timeRange));
    }
    if (fields.includes(options.key)) {
      lookups.push(this.getRecordValues(ADHOC_RECORD_KIND, options.key, '', options.timeRange));
    }
    const settled = await Promise.allSettled(lookups);
    return uniqueTexts(settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : [])));
  }

  /** The ad-hoc keys of each kind; a side that fails contributes none. */
  private async tagKeySources(range?: TimeRange): Promise<{ labels: string[]; fields: string[] }> {
    const [labels, fields] = await Promise.allSettled([
      this.getLabels('ftd', undefined, range),
      this.getRecordFields(ADHOC_RECORD_KIND, range),
    ]);
    return {
      labels: labels.status === 'fulfilled' ? labels.value : [],
      fields: fields.status === 'fulfilled' ? fields.value.map((f) => f.name) : [],
    };
  }

  // Template variables.

  /** Values of a variable query; also serves legacy callers of metricFindQuery. */
  async findVariableValues(q: NetlensVariableQuery, range?: TimeRange): Promise<MetricFindValue[]> {
    const source: Source = q.source ?? 'ftd';
    // The contract's records variable query carries kind "records" and no type.
    // INT flows are that query on int_report's flow column.
    if (q.type === 'intFlows') {
      q = { ...q, kind: 'records', recordKind: 'int_report', field: q.field || 'flow' };
    }
    if (q.type === 'recordValues' || q.kind === 'records') {
      if (!q.field) {
        return [];
      }
      const values = await this.getRecordValues(
        q.recordKind ?? 'ipfix_flow',
        q.field,
        '',
        range,
        VARIABLE_VALUES_LIMIT
      );
      return values.map((text) => ({ text }));
    }
    switch (q.type) {
      case 'intSwitches': {
        // The value is what the records' device column holds; the text the name the settings give.
        const switches = await this.getIntSwitches();
        return switches.map((s) => ({ text: s.name || s.device, value: s.device }));
      }
      case 'devices': {
        const devices = await this.getDevices(source);
        return devices.map((d) => ({ text: d.hostname || d.id, value: d.id }));
      }
      case 'families':
        return (await this.getFamilies(source, range)).map((text) => ({ text }));
      case 'metrics':
        return (await this.getMetrics(source, q.family || undefined, range)).map((m) => ({ text: m.name }));
      case 'labelValues': {
        if (!q.label) {
          return [];
        }
        const values = await this.getLabelValues(source, q.label, q.metric || undefined, undefined, range);
        return values.map((text) => ({ text }));
      }
    }
    return [];
  }

  async metricFindQuery(query: NetlensVariableQuery, options?: { range?: TimeRange }): Promise<MetricFindValue[]> {
    return this.findVariableValues(query, options?.range);
  }
}

/**
 * The router a device field names, variables replaced; undefined when it
 * names none in particular: empty, a variable standing for several routers
 * ({a,b}, All as .*), or one not defined here (the editor outside a dashboard).
 */
export function oneRouter(device: string | undefined): string | undefined {
  const dev = device ? getTemplateSrv().replace(device) : '';
  return dev && !/[{}|*$]/.test(dev) ? dev : undefined;
}

/** The record kind whose fields the ad-hoc filters offer. */
const ADHOC_RECORD_KIND: RecordKind = 'ipfix_flow';

/**
 * Labels the IPFIX series carry: the volume series' device, protocol and
 * application (contract section 4) and the exporter health drops' reason.
 */
export const IPFIX_SERIES_LABELS = ['device', 'protocol', 'application', 'reason'];

/**
 * The dashboard's ad-hoc filters that apply to a query. Events carry only
 * device and hostname: a filter on another label (interface, …) is about
 * the panels' series, not these events. IPFIX series call the records'
 * exporter their device, and carry no other record field: a matcher on a
 * label a series lacks would empty the panel, so such filters narrow the
 * records panels only. Records queries take every filter; the backend
 * applies those on fields the records have.
 */
export function adhocFor(query: NetlensQuery, filters: AdHocVariableFilter[]): AdHocVariableFilter[] {
  if (query.kind === 'events') {
    return filters.filter((f) => EVENT_LABELS.includes(f.key));
  }
  if (query.source === 'ipfix' && query.kind !== 'records') {
    return filters
      .map((f) => (f.key === 'exporter' ? { ...f, key: 'device' } : f))
      .filter((f) => IPFIX_SERIES_LABELS.includes(f.key));
  }
  return filters;
}

function uniqueTexts(values: string[]): MetricFindValue[] {
  return [...new Set(values)].map((text) => ({ text }));
}

/** How many values an editor's autocomplete asks for. */
export const RECORD_VALUES_LIMIT = 100;

/** How many values a template variable lists: enough for every exporter of a large network. */
export const VARIABLE_VALUES_LIMIT = 1000;

const FIELD_TYPES: RecordFieldType[] = ['uint', 'int', 'float', 'time', 'string', 'addr', 'bool'];

function recordFieldType(t: unknown): RecordFieldType {
  return FIELD_TYPES.includes(t as RecordFieldType) ? (t as RecordFieldType) : 'string';
}

/**
 * The list in a resource's answer. The contract's records and exporters
 * resources answer with a bare array; the catalogs wrap theirs in an object
 * ({"values": [...]}), so that form is read too.
 */
function listOf<T>(answer: unknown, key: string): T[] {
  if (Array.isArray(answer)) {
    return answer as T[];
  }
  const inner = (answer as Record<string, unknown> | null | undefined)?.[key];
  return Array.isArray(inner) ? (inner as T[]) : [];
}

// A character no typed value holds: joins a multi-value variable's values
// so they can be told apart again after Grafana's replace.
const VALUE_SEPARATOR = '\u001f';

/**
 * Replaces variables in one filter value. A multi-value variable gives one
 * value each, so "$exporter" with two exporters picked is two values.
 */
export function interpolateRecordValue(value: string, scopedVars: ScopedVars): string[] {
  const text = getTemplateSrv().replace(value, scopedVars, (v: string | string[]) =>
    Array.isArray(v) ? v.join(VALUE_SEPARATOR) : v
  );
  return text.split(VALUE_SEPARATOR);
}

/**
 * Replaces variables in a filter. = and != take one value: when a variable
 * gives several they become in and not in, as a multi-value variable in a
 * matcher becomes a regex alternation.
 */
export function interpolateRecordFilter(f: RecordFilter, scopedVars: ScopedVars): RecordFilter {
  const srv = getTemplateSrv();
  const values = (f.values ?? []).flatMap((v) => interpolateRecordValue(v, scopedVars));
  let op = f.op;
  if (values.length > 1 && (op === '=' || op === '!=')) {
    op = op === '=' ? 'in' : 'not in';
  }
  return { field: srv.replace(f.field, scopedVars), op, values };
}

/**
 * An INT path query's flow with its variables replaced. A flow id holds
 * spaces, colons and ">", so a variable standing for several flows becomes
 * a JSON array the backend tells apart; one flow stays as it is.
 */
export function interpolateFlow(flow: string, scopedVars: ScopedVars): string {
  return getTemplateSrv().replace(flow, scopedVars, (v: string | string[]) => {
    if (!Array.isArray(v)) {
      return v;
    }
    return v.length === 1 ? v[0] : JSON.stringify(v);
  });
}

/**
 * The records part of applyTemplateVariables. Filter rows still being
 * filled in (no field or no value) are left out rather than refused by the
 * backend. The dashboard's ad-hoc filters go along as for series: the
 * backend applies those on fields the records have (device as exporter)
 * and skips the others.
 */
function interpolateRecords(q: NetlensQuery, scopedVars: ScopedVars): NetlensQuery {
  const srv = getTemplateSrv();
  const out: NetlensQuery = { ...q };
  if (q.filters) {
    out.filters = q.filters
      .filter((f) => f.field && (f.values ?? []).some((v) => v !== ''))
      .map((f) => interpolateRecordFilter({ ...f, values: f.values.filter((v) => v !== '') }, scopedVars));
  }
  if (q.aggregates) {
    out.aggregates = q.aggregates.map((a) => (a.field ? { ...a, field: srv.replace(a.field, scopedVars) } : a));
  }
  if (q.columns) {
    out.columns = q.columns.flatMap((c) => srv.replace(c, scopedVars, 'csv').split(',')).filter(Boolean);
  }
  if (q.bucket) {
    out.bucket = srv.replace(q.bucket, scopedVars);
  }
  return out;
}

const KIND_NUMBERS: MetricKind[] = ['unknown', 'gauge', 'counter'];

/** The backend's kind of a metric, sent as its name or as model.Kind's number (0 unknown, 1 gauge, 2 counter). */
export function metricKind(k: unknown): MetricKind {
  if (typeof k === 'number') {
    return KIND_NUMBERS[k] ?? 'unknown';
  }
  return k === 'gauge' || k === 'counter' ? k : 'unknown';
}

type VariableInfo = { multi?: boolean; includeAll?: boolean };

/**
 * Formats a variable's value for a place that reads a regex (=~, !~):
 * several values become an alternation of escaped literals; one value of a
 * multi or include-all variable is escaped too, since the user picked it as a
 * literal. A custom "All" value (.*) never gets here: Grafana passes it
 * unformatted.
 */
export function formatForRegex(value: string | string[], variable?: VariableInfo, escape = escapeRegex): string {
  if (Array.isArray(value)) {
    if (value.length === 1) {
      return escape(value[0]);
    }
    return '(' + value.map(escape).join('|') + ')';
  }
  if (variable?.multi || variable?.includeAll) {
    return escape(value);
  }
  return value;
}

/** formatForRegex for PromQL text, where the regex sits inside a quoted string. */
export function formatForPromQLText(value: string | string[], variable?: VariableInfo): string {
  return formatForRegex(value, variable, escapeRegexInString);
}

/**
 * Interpolates one matcher. A multi-value variable in an = or != matcher
 * cannot match with equality, so such a matcher becomes =~ or !~ over the
 * alternation of the values.
 */
export function interpolateMatcher(m: Matcher, scopedVars: ScopedVars): Matcher {
  const srv = getTemplateSrv();
  let several = false;
  const regexValue = srv.replace(
    m.value,
    scopedVars,
    (value: string | string[], variable?: { multi?: boolean; includeAll?: boolean }) => {
      if (Array.isArray(value) && value.length > 1) {
        several = true;
      }
      return formatForRegex(value, variable);
    }
  );
  if (m.op === '=~' || m.op === '!~') {
    return { ...m, value: regexValue };
  }
  if (several) {
    return { ...m, op: m.op === '=' ? '=~' : '!~', value: regexValue };
  }
  return { ...m, value: srv.replace(m.value, scopedVars) };
}

/**
 * One ad-hoc filter of the dashboard as a matcher. The multi-value operators
 * (=| one of, !=| none of) become regex alternations; operators PromQL has no
 * label matcher for (<, >) are left out rather than sent wrong.
 */
export function adhocToMatcher(f: AdHocVariableFilter, scopedVars: ScopedVars): Matcher | undefined {
  const srv = getTemplateSrv();
  if (!f.key) {
    return undefined;
  }
  const literal = (v: string) => srv.replace(v, scopedVars);
  switch (f.operator) {
    case '=':
    case '!=':
    case '=~':
    case '!~':
      return { label: f.key, op: f.operator as MatchOp, value: literal(f.value) };
    case '=|':
    case '!=|': {
      const values = f.values && f.values.length > 0 ? f.values : [f.value];
      const alternation = values.map((v) => escapeRegex(literal(v))).join('|');
      return { label: f.key, op: f.operator === '=|' ? '=~' : '!~', value: alternation };
    }
    default:
      return undefined;
  }
}
