import { useCallback, useEffect, useRef, useState } from 'react';
import { getDataSourceSrv } from '@grafana/runtime';

import type { DataSource } from '../../datasource';
import { errorText } from '../../errors';
import { ExporterStatus, IntSwitch, StatusResponse, XrRouter } from '../../types';

export const STATUS_REFRESH_MS = 5000;

export interface StatusState {
  status?: StatusResponse;
  error?: string;
  /** IPFIX exporters (GET ipfix/exporters), read beside the status. */
  exporters?: ExporterStatus[];
  /** Why the exporters could not be read; the rest of the status may still be fine. */
  exportersError?: string;
  /** IOS XR routers (GET xr/routers), read beside the status. */
  routers?: XrRouter[];
  /** Why the routers could not be read (the XR receiver is off, say). */
  routersError?: string;
  /** INT switches (GET int/switches), read beside the status. */
  intSwitches?: IntSwitch[];
  /** Why the INT switches could not be read (the INT receiver is off, say). */
  intSwitchesError?: string;
  loading: boolean;
  /** The data source the status was read through; actions call the same one. */
  uid?: string;
  /** Reads the status now, without waiting for the next tick. */
  refresh?: () => void;
}

/**
 * Reads the backend's status resource for the data source with this uid and
 * reads it again every refreshMs while the component that uses it is mounted.
 */
export function useStatus(uid: string | undefined, refreshMs = STATUS_REFRESH_MS): StatusState {
  const [state, setState] = useState<Omit<StatusState, 'uid' | 'refresh'>>({ loading: Boolean(uid) });
  // The effect's reader, so refresh reads through the current uid and obeys
  // the same unmount guard as the timer.
  const reader = useRef<(() => void) | undefined>(undefined);

  useEffect(() => {
    if (!uid) {
      return;
    }
    let cancelled = false;
    const load = async () => {
      try {
        const ds = (await getDataSourceSrv().get({ uid })) as DataSource;
        // The exporters are their own resource: a collector without the
        // IPFIX receiver, or one that fails to list them, still has a status.
        // So are the XR routers and the INT switches.
        const [status, exporters, routers, intSwitches] = await Promise.all([
          ds.getStatus(),
          settle(ds.getExporters()),
          settle(ds.getXrRouters()),
          settle(ds.getIntSwitches()),
        ]);
        if (!cancelled) {
          setState({
            status,
            exporters: exporters.list,
            exportersError: exporters.error,
            routers: routers.list,
            routersError: routers.error,
            intSwitches: intSwitches.list,
            intSwitchesError: intSwitches.error,
            loading: false,
          });
        }
      } catch (err) {
        if (!cancelled) {
          setState((prev) => ({ ...prev, error: errorText(err), loading: false }));
        }
      }
    };
    reader.current = load;
    load();
    const timer = setInterval(load, refreshMs);
    return () => {
      cancelled = true;
      reader.current = undefined;
      clearInterval(timer);
    };
  }, [uid, refreshMs]);

  const refresh = useCallback(() => reader.current?.(), []);
  return { ...state, uid, refresh };
}

/** A list read beside the status: its answer, or why it failed. */
function settle<T>(p: Promise<T[]>): Promise<{ list?: T[]; error?: string }> {
  return p.then(
    (list) => ({ list, error: undefined }),
    (err) => ({ list: undefined, error: errorText(err) })
  );
}

/**
 * Asks the collector behind data source uid to cancel one device's stream
 * (the FTD protocol's collector-initiated cancellation). Rejects with
 * Grafana's fetch error, whose data holds the backend's {"error": ...}.
 */
export async function cancelDeviceStream(uid: string, id: string): Promise<void> {
  const ds = (await getDataSourceSrv().get({ uid })) as DataSource;
  // The panel shows the error beside the device; Grafana's toast would say it twice.
  await ds.postResource('devices/cancel', undefined, { params: { id }, showErrorAlert: false });
}
