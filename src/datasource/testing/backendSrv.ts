import { CoreApp, DataQueryRequest, getDefaultTimeRange } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, setBackendSrv } from '@grafana/runtime';
import { lastValueFrom, of } from 'rxjs';

import type { DataSource } from '../datasource';
import { NetlensQuery } from '../types';

/**
 * Installs a backend service that keeps every request it is sent and
 * answers each with no results; returns the list the requests go to.
 */
export function recordRequests(): BackendSrvRequest[] {
  const sent: BackendSrvRequest[] = [];
  setBackendSrv({
    fetch: (r: BackendSrvRequest) => {
      sent.push(r);
      return of({ data: { results: {} }, status: 200, ok: true });
    },
  } as unknown as BackendSrv);
  return sent;
}

/** Runs targets through ds.query as a dashboard does, over the default range; more adds to the request. */
export function runAsDashboard(
  ds: DataSource,
  targets: NetlensQuery[],
  more: Partial<DataQueryRequest<NetlensQuery>> = {}
) {
  return lastValueFrom(
    ds.query({
      app: CoreApp.Dashboard,
      targets,
      range: getDefaultTimeRange(),
      scopedVars: {},
      ...more,
    } as unknown as DataQueryRequest<NetlensQuery>)
  );
}
