import React from 'react';
import { cx } from '@emotion/css';
import { dateTimeFormat, dateTimeFormatTimeAgo } from '@grafana/data';
import { Alert, Badge, BadgeColor } from '@grafana/ui';

import { INT_PORT } from '../IntEditor/intQuery';
import { IntSwitch, ListenerStatus } from '../../types';

/** Whether a listener belongs to the INT receiver (int-udp, …). */
export function isINTListener(l: ListenerStatus): boolean {
  return l.name.toLowerCase().startsWith('int');
}

const STATE_COLORS: Record<string, BadgeColor> = { ok: 'green', losing: 'orange', stopped: 'red' };

/** The order report types are shown in: the flow's own, then the switch's events. */
const REPORT_TYPES = ['flow', 'int', 'postcard', 'drop', 'queue'];

function count(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en');
}

function seen(ms: number | undefined): string {
  return ms && ms > 0 ? dateTimeFormatTimeAgo(ms) : '—';
}

function total(m: Record<string, number> | undefined): number {
  return Object.values(m ?? {}).reduce((a, b) => a + (b ?? 0), 0);
}

function trouble(s: IntSwitch): boolean {
  return s.state !== 'ok' || s.lostReports > 0 || total(s.drops) > 0;
}

/** Switches ordered for reading: stopped, then losing or dropping, then the rest; by name within. */
export function sortSwitches(switches: IntSwitch[]): IntSwitch[] {
  const rank = (s: IntSwitch) => (s.state === 'stopped' ? 0 : trouble(s) ? 1 : 2);
  const name = (s: IntSwitch) => s.name || s.device;
  return [...switches].sort((a, b) => rank(a) - rank(b) || name(a).localeCompare(name(b), 'en', { numeric: true }));
}

interface IntSwitchesProps {
  listeners: ListenerStatus[];
  switches?: IntSwitch[];
  error?: string;
  className: string;
}

/**
 * The INT receiver: where it listens, and per switch the reports by type,
 * reports lost to sequence gaps, what the receiver dropped and why, the
 * report versions, its state and the newest decode error.
 */
export function IntSwitches({ listeners, switches, error, className }: IntSwitchesProps) {
  const own = listeners.filter(isINTListener);
  const list = sortSwitches(switches ?? []);
  return (
    <>
      {own.length > 0 && (
        // A div, not a p: a badge is a div.
        <div aria-label="INT listeners" className="listeners">
          Listening for INT reports on{' '}
          {own.map((l, i) => (
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
      )}
      {error && (
        <Alert severity="warning" title="Cannot read the INT switches">
          {error}
        </Alert>
      )}
      {!error && list.length === 0 && (
        <p>No INT switch has sent a report yet: point the switches&apos; monitor-collector at UDP port {INT_PORT}.</p>
      )}
      {list.length > 0 && (
        <table className={className} aria-label="INT switches">
          <thead>
            <tr>
              <th>Switch</th>
              <th>State</th>
              <th>Reports</th>
              <th className="num">Lost reports</th>
              <th>Drops</th>
              <th>Versions</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr
                key={`${s.device}/${s.address}`}
                className={cx(s.state === 'stopped' ? 'state-stopped' : trouble(s) && 'state-losing')}
              >
                <td>
                  {s.name || s.device}
                  <div className="secondary">
                    <small>{[s.name ? s.device : '', s.address].filter(Boolean).join(' · ')}</small>
                  </div>
                </td>
                <td>
                  <Badge color={STATE_COLORS[s.state] ?? 'blue'} text={s.state} />
                  {s.lastError && (
                    <div className="secondary">
                      <small>{s.lastError}</small>
                    </div>
                  )}
                </td>
                <td title={s.bytes ? `${count(s.bytes)} bytes` : ''}>{reportsText(s.reports)}</td>
                <td className="num">{count(s.lostReports)}</td>
                <td>
                  <Drops drops={s.drops} />
                </td>
                <td>{(s.versions ?? []).join(', ') || '—'}</td>
                <td title={s.lastSeenMs > 0 ? dateTimeFormat(s.lastSeenMs) : ''}>{seen(s.lastSeenMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Reports by type, in a fixed order ("flow 120 · drop 4"); types the order does not know come last. */
export function reportsText(reports: Record<string, number> | undefined): string {
  const types = Object.keys(reports ?? {}).filter((t) => (reports![t] ?? 0) > 0);
  const known = REPORT_TYPES.filter((t) => types.includes(t));
  const rest = types.filter((t) => !REPORT_TYPES.includes(t)).sort();
  const parts = [...known, ...rest].map((t) => `${t} ${count(reports![t])}`);
  return parts.length > 0 ? parts.join(' · ') : 'none';
}

/** Drops by reason, as badges; "none" when all are zero. */
function Drops({ drops }: { drops?: Record<string, number> }) {
  const keys = Object.keys(drops ?? {})
    .filter((k) => (drops![k] ?? 0) > 0)
    .sort();
  if (keys.length === 0) {
    return <>none</>;
  }
  return (
    <>
      {keys.map((k) => (
        <span key={k}>
          <Badge color="red" text={`${k}: ${count(drops![k])}`} />{' '}
        </span>
      ))}
    </>
  );
}
