import React, { useState } from 'react';

import type { DataSource } from '../datasource';
import { QueryEditor } from '../components/QueryEditor/QueryEditor';
import { NetlensQuery } from '../types';

export interface Recorded {
  changes: NetlensQuery[];
  runs: number;
  /** The query as the editor last left it. */
  current: () => NetlensQuery;
}

/**
 * Renders the query editor the way a panel does: it owns the query, takes
 * every onChange and counts onRunQuery calls.
 */
export function editorHarness(datasource: DataSource, initial: Partial<NetlensQuery>) {
  const rec: Recorded = { changes: [], runs: 0, current: () => rec.changes[rec.changes.length - 1] ?? start };
  const start = { refId: 'A', source: 'ftd', kind: 'series', editorMode: 'builder', ...initial } as NetlensQuery;

  function Harness() {
    const [query, setQuery] = useState<NetlensQuery>(start);
    return (
      <QueryEditor
        datasource={datasource}
        query={query}
        onChange={(q) => {
          rec.changes.push(q);
          setQuery(q);
        }}
        onRunQuery={() => {
          rec.runs++;
        }}
      />
    );
  }
  return { Harness, rec };
}
