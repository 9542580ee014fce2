import React from 'react';
import { AppRootProps } from '@grafana/data';
import { TextLink } from '@grafana/ui';

export function App(_: AppRootProps) {
  return (
    <div>
      <h2>Netlens</h2>
      <p>
        Netlens receives network telemetry itself: Cisco FTD devices dial out to the Netlens data source&apos;s
        collector over gRPC with mutual TLS.
      </p>
      <p>
        Add a <TextLink href="connections/datasources/new">Netlens data source</TextLink> to query what arrived, and
        open its settings page to see the receivers&apos; status.
      </p>
    </div>
  );
}
