import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, Observable } from 'rxjs';
import { map } from 'rxjs/operators';

import { VariableQueryEditor } from './components/VariableQueryEditor/VariableQueryEditor';
import type { DataSource } from './datasource';
import { NetlensVariableQuery } from './types';

/**
 * Variable queries list what the collector has seen (devices, families,
 * metrics, label values) through the backend's catalog resources; they have
 * their own small editor rather than the panel query editor.
 */
export class NetlensVariableSupport extends CustomVariableSupport<DataSource, NetlensVariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<NetlensVariableQuery>): Observable<DataQueryResponse> {
    const target = request.targets[0];
    if (!target) {
      return from(Promise.resolve({ data: [] }));
    }
    return from(this.datasource.findVariableValues(target, request.range)).pipe(map((data) => ({ data })));
  }
}
