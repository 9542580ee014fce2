import React, { useEffect, useRef, useState } from 'react';
import { css, cx } from '@emotion/css';
import { dateTimeFormat, dateTimeFormatTimeAgo, GrafanaTheme2, OrgRole } from '@grafana/data';
import { config } from '@grafana/runtime';
import { ConfigSection, ConfigSubSection } from '@grafana/plugin-ui';
import {
  Alert,
  Badge,
  BadgeColor,
  Button,
  ConfirmButton,
  LoadingPlaceholder,
  Spinner,
  Tooltip,
  useStyles2,
} from '@grafana/ui';

import { errorText } from '../../errors';
import { DeviceState, DeviceStatus, ERROR_CATEGORIES, Figures, ListenerStatus, SettingInfo } from '../../types';
import { Exporters, isIPFIXListener } from './Exporters';
import { IntSwitches, isINTListener } from './IntSwitches';
import { isXRListener, Routers } from './Routers';
import { cancelDeviceStream, StatusState } from './useStatus';

const PLUGIN_ID = 'netlens-telemetry-datasource';

const STATE_COLORS: Record<DeviceState, BadgeColor> = {
  connected: 'green',
  disconnected: 'orange',
  rejected: 'red',
};

/** The environment variable Grafana sets from a [plugin.<id>] key of grafana.ini. */
export function envName(key: string): string {
  return 'GF_PLUGIN_' + key.toUpperCase();
}

function when(ts: string | undefined): string {
  if (!ts || ts.startsWith('0001-')) {
    return '—';
  }
  return dateTimeFormatTimeAgo(ts);
}

function exact(ts: string | undefined): string {
  return ts && !ts.startsWith('0001-') ? dateTimeFormat(ts) : '';
}

/**
 * Whether the signed-in user may cancel a device's stream: the backend
 * allows it to an organisation Admin only, so nobody else is offered it.
 */
export function canCancelStreams(): boolean {
  return config.bootData?.user?.orgRole === OrgRole.Admin;
}

/** The collector can cancel a stream only while an FTD device holds one open. */
function cancellable(d: DeviceStatus): boolean {
  return d.source === 'ftd' && d.state === 'connected';
}

export function StatusPanel({ state }: { state: StatusState }) {
  const styles = useStyles2(getStyles);
  const { status, error, loading, uid, refresh, exporters, exportersError, routers, routersError } = state;
  const { intSwitches, intSwitchesError } = state;
  // The IPFIX part shows once the collector has an IPFIX listener (bound or
  // not) or has heard from an exporter; an FTD-only collector goes without.
  const ipfix = (status?.listeners ?? []).some(isIPFIXListener) || (exporters ?? []).length > 0;
  // Likewise the IOS XR part: the receiver is on, listens, or routers were heard.
  const xr = Boolean(status?.xr?.enabled) || (status?.listeners ?? []).some(isXRListener) || (routers ?? []).length > 0;
  // And the INT part: the receiver listens (or failed to), or switches were heard.
  const int = (status?.listeners ?? []).some(isINTListener) || (intSwitches ?? []).length > 0;
  const onCancel =
    uid && canCancelStreams()
      ? async (id: string) => {
          await cancelDeviceStream(uid, id);
          refresh?.();
        }
      : undefined;

  return (
    <ConfigSection
      title="Receivers"
      description="Live status of the collector in the Grafana server's plugin process, refreshed every few seconds."
    >
      {error && (
        <Alert severity="error" title="Cannot read the receivers' status">
          {error}
        </Alert>
      )}
      {loading && !status && <LoadingPlaceholder text="Reading status…" />}
      {status && (
        <>
          {(status.problems ?? []).length > 0 && (
            <Alert severity="warning" title="The plugin process started with problems">
              <ul className={styles.problems}>
                {status.problems!.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </Alert>
          )}
          <ConfigSubSection className={styles.subSection} title="Listeners">
            <Listeners listeners={status.listeners ?? []} className={styles.table} />
          </ConfigSubSection>
          <ConfigSubSection className={styles.subSection} title="Devices">
            <Devices devices={status.devices ?? []} className={styles.table} onCancel={onCancel} />
          </ConfigSubSection>
          {ipfix && (
            <ConfigSubSection
              className={styles.subSection}
              title="IPFIX exporters"
              description="Per exporter and observation domain: templates in use, records lost to sequence gaps, records waiting for a template and the receiver's own drops."
            >
              <Exporters
                listeners={status.listeners ?? []}
                exporters={exporters}
                error={exportersError}
                className={styles.table}
              />
            </ConfigSubSection>
          )}
          {xr && (
            <ConfigSubSection
              className={styles.subSection}
              title="IOS XR routers"
              description="Per router: transports, framing generations and encodings seen, messages, what the receiver dropped by reason, and compact GPB rows skipped for want of their .proto, by path."
            >
              <Routers
                listeners={status.listeners ?? []}
                routers={routers}
                error={routersError}
                silentGroups={status.xr?.silentGroups}
                className={styles.table}
              />
            </ConfigSubSection>
          )}
          {int && (
            <ConfigSubSection
              className={styles.subSection}
              title="INT switches"
              description="Per switch: reports by type, reports lost to sequence gaps, reports the receiver dropped by reason, report versions, state and the newest decode error."
            >
              <IntSwitches
                listeners={status.listeners ?? []}
                switches={intSwitches}
                error={intSwitchesError}
                className={styles.table}
              />
            </ConfigSubSection>
          )}
          <ConfigSubSection className={styles.subSection} title="Counters" isCollapsible isInitiallyOpen={false}>
            <FigureTable
              figures={status.counters ?? {}}
              className={cx(styles.table, styles.figures)}
              label="Counters"
            />
          </ConfigSubSection>
          <ConfigSubSection className={styles.subSection} title="Store" isCollapsible isInitiallyOpen={false}>
            <FigureTable figures={status.store ?? {}} className={cx(styles.table, styles.figures)} label="Store" />
          </ConfigSubSection>
          <ConfigSubSection className={styles.subSection} title="Live streams" isCollapsible isInitiallyOpen={false}>
            <FigureTable
              figures={status.live ?? {}}
              className={cx(styles.table, styles.figures)}
              label="Live streams"
            />
          </ConfigSubSection>
          <ConfigSubSection
            className={styles.subSection}
            title="Process settings"
            description={
              <>
                Set in the <code>[plugin.{PLUGIN_ID}]</code> section of grafana.ini, or as the environment variable
                shown (<code>GF_PLUGIN_&lt;KEY&gt;</code>) in Grafana&apos;s environment; Grafana restarts the plugin to
                apply them.
              </>
            }
          >
            <Settings settings={status.settings ?? []} className={styles.table} />
          </ConfigSubSection>
        </>
      )}
    </ConfigSection>
  );
}

function Listeners({ listeners, className }: { listeners: ListenerStatus[]; className: string }) {
  if (listeners.length === 0) {
    return <p>No receiver is enabled: every listen address is empty.</p>;
  }
  return (
    <table className={className} aria-label="Listeners">
      <thead>
        <tr>
          <th>Receiver</th>
          <th>Address</th>
          <th>State</th>
          <th>Since</th>
        </tr>
      </thead>
      <tbody>
        {listeners.map((l) => (
          <tr key={`${l.name}/${l.network}/${l.address}`}>
            <td>{l.name}</td>
            <td>
              {l.address}/{l.network}
            </td>
            <td>
              {l.bound ? (
                <Badge color="green" text={typeof l.bound === 'string' ? `listening on ${l.bound}` : 'listening'} />
              ) : (
                <>
                  {/* A badge holds a word; the bind error, often long, reads as text under it. */}
                  <Badge color="red" text="not listening" />
                  {l.error && (
                    <div className="secondary">
                      <small>{l.error}</small>
                    </div>
                  )}
                </>
              )}
            </td>
            <td title={exact(l.since)}>{when(l.since)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface DevicesProps {
  devices: DeviceStatus[];
  className: string;
  /** Cancels a device's stream; absent when the user may not. */
  onCancel?: (id: string) => Promise<void>;
}

function Devices({ devices, className, onCancel }: DevicesProps) {
  if (devices.length === 0) {
    return <p>No device has connected yet.</p>;
  }
  // The column exists only when some row can hold the action.
  const actions = Boolean(onCancel) && devices.some(cancellable);
  return (
    <table className={className} aria-label="Devices">
      <thead>
        <tr>
          <th>Device</th>
          <th>Remote</th>
          <th>State</th>
          <th>Last batch</th>
          <th className="num">Interval</th>
          <th className="num">Batches</th>
          <th className="num">Samples</th>
          <th className="num">Rejected</th>
          <th>Errors</th>
          {actions && (
            <th>
              <span className="sr-only">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {devices.map((d) => (
          <tr key={`${d.source}/${d.id}`}>
            <td title={d.id}>
              {d.hostname || d.id}
              <div className="secondary">
                <small>
                  {d.source} {d.hostname ? d.id : ''}
                </small>
              </div>
            </td>
            <td>{d.remote}</td>
            <td title={exact(d.since)}>
              <Badge color={STATE_COLORS[d.state] ?? 'blue'} text={d.state} />
              {d.stateReason && (
                <div className="secondary">
                  <small>{d.stateReason}</small>
                </div>
              )}
            </td>
            <td title={exact(d.lastBatch)}>{when(d.lastBatch)}</td>
            <td className="num">{d.intervalSeconds ? `${d.intervalSeconds} s` : '—'}</td>
            <td className="num">{d.batches}</td>
            <td className="num">{d.samples}</td>
            <td className="num">{d.rejected}</td>
            <td>
              <DeviceErrors device={d} />
            </td>
            {actions && (
              <td className="action">{onCancel && cancellable(d) && <CancelStream id={d.id} onCancel={onCancel} />}</td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Cancel stream, confirmed inline. The error stays beside the device until
 * the next try, since the status refresh does not say why a cancel failed.
 */
function CancelStream({ id, onCancel }: { id: string; onCancel: (id: string) => Promise<void> }) {
  const [running, setRunning] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();
  // The row may go away (the device disconnected) before the answer arrives.
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = async () => {
    setConfirming(false);
    setRunning(true);
    setError(undefined);
    try {
      await onCancel(id);
    } catch (err) {
      if (mounted.current) {
        setError(errorText(err));
      }
    } finally {
      if (mounted.current) {
        setRunning(false);
      }
    }
  };

  if (running) {
    return (
      <span className="pending" role="status">
        <Spinner inline /> Cancelling…
      </span>
    );
  }
  return (
    <div className={confirming ? 'confirming' : undefined}>
      <ConfirmButton
        size="sm"
        confirmVariant="destructive"
        confirmText="Stop; it retries in ~5 min"
        closeOnConfirm
        onClick={() => setConfirming(true)}
        onCancel={() => setConfirming(false)}
        onConfirm={run}
      >
        {/* The confirmation must stay short to fit beside the errors; the whole story is here. */}
        <Button size="sm" fill="text" tooltip="The device stops streaming and retries after about five minutes.">
          Cancel stream
        </Button>
      </ConfirmButton>
      {error && (
        <div className="error" role="alert">
          <small>{error}</small>
        </div>
      )}
    </div>
  );
}

function DeviceErrors({ device }: { device: DeviceStatus }) {
  const present = ERROR_CATEGORIES.filter((c) => (device.errors?.[c]?.count ?? 0) > 0);
  if (present.length === 0) {
    return <>none</>;
  }
  return (
    <>
      {present.map((c) => {
        const e = device.errors![c]!;
        return (
          <Tooltip key={c} content={`${e.last} (${exact(e.lastAt)})`}>
            <span>
              <Badge color="red" text={`${c}: ${e.count}`} />{' '}
            </span>
          </Tooltip>
        );
      })}
    </>
  );
}

/**
 * Flattens a tree of figures into rows, nested keys joined with dots, so
 * free-form statistics (store, live hub) show whatever the backend adds.
 */
export function flattenFigures(figures: Figures, prefix = ''): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const key of Object.keys(figures).sort()) {
    const v = figures[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (v !== null && typeof v === 'object') {
      rows.push(...flattenFigures(v, name));
    } else {
      rows.push([name, String(v)]);
    }
  }
  return rows;
}

function FigureTable({ figures, className, label }: { figures: Figures; className: string; label: string }) {
  const rows = flattenFigures(figures);
  if (rows.length === 0) {
    return <p>Nothing counted yet.</p>;
  }
  return (
    <table className={className} aria-label={label}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <td>{k}</td>
            <td className="num">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Settings({ settings, className }: { settings: SettingInfo[]; className: string }) {
  return (
    <table className={className} aria-label="Process settings">
      <thead>
        <tr>
          <th>grafana.ini key</th>
          <th>Environment</th>
          <th>Value</th>
          <th>Default</th>
          <th>Meaning</th>
        </tr>
      </thead>
      <tbody>
        {settings.map((s) => (
          <tr key={s.key}>
            <td>
              <code>{s.key}</code>
            </td>
            <td>
              <code>{envName(s.key)}</code>
            </td>
            <td>
              {s.value === s.default ? <span>{s.value || '(empty)'}</span> : <strong>{s.value || '(empty)'}</strong>}
            </td>
            <td>{s.default || '(empty)'}</td>
            <td>{s.help}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  // Grafana's global styles drop list bullets; each problem is its own item.
  problems: css({ margin: 0, paddingLeft: theme.spacing(2), listStyle: 'disc' }),
  // Collapsed sub-sections otherwise stack their titles line against line.
  subSection: css({ marginBottom: theme.spacing(2) }),
  table: css({
    width: '100%',
    borderCollapse: 'collapse',
    'th, td': {
      padding: theme.spacing(0.5, 1),
      borderBottom: `1px solid ${theme.colors.border.weak}`,
      textAlign: 'left',
      verticalAlign: 'top',
    },
    th: {
      color: theme.colors.text.secondary,
      fontWeight: theme.typography.fontWeightMedium,
    },
    // Counts line up by their last digit.
    '.num': { textAlign: 'right', fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' },
    // Ids and reasons under a name are detail, not headline.
    '.secondary': { color: theme.colors.text.secondary },
    '.error': { color: theme.colors.error.text },
    // A failed cancel's reason (ids included) wraps within the action column
    // instead of widening it past the page.
    '.action .error': { maxWidth: theme.spacing(32), overflowWrap: 'anywhere' },
    // ConfirmButton lays its confirmation over whatever sits to the button's
    // left; widening the cell while it shows keeps the errors readable.
    '.action .confirming': { minWidth: theme.spacing(32) },
    '.action .pending': { whiteSpace: 'nowrap' },
    // An exporter in trouble is marked down its left edge as well as by its badge.
    '.state-losing td:first-child': { boxShadow: `inset 3px 0 ${theme.colors.warning.main}` },
    '.state-stopped td:first-child': { boxShadow: `inset 3px 0 ${theme.colors.error.main}` },
  }),
  // Name and value tables: at full width a short value sat far from its name.
  figures: css({ width: 'auto', minWidth: theme.spacing(60) }),
});
