import React from 'react';
import { cx } from '@emotion/css';
import { dateTimeFormat, formattedValueToString, getValueFormat } from '@grafana/data';
import { Alert } from '@grafana/ui';

import { ExporterState, ExporterStatus, ListenerStatus } from '../../types';
import { count, CountBadges, ListeningOn, seen, StateBadge, StatusTable } from './statusTable';

const STATE_HELP: Record<ExporterState, string> = {
  ok: 'sending, nothing lost',
  losing: 'sequence gaps or drops lately',
  stopped: 'silent past the exporter timeout',
};

// Exporters in trouble come first: with dozens of exporters, the one that
// loses packets must not hide at the bottom of the list.
const STATE_ORDER: Record<ExporterState, number> = { losing: 0, stopped: 1, ok: 2 };

/** Whether a listener belongs to the IPFIX receiver (ipfix, ipfix-udp, ipfix-tcp, …). */
export function isIPFIXListener(l: ListenerStatus): boolean {
  return l.name.toLowerCase().startsWith('ipfix');
}

/** Exporters ordered for reading: trouble first, then by device. */
export function sortExporters(exporters: ExporterStatus[]): ExporterStatus[] {
  return [...exporters].sort(
    (a, b) =>
      (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3) ||
      a.device.localeCompare(b.device, 'en', { numeric: true })
  );
}

function bytesRate(value: number): string {
  return formattedValueToString(getValueFormat('Bps')(value ?? 0, 1));
}

function perSecond(value: number): string {
  return (value ?? 0).toLocaleString('en', { maximumFractionDigits: 1 });
}

interface ExportersProps {
  listeners: ListenerStatus[];
  exporters?: ExporterStatus[];
  error?: string;
  className: string;
}

/**
 * The IPFIX receiver: where it listens, and per exporter and observation
 * domain what arrived (templates, records and bytes per second), what was
 * lost on the way (sequence gaps), what waits for a template and what the
 * receiver itself dropped. An exporter that loses packets or went silent is
 * flagged.
 */
export function Exporters({ listeners, exporters, error, className }: ExportersProps) {
  const ipfix = listeners.filter(isIPFIXListener);
  const list = sortExporters(exporters ?? []);
  const trouble = list.filter((e) => e.state !== 'ok');
  return (
    <>
      <ListeningOn listeners={ipfix} label="IPFIX listeners" what="IPFIX and NetFlow v9" />
      {error && (
        <Alert severity="warning" title="Cannot read the IPFIX exporters">
          {error}
        </Alert>
      )}
      {trouble.length > 0 && (
        <Alert severity="warning" title={trouble.length === 1 ? 'An exporter needs a look' : 'Exporters need a look'}>
          {trouble
            .map((e) => `${e.device} ${e.state === 'losing' ? 'is losing export packets' : 'stopped sending'}`)
            .join('; ')}
          .
        </Alert>
      )}
      {!error && list.length === 0 && <p>No IPFIX exporter has sent anything yet.</p>}
      {list.length > 0 && (
        <StatusTable
          label="IPFIX exporters"
          className={className}
          columns={[
            { title: 'Exporter' },
            { title: 'State' },
            { title: 'Templates' },
            { title: 'Records/s', num: true },
            { title: 'Bytes/s', num: true },
            { title: 'Lost records', num: true },
            { title: 'Held', num: true },
            { title: 'Drops' },
            { title: 'Sampling', num: true },
            { title: 'Last seen' },
          ]}
        >
          {list.map((e) => (
            <tr key={`${e.device}/${e.address}/${e.transport}`} className={cx(e.state !== 'ok' && `state-${e.state}`)}>
              <td>
                {e.device}
                <div className="secondary">
                  <small>
                    {e.address} {e.transport}
                    {e.version === 9 ? ' NetFlow v9' : ''}, domain {e.odid}
                  </small>
                </div>
              </td>
              <td>
                <StateBadge state={e.state} tooltip={STATE_HELP[e.state]} />
              </td>
              <td>
                {(e.templates ?? []).join(', ') || 'none'}
                {(e.optionsTemplates ?? []).length > 0 && (
                  <div className="secondary">
                    <small>options {e.optionsTemplates!.join(', ')}</small>
                  </div>
                )}
              </td>
              <td className="num" title={`${count(e.records)} records in all`}>
                {perSecond(e.recordsPerSec)}
              </td>
              <td className="num">{bytesRate(e.bytesPerSec)}</td>
              <td className={cx('num', (e.lostRecords > 0 || (e.lostPackets ?? 0) > 0) && 'error')}>
                {count(e.lostRecords)}
                {(e.lostPackets ?? 0) > 0 && (
                  <div>
                    <small>{count(e.lostPackets)} packets</small>
                  </div>
                )}
              </td>
              <td
                className="num"
                title={`Records waiting for their template${e.heldBytes ? `: ${count(e.heldBytes)} bytes` : ''}`}
              >
                {count(e.heldRecords)}
              </td>
              <td>
                <CountBadges counts={e.drops} />
              </td>
              <td className="num">{e.samplingRate && e.samplingRate > 1 ? `1:${e.samplingRate}` : 'unsampled'}</td>
              <td title={e.lastSeenMs > 0 ? dateTimeFormat(e.lastSeenMs) : ''}>{seen(e.lastSeenMs)}</td>
            </tr>
          ))}
        </StatusTable>
      )}
    </>
  );
}
