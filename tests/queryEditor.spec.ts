import { expect, test } from '@grafana/plugin-e2e';

test('query editor opens in builder mode with the FTD source', async ({ panelEditPage, readProvisionedDataSource }) => {
  const ds = await readProvisionedDataSource({ fileName: 'netlens.yaml' });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await expect(row.getByRole('combobox', { name: 'Metric' })).toBeVisible();
  await expect(row.getByText('Cisco FTD')).toBeVisible();
});

test('a code query runs and returns a response', async ({ panelEditPage, readProvisionedDataSource }) => {
  const ds = await readProvisionedDataSource({ fileName: 'netlens.yaml' });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await row.getByRole('radio', { name: 'Code' }).check({ force: true });
  const queryReq = panelEditPage.waitForQueryDataRequest();
  await row.getByRole('textbox', { name: 'PromQL' }).fill('up');
  await row.getByRole('textbox', { name: 'PromQL' }).blur();
  await expect(await queryReq).toBeTruthy();
});
