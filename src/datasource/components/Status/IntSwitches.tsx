import React from 'react';
import { cx } from '@emotion/css';
import { dateTimeFormat } from '@grafana/data';
import { Alert } from '@grafana/ui';

import { INT_PORT } from '../IntEditor/intQuery';
import { IntSwitch, ListenerStatus } from '../../types';
import { count, CountBadges, ListeningOn, seen, StateBadge, StatusTable, total } from './statusTable';

/** Whether a listener belongs to the INT receiver (int-udp, …). */
export function isINTListener(l: ListenerStatus): boolean {
  return l.name.toLowerCase().startsWith('int');
}

/** The order report types are shown in: the flow's own, then the switch's events. */
const REPORT_TYPES = ['flow', 'int', 'postcard', 'drop', 'queue'];

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
      <ListeningOn listeners={own} label="INT listeners" what="INT reports" />
      {error && (
        <Alert severity="warning" title="Cannot read the INT switches">
          {error}
        </Alert>
      )}
      {!error && list.length === 0 && (
        <p>No INT switch has sent a report yet: point the switches&apos; monitor-collector at UDP port {INT_PORT}.</p>
      )}
      {list.length > 0 && (
        <StatusTable
          label="INT switches"
          className={className}
          columns={[
            { title: 'Switch' },
            { title: 'State' },
            { title: 'Reports' },
            { title: 'Lost reports', num: true },
            { title: 'Drops' },
            { title: 'Versions' },
            { title: 'Last seen' },
          ]}
        >
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
                <StateBadge state={s.state} />
                {s.lastError && (
                  <div className="secondary">
                    <small>{s.lastError}</small>
                  </div>
                )}
              </td>
              <td title={s.bytes ? `${count(s.bytes)} bytes` : ''}>{reportsText(s.reports)}</td>
              <td className="num">{count(s.lostReports)}</td>
              <td>
                <CountBadges counts={s.drops} />
              </td>
              <td>{(s.versions ?? []).join(', ') || '—'}</td>
              <td title={s.lastSeenMs > 0 ? dateTimeFormat(s.lastSeenMs) : ''}>{seen(s.lastSeenMs)}</td>
            </tr>
          ))}
        </StatusTable>
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
