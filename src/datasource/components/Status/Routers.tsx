import React from 'react';
import { cx } from '@emotion/css';
import { dateTimeFormat } from '@grafana/data';
import { Alert } from '@grafana/ui';

import { cadence } from '../XrEditor/xrQuery';
import { ListenerStatus, XrRouter, XrSilentGroup } from '../../types';
import { count, CountBadges, ListeningOn, seen, StatusTable, total } from './statusTable';

/** Whether a listener belongs to the IOS XR receiver (xr-tcp, xr-udp, xr-grpc, …). */
export function isXRListener(l: ListenerStatus): boolean {
  return l.name.toLowerCase().startsWith('xr');
}

/** Routers ordered for reading: those with drops or missing .proto files first, then by name. */
export function sortRouters(routers: XrRouter[]): XrRouter[] {
  const trouble = (r: XrRouter) => (total(r.drops) + total(r.missingProtos) > 0 ? 0 : 1);
  return [...routers].sort(
    (a, b) => trouble(a) - trouble(b) || a.device.localeCompare(b.device, 'en', { numeric: true })
  );
}

/** One silent group in words, as the health check says it. */
export function silentText(g: XrSilentGroup): string {
  const group = `policy ${g.policy} group ${g.group} (${cadence(g.periodSeconds)})`;
  return g.router ? `${g.router}: ${group} silent for three periods or more` : `${group}: no router has sent it`;
}

interface RoutersProps {
  listeners: ListenerStatus[];
  routers?: XrRouter[];
  error?: string;
  silentGroups?: XrSilentGroup[];
  className: string;
}

/**
 * The IOS XR receiver: where it listens, and per router what arrived over
 * which transports, framings and encodings, what the receiver dropped and
 * why, and which compact GPB paths lack their .proto. Policy groups that
 * went silent for three periods are listed above.
 */
export function Routers({ listeners, routers, error, silentGroups, className }: RoutersProps) {
  const xr = listeners.filter(isXRListener);
  const list = sortRouters(routers ?? []);
  const silent = silentGroups ?? [];
  return (
    <>
      <ListeningOn listeners={xr} label="IOS XR listeners" what="IOS XR telemetry" />
      {error && (
        <Alert severity="warning" title="Cannot read the IOS XR routers">
          {error}
        </Alert>
      )}
      {silent.length > 0 && (
        <Alert severity="warning" title={silent.length === 1 ? 'A policy group is silent' : 'Policy groups are silent'}>
          <ul>
            {silent.map((g) => (
              <li key={`${g.router}/${g.policy}/${g.group}`}>{silentText(g)}</li>
            ))}
          </ul>
        </Alert>
      )}
      {!error && list.length === 0 && (
        <p>No IOS XR router has sent anything yet: point a policy group or a subscription at port 57500.</p>
      )}
      {list.length > 0 && (
        <StatusTable
          label="IOS XR routers"
          className={className}
          columns={[
            { title: 'Router' },
            { title: 'Transports' },
            { title: 'Encodings' },
            { title: 'Messages', num: true },
            { title: 'Drops' },
            { title: 'Rows without .proto' },
            { title: 'Last seen' },
          ]}
        >
          {list.map((r) => {
            const trouble = total(r.drops) + total(r.missingProtos) > 0;
            return (
              <tr key={`${r.device}/${r.remote}`} className={cx(trouble && 'state-losing')}>
                <td>
                  {r.device}
                  <div className="secondary">
                    <small>{r.remote}</small>
                  </div>
                </td>
                <td>
                  {(r.transports ?? []).join(', ') || '—'}
                  {(r.generations ?? []).length > 0 && (
                    <div className="secondary">
                      <small>{r.generations.join(', ')}</small>
                    </div>
                  )}
                </td>
                <td>{(r.encodings ?? []).join(', ') || '—'}</td>
                <td className="num" title={r.bytes ? `${count(r.bytes)} bytes` : ''}>
                  {count(r.messages)}
                </td>
                <td>
                  <CountBadges counts={r.drops} />
                </td>
                <td>
                  <CountBadges counts={r.missingProtos} />
                </td>
                <td title={r.lastSeenMs > 0 ? dateTimeFormat(r.lastSeenMs) : ''}>{seen(r.lastSeenMs)}</td>
              </tr>
            );
          })}
        </StatusTable>
      )}
    </>
  );
}
