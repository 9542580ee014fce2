import React, { useState } from 'react';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { catalogHandler, fakeDataSource } from '../../testing/fakeDataSource';
import { NetlensVariableQuery } from '../../types';
import { VariableQueryEditor } from './VariableQueryEditor';

function renderEditor(initial: Partial<NetlensVariableQuery>) {
  const { ds, calls } = fakeDataSource(catalogHandler);
  const changes: NetlensVariableQuery[] = [];
  function Harness() {
    const [query, setQuery] = useState({ refId: 'V', ...initial } as NetlensVariableQuery);
    return (
      <VariableQueryEditor
        datasource={ds}
        query={query}
        onRunQuery={() => {}}
        onChange={(q) => {
          changes.push(q);
          setQuery(q);
        }}
      />
    );
  }
  render(<Harness />);
  return { changes, calls };
}

describe('VariableQueryEditor', () => {
  it('asks for a label and an optional metric when listing label values', async () => {
    const { changes } = renderEditor({ type: 'devices' });
    expect(screen.queryByRole('textbox', { name: 'Label' })).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('combobox', { name: 'Query type' }));
    await userEvent.click(await screen.findByRole('option', { name: /^Label values/ }));
    expect(changes[changes.length - 1].type).toBe('labelValues');

    await userEvent.type(screen.getByRole('textbox', { name: 'Label' }), 'interface');
    await userEvent.type(screen.getByRole('textbox', { name: 'Metric' }), '$metric');
    await userEvent.tab();
    expect(changes[changes.length - 1]).toEqual({
      refId: 'V',
      type: 'labelValues',
      label: 'interface',
      metric: '$metric',
    });
  });

  it('offers a family filter for metric names only', async () => {
    const { changes } = renderEditor({ type: 'metrics' });
    await userEvent.type(screen.getByRole('textbox', { name: 'Family' }), 'cpu');
    await userEvent.tab();
    expect(changes[changes.length - 1]).toEqual({ refId: 'V', type: 'metrics', family: 'cpu' });
    expect(screen.queryByRole('textbox', { name: 'Label' })).not.toBeInTheDocument();
  });

  it('lists the values of a flow record field, in the shape of the records contract', async () => {
    const { changes, calls } = renderEditor({ type: 'devices' });
    await userEvent.click(screen.getByRole('combobox', { name: 'Query type' }));
    await userEvent.click(await screen.findByRole('option', { name: /^Flow record values/ }));
    expect(changes[changes.length - 1]).toMatchObject({
      type: 'recordValues',
      kind: 'records',
      recordKind: 'ipfix_flow',
    });

    // Field names come from the record store.
    await waitFor(() => expect(calls.some((c) => c.path === 'records/fields')).toBe(true));
    await userEvent.click(screen.getByRole('combobox', { name: 'Field' }));
    await userEvent.click(await screen.findByRole('option', { name: /^exporter/ }));
    expect(changes[changes.length - 1]).toEqual({
      refId: 'V',
      type: 'recordValues',
      kind: 'records',
      recordKind: 'ipfix_flow',
      field: 'exporter',
    });
  });

  it('opens a contract records query that has no type on its field', () => {
    renderEditor({ kind: 'records', recordKind: 'ipfix_flow', field: 'src_addr' } as Partial<NetlensVariableQuery>);
    expect(screen.getByRole('combobox', { name: 'Field' })).toHaveValue('src_addr');
  });

  it("lists INT flows with the contract's records query on int_report's flow column", async () => {
    const { changes } = renderEditor({ type: 'devices' });
    await userEvent.click(screen.getByRole('combobox', { name: 'Query type' }));
    await userEvent.click(await screen.findByRole('option', { name: /^INT flows/ }));
    expect(changes[changes.length - 1]).toEqual({
      refId: 'V',
      type: 'intFlows',
      kind: 'records',
      recordKind: 'int_report',
      field: 'flow',
    });
    // Nothing else to choose: the field is the flow id.
    expect(screen.queryByRole('combobox', { name: 'Field' })).not.toBeInTheDocument();

    // INT switches carry none of the records fields.
    await userEvent.click(screen.getByRole('combobox', { name: 'Query type' }));
    await userEvent.click(await screen.findByRole('option', { name: /^INT switches/ }));
    expect(changes[changes.length - 1]).toEqual({ refId: 'V', type: 'intSwitches' });
  });

  it('opens the INT flows query of a provisioned dashboard, which has no type, as INT flows', () => {
    renderEditor({ kind: 'records', recordKind: 'int_report', field: 'flow' } as Partial<NetlensVariableQuery>);
    expect(screen.getByRole('combobox', { name: 'Query type' })).toHaveValue('INT flows');
  });

  it('opens record values of int_report saved as such as INT flows', () => {
    renderEditor({ type: 'recordValues', kind: 'records', recordKind: 'int_report', field: 'flow' });
    expect(screen.getByRole('combobox', { name: 'Query type' })).toHaveValue('INT flows');
  });
});
