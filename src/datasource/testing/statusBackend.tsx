import React from 'react';

import { StatusPanel } from '../components/Status/StatusPanel';
import { useStatus } from '../components/Status/useStatus';
import { ListenerStatus, StatusResponse } from '../types';
import { fakeDataSource } from './fakeDataSource';

/** The FTD receiver's listener, bound: every status page test has one beside the receiver it is about. */
export const FTD_LISTENER: ListenerStatus = {
  name: 'ftd',
  network: 'tcp',
  address: ':50051',
  bound: '[::]:50051',
  since: '',
};

export { SLOW } from './combobox';

/** What the fake backend answers right now: the status itself and each receiver's list (or its failure). */
export interface StatusAnswers {
  status: Partial<StatusResponse>;
  /** By resource path ("int/switches"); an Error answers with failStatus and its message. */
  sections: Record<string, unknown[] | Error>;
}

/**
 * A data source answering the status page's requests from what read()
 * returns at the time of each request, so a test can change the answers
 * between renders. A path not in the answers fails the test's request.
 */
export function statusBackend(read: () => StatusAnswers, failStatus = 503) {
  return fakeDataSource((path) => {
    const { status, sections } = read();
    if (path === 'status') {
      return { devices: [], counters: {}, settings: [], ...status } as unknown as StatusResponse;
    }
    if (!(path in sections)) {
      throw new Error(`unexpected ${path}`);
    }
    const answer = sections[path];
    if (answer instanceof Error) {
      throw { status: failStatus, data: { error: answer.message } };
    }
    return answer;
  });
}

/** The status page as the app shows it, for the data source uid the fakes carry. */
export function StatusPage() {
  return <StatusPanel state={useStatus('netlens-test', 60_000)} />;
}
