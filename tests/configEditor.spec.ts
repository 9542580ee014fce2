import { expect, test } from '@grafana/plugin-e2e';

test('config editor shows the query settings and the receivers', async ({
  createDataSourceConfigPage,
  readProvisionedDataSource,
  page,
}) => {
  const ds = await readProvisionedDataSource({ fileName: 'netlens.yaml' });
  await createDataSourceConfigPage({ type: ds.type });
  await expect(page.getByRole('switch', { name: 'Live by default' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Listeners' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Process settings' })).toContainText('GF_PLUGIN_');
});

test('"Save & test" reaches the backend health check', async ({
  createDataSourceConfigPage,
  readProvisionedDataSource,
}) => {
  const ds = await readProvisionedDataSource({ fileName: 'netlens.yaml' });
  const configPage = await createDataSourceConfigPage({ type: ds.type });
  await expect(configPage.saveAndTest()).toBeOK();
});
