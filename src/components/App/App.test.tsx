import React from 'react';
import { AppRootProps } from '@grafana/data';
import { render, screen } from '@testing-library/react';

import { fakeDataSource, instanceSettings } from '../../datasource/testing/fakeDataSource';
import { StatusResponse } from '../../datasource/types';
import { App } from './App';

const STATUS: StatusResponse = {
  listeners: [{ name: 'ftd', network: 'tcp', address: ':50051', bound: '[::]:50051', since: '2026-11-25T07:00:00Z' }],
  devices: [],
  counters: {},
  settings: [],
};

const { ds } = fakeDataSource(() => STATUS);
let list = [instanceSettings()];

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ get: async () => ds, getList: () => list }),
}));

const props = {} as AppRootProps;

describe('App', () => {
  it('shows the receivers read through the Netlens data source', async () => {
    list = [instanceSettings()];
    render(<App {...props} />);
    expect(await screen.findByText('listening on [::]:50051')).toBeInTheDocument();
    expect(screen.getByText('No device has connected yet.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Data source settings/ })).toHaveAttribute(
      'href',
      '/connections/datasources/edit/netlens-test'
    );
  });

  it('points to adding a data source when there is none', () => {
    list = [];
    render(<App {...props} />);
    expect(screen.getByRole('link', { name: /Add a data source/ })).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });
});
