import React from 'react';
import { dateTimeFormatTimeAgo } from '@grafana/data';
import { Badge, BadgeColor } from '@grafana/ui';

import { ListenerStatus } from '../../types';

/** A count as the status tables write it: grouped thousands, zero when absent. */
export function count(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en');
}

/** When something was last heard from, or a dash for never. */
export function seen(ms: number | undefined): string {
  return ms && ms > 0 ? dateTimeFormatTimeAgo(ms) : '—';
}

/** The sum of counts by reason (or by path). */
export function total(m: Record<string, number> | undefined): number {
  return Object.values(m ?? {}).reduce((a, b) => a + (b ?? 0), 0);
}

interface ListeningOnProps {
  /** The receiver's own listeners; nothing is drawn when there are none. */
  listeners: ListenerStatus[];
  /** Names the list for screen readers and tests ("INT listeners"). */
  label: string;
  /** What is listened for, as in "Listening for IPFIX and NetFlow v9 on". */
  what: string;
}

/** Where one receiver listens, with a red badge on an address it could not bind. */
export function ListeningOn({ listeners, label, what }: ListeningOnProps) {
  if (listeners.length === 0) {
    return null;
  }
  return (
    // A div, not a p: a badge is a div.
    <div aria-label={label} className="listeners">
      Listening for {what} on{' '}
      {listeners.map((l, i) => (
        <React.Fragment key={`${l.name}/${l.network}`}>
          {i > 0 && ', '}
          <code>
            {l.network} {typeof l.bound === 'string' && l.bound ? l.bound : l.address}
          </code>
          {!l.bound && <Badge color="red" text="not listening" tooltip={l.error} />}
        </React.Fragment>
      ))}
      .
    </div>
  );
}

/** Counts by reason or by path, as red badges in key order; "none" when all are zero. */
export function CountBadges({ counts }: { counts?: Record<string, number> }) {
  const keys = Object.keys(counts ?? {})
    .filter((k) => (counts![k] ?? 0) > 0)
    .sort();
  if (keys.length === 0) {
    return <>none</>;
  }
  return (
    <>
      {keys.map((k) => (
        <span key={k}>
          <Badge color="red" text={`${k}: ${count(counts![k])}`} />{' '}
        </span>
      ))}
    </>
  );
}

const STATE_COLORS: Record<string, BadgeColor> = { ok: 'green', losing: 'orange', stopped: 'red' };

/** A sender's state (ok, losing, stopped) as a coloured badge; a state not known here is blue. */
export function StateBadge({ state, tooltip }: { state: string; tooltip?: string }) {
  return <Badge color={STATE_COLORS[state] ?? 'blue'} text={state} tooltip={tooltip} />;
}

/** A column head; numeric columns are right-aligned. */
export interface Column {
  title: string;
  num?: boolean;
}

interface StatusTableProps {
  /** Names the table for screen readers and tests ("IPFIX exporters"). */
  label: string;
  className: string;
  columns: Column[];
  /** The rows. */
  children: React.ReactNode;
}

/** The frame every receiver's table shares: its heads, then the rows it is given. */
export function StatusTable({ label, className, columns, children }: StatusTableProps) {
  return (
    <table className={className} aria-label={label}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.title} className={c.num ? 'num' : undefined}>
              {c.title}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
