import { aggregateName, describeRecords, opsFor, validBucket, valuesFor } from './describe';
import { NetlensQuery } from '../../types';

const base: NetlensQuery = { refId: 'A', source: 'ipfix', kind: 'records', editorMode: 'builder' };

describe('opsFor', () => {
  it('offers prefixes on addresses, ranges and comparisons on numbers, equality on the rest', () => {
    expect(opsFor('addr')).toEqual(['=', '!=', 'in', 'not in', 'cidr', 'not cidr']);
    expect(opsFor('uint')).toEqual(['=', '!=', 'in', 'not in', 'range', '<', '<=', '>', '>=']);
    expect(opsFor('time')).toContain('range');
    expect(opsFor('string')).toEqual(['=', '!=', 'in', 'not in']);
    expect(opsFor('bool')).toEqual(['=', '!=']);
    // A field typed by hand, not arrived yet: every operator.
    expect(opsFor(undefined)).toHaveLength(11);
  });

  it('keeps one value when the operator takes one', () => {
    expect(valuesFor('=', ['a', 'b'])).toEqual(['a']);
    expect(valuesFor('not cidr', ['10.0.0.0/8', '192.168.0.0/16'])).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
  });
});

describe('describeRecords', () => {
  it('names aggregates as the backend names their columns', () => {
    expect(aggregateName({ func: 'count' })).toBe('count()');
    expect(aggregateName({ func: 'count', field: 'bytes' })).toBe('count()');
    expect(aggregateName({ func: 'p95', field: 'rtt' })).toBe('p95(rtt)');
  });

  it('reads an aggregate query in order: filters, aggregates, top N, bucket', () => {
    expect(
      describeRecords({
        ...base,
        filters: [
          { field: 'exporter', op: 'in', values: ['$exporter'] },
          { field: 'application', op: '=', values: ['web browsing'] },
        ],
        aggregates: [{ func: 'sum', field: 'bytes' }, { func: 'count' }],
        groupBy: ['src_addr', 'dst_addr'],
        topN: 10,
        other: true,
      })
    ).toBe(
      'ipfix_flow | where exporter in ($exporter) and application = "web browsing" | sum(bytes), count() by src_addr, dst_addr | top 10 by sum(bytes) + other | over the whole range'
    );
  });

  it('reads raw rows with their columns and limit', () => {
    expect(describeRecords({ ...base, columns: ['time', 'src_addr'], limit: 50 })).toBe(
      'ipfix_flow | rows: time, src_addr, newest first, at most 50'
    );
    expect(describeRecords(base)).toBe('ipfix_flow | rows: all columns, newest first');
  });
});

describe('validBucket', () => {
  it('takes the durations the backend reads, and variables', () => {
    for (const ok of ['1m', '30s', '1h30m', '1d', '2w', '$bucket', '${bucket}']) {
      expect(validBucket(ok)).toBe(true);
    }
    // Below a second the backend refuses a bucket.
    for (const bad of ['', '1', 'm', '1 m', '500ms', 'auto ']) {
      expect(validBucket(bad)).toBe(false);
    }
  });
});
