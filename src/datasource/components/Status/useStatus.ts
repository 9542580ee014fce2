import { useEffect, useState } from 'react';
import { getDataSourceSrv } from '@grafana/runtime';

import type { DataSource } from '../../datasource';
import { errorText } from '../../errors';
import { StatusResponse } from '../../types';

export const STATUS_REFRESH_MS = 5000;

export interface StatusState {
  status?: StatusResponse;
  error?: string;
  loading: boolean;
}

/**
 * Reads the backend's status resource for the data source with this uid and
 * reads it again every refreshMs while the component that uses it is mounted.
 */
export function useStatus(uid: string | undefined, refreshMs = STATUS_REFRESH_MS): StatusState {
  const [state, setState] = useState<StatusState>({ loading: Boolean(uid) });

  useEffect(() => {
    if (!uid) {
      return;
    }
    let cancelled = false;
    const load = async () => {
      try {
        const ds = (await getDataSourceSrv().get({ uid })) as DataSource;
        const status = await ds.getStatus();
        if (!cancelled) {
          setState({ status, loading: false });
        }
      } catch (err) {
        if (!cancelled) {
          setState((prev) => ({ status: prev.status, error: errorText(err), loading: false }));
        }
      }
    };
    load();
    const timer = setInterval(load, refreshMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [uid, refreshMs]);

  return state;
}
