import { NetlensQuery } from '../../types';

/**
 * Every field a source's builder fills in, cleared when a query moves to
 * another kind of the same source. Switch names are not among them: an INT
 * query keeps its switches' names from kind to kind.
 */
export const BUILDER_FIELDS_CLEARED: Partial<NetlensQuery> = {
  expr: undefined,
  family: undefined,
  metric: undefined,
  matchers: undefined,
  rate: undefined,
  aggregation: undefined,
  groupBy: undefined,
  instant: undefined,
  eventTypes: undefined,
  recordKind: undefined,
  filters: undefined,
  aggregates: undefined,
  bucket: undefined,
  topN: undefined,
  other: undefined,
  columns: undefined,
  limit: undefined,
  flow: undefined,
};

/** What a query built for one source carries that means nothing to another's builder. */
export const SOURCE_FIELDS_CLEARED: Partial<NetlensQuery> = { ...BUILDER_FIELDS_CLEARED, switchNames: undefined };
