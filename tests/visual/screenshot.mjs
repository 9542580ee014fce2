// Renders the data source's editors in Chromium and writes one PNG per
// editor, theme and open menu to tests/visual/screenshots/. See README.md.
//
// The browser is the system's (Debian's chromium); playwright-core only
// drives it and never downloads one.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { build, here, launch, root, serve, SHOTS, trackRequests, watch } from './browser.mjs';
import config, { OUT_DIR } from './webpack.config.mjs';

// Every step of the run is bounded, so a hung page ends the script.
const STEP_MS = 15000;

const THEMES = ['dark', 'light'];

// VISUAL_ONLY=<regex> renders only the shots whose name matches, and keeps
// the other screenshots from earlier runs.
const ONLY = process.env.VISUAL_ONLY ? new RegExp(process.env.VISUAL_ONLY) : undefined;

/**
 * One screenshot each: the page (editor), what to do before the shot, and
 * whether the whole page is taken (menus open in a portal outside #shot).
 */
const SHOTS_PLAN = [
  { name: 'query-builder', editor: 'query-builder', ready: 'text=sum by (hostname, interface)' },
  {
    name: 'query-builder-metric-menu',
    editor: 'query-builder',
    ready: 'text=sum by (hostname, interface)',
    act: (page) => page.click('#netlens-ftd-metric-A'),
    menu: true,
  },
  {
    name: 'query-builder-value-menu',
    editor: 'query-builder',
    ready: 'text=sum by (hostname, interface)',
    act: (page) => page.click('#netlens-ftd-A-filter-1-value'),
    menu: true,
  },
  {
    name: 'query-builder-groupby-menu',
    editor: 'query-builder',
    ready: 'text=sum by (hostname, interface)',
    act: (page) => page.click('#netlens-ftd-groupby-A'),
    menu: true,
  },
  {
    name: 'query-builder-op-menu',
    editor: 'query-builder',
    ready: 'text=sum by (hostname, interface)',
    act: (page) => page.click('#netlens-ftd-A-filter-1-op'),
    menu: true,
  },
  {
    name: 'query-builder-source-menu',
    editor: 'query-builder',
    ready: 'text=sum by (hostname, interface)',
    act: (page) => page.getByLabel('Source').click(),
    menu: true,
  },
  {
    // A slow backend: the catalog fields show spinners, then their chevrons.
    name: 'query-builder-slow',
    editor: 'query-builder',
    latency: 800,
    ready: 'text=sum by (hostname, interface)',
    settle: 2000,
  },
  {
    name: 'query-builder-narrow',
    editor: 'query-builder',
    width: 640,
    ready: 'text=sum by (hostname, interface)',
  },
  { name: 'query-code', editor: 'query-code', ready: 'textarea[aria-label="PromQL"]' },
  {
    name: 'query-code-narrow',
    editor: 'query-code',
    width: 480,
    ready: 'textarea[aria-label="PromQL"]',
  },
  { name: 'query-new', editor: 'query-new', ready: 'text=choose a metric' },
  {
    name: 'query-no-fit',
    editor: 'query-no-fit',
    ready: 'textarea[aria-label="PromQL"]',
    act: (page) => page.getByRole('radio', { name: 'Builder' }).click(),
  },
  { name: 'query-xr', editor: 'query-xr', ready: 'text=is not received yet' },
  { name: 'query-events', editor: 'query-events', ready: 'text=device registry' },
  {
    name: 'query-events-types-menu',
    editor: 'query-events',
    ready: 'text=device registry',
    act: (page) => page.click('#netlens-events-types-Anno'),
    menu: true,
  },
  {
    name: 'query-events-value-menu',
    editor: 'query-events',
    ready: 'text=device registry',
    act: (page) => page.click('#netlens-events-Anno-filter-1-value'),
    menu: true,
  },
  { name: 'query-events-narrow', editor: 'query-events', width: 640, ready: 'text=device registry' },
  { name: 'query-events-new', editor: 'query-events-new', ready: 'text=device registry' },
  { name: 'query-catalog-error', editor: 'query-catalog-error', ready: 'text=series store unavailable' },
  { name: 'config', editor: 'config', ready: 'table[aria-label="Devices"]' },
  { name: 'config-trouble', editor: 'config-trouble', ready: 'text=No device has connected yet.' },
  { name: 'config-down', editor: 'config-down', ready: 'text=plugin unavailable' },
  {
    name: 'config-expanded',
    editor: 'config',
    ready: 'table[aria-label="Devices"]',
    act: async (page) => {
      for (const title of ['Counters', 'Store', 'Live streams']) {
        await page.getByRole('button', { name: title }).first().click();
      }
    },
  },
  {
    // An Admin asked to cancel the connected device's stream: the inline confirmation.
    name: 'config-cancel-confirm',
    editor: 'config',
    ready: 'table[aria-label="Devices"]',
    act: (page) => page.getByRole('button', { name: 'Cancel stream' }).click(),
  },
  {
    name: 'config-cancelling',
    editor: 'config-cancelling',
    ready: 'table[aria-label="Devices"]',
    act: async (page) => {
      await page.getByRole('button', { name: 'Cancel stream' }).click();
      await page.getByRole('button', { name: /^Stop; it retries/ }).click();
      await page.getByText('Cancelling…').waitFor();
    },
  },
  {
    name: 'config-cancel-error',
    editor: 'config-cancel-error',
    ready: 'table[aria-label="Devices"]',
    act: async (page) => {
      await page.getByRole('button', { name: 'Cancel stream' }).click();
      await page.getByRole('button', { name: /^Stop; it retries/ }).click();
      await page.getByText('did not acknowledge').waitFor();
    },
  },
  // A Viewer on the app's Receivers page: no action column.
  { name: 'config-viewer', editor: 'config', role: 'Viewer', ready: 'table[aria-label="Devices"]' },
  {
    name: 'config-devices-menu',
    editor: 'config',
    ready: 'table[aria-label="Devices"]',
    act: (page) => page.click('#netlens-devices'),
    menu: true,
  },
  { name: 'variable', editor: 'variable', ready: '#netlens-variable-type' },
  { name: 'variable-records', editor: 'variable-records', ready: '#netlens-variable-field' },
  { name: 'query-ipfix-series', editor: 'query-ipfix-series', ready: 'text=sum by (protocol)' },
  { name: 'query-records', editor: 'query-records', ready: 'text=top 10 by sum(bytes)' },
  {
    name: 'query-records-field-menu',
    editor: 'query-records',
    ready: 'text=top 10 by sum(bytes)',
    act: (page) => page.click('#netlens-records-A-filter-1-field'),
    menu: true,
  },
  {
    name: 'query-records-op-menu',
    editor: 'query-records',
    ready: 'text=top 10 by sum(bytes)',
    act: (page) => page.click('#netlens-records-A-filter-1-op'),
    menu: true,
  },
  {
    name: 'query-records-value-menu',
    editor: 'query-records',
    ready: 'text=top 10 by sum(bytes)',
    act: async (page) => {
      await page.click('#netlens-records-A-filter-2-value');
      await page.keyboard.type('4');
    },
    menu: true,
  },
  {
    name: 'query-records-func-menu',
    editor: 'query-records',
    ready: 'text=top 10 by sum(bytes)',
    act: (page) => page.click('#netlens-records-A-aggregate-1-func'),
    menu: true,
  },
  { name: 'query-records-narrow', editor: 'query-records', width: 640, ready: 'text=top 10 by sum(bytes)' },
  { name: 'query-records-raw', editor: 'query-records-raw', ready: 'text=newest first' },
  {
    // The volume query turned into flow records with one click: the defaults.
    name: 'query-records-new',
    editor: 'query-ipfix-series',
    ready: 'text=sum by (protocol)',
    act: (page) => page.getByRole('radio', { name: 'Flow records' }).click(),
  },
  {
    name: 'variable-type-menu',
    editor: 'variable',
    ready: '#netlens-variable-type',
    act: (page) => page.click('#netlens-variable-type'),
    menu: true,
  },
];

async function main() {
  await build(config);
  const server = await serve({ index: path.join(here, 'index.html'), outDir: OUT_DIR });
  const base = `http://127.0.0.1:${server.address().port}/`;
  if (!ONLY) {
    rmSync(SHOTS, { recursive: true, force: true });
  }
  mkdirSync(SHOTS, { recursive: true });

  const browser = await launch().catch((err) => {
    server.close();
    throw err;
  });
  const problems = [];
  try {
    for (const theme of THEMES) {
      for (const shot of SHOTS_PLAN.filter((s) => !ONLY || ONLY.test(s.name))) {
        const page = await browser.context.newPage();
        page.setDefaultTimeout(STEP_MS);
        const tag = `${shot.name}-${theme}`;
        watch(page, tag, problems);
        const requests = trackRequests(page);
        const query = new URLSearchParams({
          editor: shot.editor,
          theme,
          width: String(shot.width ?? 1100),
          latency: String(shot.latency ?? 50),
          role: shot.role ?? 'Admin',
        });
        await page.goto(`${base}?${query}`);
        await page.waitForSelector(shot.ready);
        if (shot.act) {
          await shot.act(page);
        }
        // Catalog answers, icons and menus' positioning settle in a few frames.
        await requests.idle();
        await page.waitForTimeout(shot.settle ?? 400);
        const file = path.join(SHOTS, `${tag}.png`);
        if (shot.menu) {
          await page.screenshot({ path: file, fullPage: true });
        } else {
          await page.locator('#shot').screenshot({ path: file });
        }
        console.log(`wrote ${path.relative(root, file)}`);
        await page.close();
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  if (problems.length > 0) {
    console.error(`\n${problems.length} problem(s) while rendering:\n${problems.join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
