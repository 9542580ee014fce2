import React, { useState } from 'react';
import { AppRootProps } from '@grafana/data';
import { getDataSourceSrv, PluginPage } from '@grafana/runtime';
import { LinkButton, RadioButtonGroup, Stack } from '@grafana/ui';

import { StatusPanel } from '../../datasource/components/Status/StatusPanel';
import { useStatus } from '../../datasource/components/Status/useStatus';

export const DATASOURCE_ID = 'netlens-telemetry-datasource';
export const FTD_DASHBOARD_UID = 'netlens-ftd-overview';
export const FLOWS_DASHBOARD_UID = 'netlens-flows-overview';

/**
 * The app's page: what Netlens is receiving right now, read from the
 * collector through one of its data sources (every Netlens data source talks
 * to the same plugin process, so any one shows the same receivers).
 */
export function App(_: AppRootProps) {
  const sources = getDataSourceSrv().getList({ pluginId: DATASOURCE_ID });
  const [uid, setUid] = useState<string | undefined>(sources[0]?.uid);
  const state = useStatus(uid);

  if (sources.length === 0) {
    return (
      <PluginPage>
        <p>
          Netlens receives network telemetry itself: Cisco FTD devices dial out to the collector inside the Netlens data
          source&apos;s backend over gRPC with mutual TLS, and IPFIX and NetFlow v9 exporters send it their flows over
          UDP or TCP.
        </p>
        <p>No Netlens data source exists yet: add one to query what arrives and to see the receivers here.</p>
        <LinkButton href="/connections/datasources/new" icon="plus">
          Add a data source
        </LinkButton>
      </PluginPage>
    );
  }

  return (
    <PluginPage>
      <Stack direction="column" gap={2}>
        <Stack direction="row" gap={2} alignItems="center">
          {sources.length > 1 && (
            <RadioButtonGroup
              options={sources.map((s) => ({ value: s.uid, label: s.name }))}
              value={uid}
              onChange={setUid}
            />
          )}
          <LinkButton variant="secondary" fill="text" icon="apps" href={`/d/${FTD_DASHBOARD_UID}`}>
            FTD overview dashboard
          </LinkButton>
          <LinkButton variant="secondary" fill="text" icon="apps" href={`/d/${FLOWS_DASHBOARD_UID}`}>
            Flows overview dashboard
          </LinkButton>
          <LinkButton variant="secondary" fill="text" icon="cog" href={`/connections/datasources/edit/${uid}`}>
            Data source settings
          </LinkButton>
        </Stack>
        <StatusPanel state={state} />
      </Stack>
    </PluginPage>
  );
}
