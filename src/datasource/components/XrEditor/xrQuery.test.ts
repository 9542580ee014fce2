import { cadence, labelName, matchersAsFilters, selectionOf, stateColumns } from './xrQuery';

describe('labelName', () => {
  it('follows the contract: both spellings of a key give one label, reserved names get key_', () => {
    expect(labelName('InterfaceName')).toBe('interface_name');
    expect(labelName('interface-name')).toBe('interface_name');
    expect(labelName('NodeName')).toBe('node_name');
    expect(labelName('RAMMemory')).toBe('ram_memory');
    expect(labelName('Cisco-IOS-XR:name')).toBe('cisco_ios_xr_name');
    expect(labelName('Path')).toBe('key_path');
    expect(labelName('device')).toBe('key_device');
  });
});

describe('cadence', () => {
  it('says a group period in the unit it was likely written in', () => {
    expect(cadence(10)).toBe('every 10 s');
    expect(cadence(90)).toBe('every 90 s');
    expect(cadence(300)).toBe('every 5 min');
    expect(cadence(7200)).toBe('every 2 h');
    expect(cadence(0)).toBe('cadence not known');
  });
});

describe('matchersAsFilters', () => {
  it('keeps equality, turns plain alternations into in, and leaves real patterns out', () => {
    expect(
      matchersAsFilters([
        { label: 'interface_name', op: '=', value: 'Gi0/0/0/1' },
        { label: 'interface_name', op: '!~', value: 'Bundle-Ether10|Bundle-Ether20' },
        { label: 'node_name', op: '=~', value: '0/RP.*' },
      ])
    ).toEqual([
      { field: 'interface_name', op: '=', values: ['Gi0/0/0/1'] },
      { field: 'interface_name', op: 'not in', values: ['Bundle-Ether10', 'Bundle-Ether20'] },
    ]);
  });
});

describe('selectionOf', () => {
  it('reads router and path from equality matchers only: a regex names no one router', () => {
    expect(
      selectionOf({
        kind: 'series',
        metric: 'xr_summary_ram_memory',
        matchers: [
          { label: 'device', op: '=~', value: 'xr-.*' },
          { label: 'path', op: '=', value: 'RootOper.MemorySummary.Node(*).Summary' },
        ],
      })
    ).toEqual({ device: undefined, path: 'RootOper.MemorySummary.Node(*).Summary', metric: 'xr_summary_ram_memory' });
  });
});

describe('stateColumns', () => {
  it('lists time, the router unless one is chosen, the keys as xr_state names them, and the value', () => {
    expect(stateColumns({}, ['interface_name'])).toEqual(['time', 'device', 'interface_name', 'value']);
    expect(stateColumns({ device: 'xr-core-1' }, ['instance_name', 'neighbor_address'])).toEqual([
      'time',
      'instance_name',
      'neighbor_address',
      'value',
    ]);
    // The mapper prefixes a key that would take one of the table's own column names.
    expect(stateColumns({ device: 'r' }, ['name', 'value'])).toEqual(['time', 'name', 'key_value', 'value']);
  });
});
