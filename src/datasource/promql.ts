import { Aggregation, AGGREGATIONS, Matcher, MatchOp, MATCH_OPS, NetlensQuery } from './types';

// The builder's query as PromQL text. The backend builds its own PromQL from
// the same fields; this copy exists for the code-mode preview and for the
// switch from builder to code, so both must agree on the shape:
//   agg by (groupBy) (rate(metric{matchers}[$__rate_interval]))

/** Escapes a value for a PromQL double-quoted string. */
export function quoteLabelValue(value: string): string {
  return '"' + value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

/** Escapes regex metacharacters so a literal value can sit in an =~ alternation (RE2 syntax). */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/**
 * Escapes a literal for a regex that sits inside a PromQL double-quoted
 * string, as a variable in code mode does (device=~"$device"): the string
 * literal consumes one level of backslashes, so the regex escapes are doubled.
 */
export function escapeRegexInString(value: string): string {
  return escapeRegex(value).replace(/\\/g, '\\\\');
}

export function selector(metric: string | undefined, matchers: Matcher[] | undefined): string {
  const parts = (matchers ?? [])
    .filter((m) => m.label && m.op)
    .map((m) => `${m.label}${m.op}${quoteLabelValue(m.value)}`);
  const body = parts.length > 0 ? `{${parts.join(', ')}}` : '';
  if (!metric) {
    return body || '{}';
  }
  return metric + body;
}

/** The builder fields of a query rendered as PromQL; empty when no metric is chosen. */
export function builderToPromQL(q: Partial<NetlensQuery>): string {
  if (!q.metric) {
    return '';
  }
  let expr = selector(q.metric, q.matchers);
  if (q.rate) {
    expr = `rate(${expr}[$__rate_interval])`;
  }
  if (q.aggregation) {
    const by = q.groupBy && q.groupBy.length > 0 ? ` by (${q.groupBy.join(', ')})` : '';
    expr = `${q.aggregation}${by} (${expr})`;
  }
  return expr;
}

/** The builder fields that a PromQL expression of the builder's shape describes. */
export type BuilderFields = Pick<NetlensQuery, 'metric' | 'matchers' | 'rate' | 'aggregation' | 'groupBy'>;

const ident = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const labelName = '[a-zA-Z_][a-zA-Z0-9_]*';

/**
 * Reads back an expression of exactly the shape builderToPromQL writes (spacing
 * aside), so a query can go from code mode to builder mode without losing
 * anything. Anything else returns undefined: the builder cannot show it.
 */
export function promQLToBuilder(expr: string): BuilderFields | undefined {
  let rest = expr.trim();
  let aggregation: Aggregation = '';
  let groupBy: string[] = [];

  const agg = new RegExp(
    `^(${AGGREGATIONS.filter(Boolean).join('|')})\\s*(?:by\\s*\\(([^)]*)\\))?\\s*\\((.*)\\)$`,
    's'
  ).exec(rest);
  if (agg) {
    aggregation = agg[1] as Aggregation;
    groupBy = (agg[2] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!groupBy.every((g) => new RegExp(`^${labelName}$`).test(g))) {
      return undefined;
    }
    rest = agg[3].trim();
  }

  let rate = false;
  const r = /^rate\s*\((.*)\[\s*\$__rate_interval\s*\]\s*\)$/s.exec(rest);
  if (r) {
    rate = true;
    rest = r[1].trim();
  }

  const sel = new RegExp(`^(${ident})\\s*(?:\\{(.*)\\})?$`, 's').exec(rest);
  if (!sel) {
    return undefined;
  }
  const matchers = parseMatchers(sel[2] ?? '');
  if (!matchers) {
    return undefined;
  }
  return { metric: sel[1], matchers, rate, aggregation, groupBy };
}

function parseMatchers(body: string): Matcher[] | undefined {
  const out: Matcher[] = [];
  const re = new RegExp(`\\s*(${labelName})\\s*(=~|!~|!=|=)\\s*"((?:[^"\\\\]|\\\\.)*)"\\s*(,|$)`, 'gy');
  let pos = 0;
  const text = body.trim();
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) {
      return undefined;
    }
    if (!MATCH_OPS.includes(m[2] as MatchOp)) {
      return undefined;
    }
    out.push({ label: m[1], op: m[2] as MatchOp, value: unquote(m[3]) });
    pos = re.lastIndex;
  }
  return out;
}

function unquote(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}
