import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor/ConfigEditor';
import { QueryEditor } from './components/QueryEditor/QueryEditor';
import { DataSource } from './datasource';
import { NetlensOptions, NetlensQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, NetlensQuery, NetlensOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
