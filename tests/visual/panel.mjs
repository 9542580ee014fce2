// Renders the network path panel with recorded path frames in Chromium, in
// the dark and light themes, compares each screenshot with its reference in
// panel-references/, and measures how long a live update of 500 flows x 5
// hops takes in the browser. See PANEL.md.
//
// VISUAL_UPDATE=1 writes the new screenshots as the references instead.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';
import { chromium } from 'playwright-core';

import base from './webpack.config.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const OUT = path.join(here, 'dist', 'panel');
const SHOTS = path.join(here, 'screenshots');
const REFS = path.join(here, 'panel-references');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ICONS = path.join(root, 'node_modules/@grafana/ui/dist/public/img/icons');
const INTER = '/usr/share/fonts/opentype/inter';
const SPINNER = path.join(here, 'spinner.svg');
const NOT_SHIPPED = [/\/public\/fonts\/roboto\//];
const STEP_MS = 20000;
const UPDATE = process.env.VISUAL_UPDATE === '1';

// A pixel differs when a channel moves by more than this (anti-aliasing
// wobble stays under it); a shot fails when more than MAX_DIFF of its pixels differ.
const CHANNEL_TOLERANCE = 24;
const MAX_DIFF = 0.001;

// The live measurement: one update a second, as a streaming query delivers.
const LIVE_UPDATES = Number(process.env.VISUAL_LIVE_UPDATES ?? 20);
const LIVE_INTERVAL_MS = 1000;
const BUDGET_MS = 16;
// The first updates run code V8 has not optimised yet (about 20 ms here,
// then 5 to 10 ms): they are reported apart and do not fail the run.
const WARMUP = 2;

const THEMES = ['dark', 'light'];
const SHOTS_PLAN = [
  { name: 'small', ready: '[data-testid="networkpath-row"]' },
  { name: 'small-queue', ready: '[data-testid="networkpath-row"]' },
  { name: 'picked', ready: '[data-testid="networkpath-row"]' },
  { name: 'large', height: 520, ready: '[data-testid="networkpath-row"]' },
  { name: 'empty', ready: 'text=No INT reports for these flows yet' },
  { name: 'error', ready: '[role="alert"]' },
  {
    // Hovering a path-change badge: the previous path in Grafana's tooltip.
    name: 'path-change-tooltip',
    view: 'small',
    ready: '[data-testid="networkpath-path-changed"]',
    act: (page) => page.hover('[data-testid="networkpath-path-changed"]'),
    page: true,
  },
];

// Production React, as in Grafana: development React's checks would make
// the render measurement several times slower than what users see.
// Not minified, which would only slow the build.
const config = {
  ...base,
  mode: 'production',
  optimization: { minimize: false },
  entry: { panel: './panel-harness.tsx' },
  output: { ...base.output, path: OUT },
};

function build() {
  return new Promise((resolve, reject) => {
    webpack(config, (err, stats) => {
      if (err) {
        reject(err);
      } else if (stats.hasErrors()) {
        reject(new Error(stats.toString({ all: false, errors: true })));
      } else {
        resolve();
      }
    });
  });
}

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.svg': 'image/svg+xml', '.otf': 'font/otf' };

function fileFor(urlPath) {
  if (urlPath === '/') {
    return path.join(here, 'panel.html');
  }
  const icons = '/public/build/img/icons/';
  if (urlPath === `${icons}unicons/spinner.svg`) {
    return SPINNER;
  }
  if (urlPath.startsWith(icons)) {
    return path.join(ICONS, urlPath.slice(icons.length));
  }
  const inter = urlPath.match(/^\/public\/fonts\/inter\/([\w-]+)\.woff2$/);
  if (inter) {
    return path.join(INTER, `${inter[1]}.otf`);
  }
  return path.join(OUT, urlPath);
}

function serve() {
  const server = http.createServer((req, res) => {
    const file = fileFor(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const inside = [here, ICONS, INTER, OUT].some((dir) => file.startsWith(dir + path.sep));
    if (!inside || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Compares two PNGs pixel by pixel in the browser (no PNG library in
 * node_modules): how many pixels differ, and a diff image with them in red.
 */
async function compare(page, refFile, newFile) {
  return page.evaluate(
    async ({ ref, got, tolerance }) => {
      const decode = async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const canvas = new OffscreenCanvas(bmp.width, bmp.height);
        const ctx = canvas.getContext('2d');
        ctx.drawImage(bmp, 0, 0);
        return { w: bmp.width, h: bmp.height, data: ctx.getImageData(0, 0, bmp.width, bmp.height).data };
      };
      const a = await decode(ref);
      const b = await decode(got);
      if (a.w !== b.w || a.h !== b.h) {
        return { sizeMismatch: `${a.w}x${a.h} vs ${b.w}x${b.h}`, differ: a.w * a.h, total: a.w * a.h };
      }
      const diff = new OffscreenCanvas(a.w, a.h);
      const dctx = diff.getContext('2d');
      const out = dctx.createImageData(a.w, a.h);
      let differ = 0;
      for (let i = 0; i < a.data.length; i += 4) {
        const d = Math.max(
          Math.abs(a.data[i] - b.data[i]),
          Math.abs(a.data[i + 1] - b.data[i + 1]),
          Math.abs(a.data[i + 2] - b.data[i + 2]),
          Math.abs(a.data[i + 3] - b.data[i + 3])
        );
        if (d > tolerance) {
          differ++;
          out.data.set([255, 0, 0, 255], i);
        } else {
          out.data.set([b.data[i], b.data[i + 1], b.data[i + 2], 60], i);
        }
      }
      dctx.putImageData(out, 0, 0);
      const blob = await diff.convertToBlob({ type: 'image/png' });
      const buf = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (let i = 0; i < buf.length; i += 0x8000) {
        s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
      }
      return { differ, total: a.w * a.h, diffPng: btoa(s) };
    },
    {
      ref: readFileSync(refFile).toString('base64'),
      got: readFileSync(newFile).toString('base64'),
      tolerance: CHANNEL_TOLERANCE,
    }
  );
}

function watch(page, tag, problems) {
  page.on('pageerror', (e) => problems.push(`${tag}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`${tag}: console: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !NOT_SHIPPED.some((re) => re.test(r.url()))) {
      problems.push(`${tag}: ${r.status()} ${r.url()}`);
    }
  });
}

async function main() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', path.join(here, 'panel.tsconfig.json')], {
    stdio: 'inherit',
  });
  await build();
  const server = await serve();
  const baseUrl = `http://127.0.0.1:${server.address().port}/`;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'netlens-panel-visual-'));
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(REFS, { recursive: true });

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--font-render-hinting=none',
    ],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    timezoneId: 'UTC',
  });
  const problems = [];
  const failures = [];
  const live = {};
  try {
    const comparer = await context.newPage();
    for (const theme of THEMES) {
      for (const shot of SHOTS_PLAN) {
        const page = await context.newPage();
        page.setDefaultTimeout(STEP_MS);
        const tag = `panel-${shot.name}-${theme}`;
        watch(page, tag, problems);
        const query = new URLSearchParams({
          view: shot.view ?? shot.name,
          theme,
          width: '1100',
          height: String(shot.height ?? 340),
        });
        await page.goto(`${baseUrl}?${query}`);
        await page.waitForFunction(() => window.__ready === true);
        await page.waitForSelector(shot.ready);
        if (shot.act) {
          await shot.act(page);
        }
        await page.waitForLoadState('networkidle');
        await page.waitForTimeout(400);
        const file = path.join(SHOTS, `${tag}.png`);
        if (shot.page) {
          await page.screenshot({ path: file, clip: { x: 0, y: 0, width: 1140, height: 380 } });
        } else {
          await page.locator('#shot').screenshot({ path: file });
        }
        await page.close();
        const ref = path.join(REFS, `${tag}.png`);
        if (UPDATE) {
          copyFileSync(file, ref);
          console.log(`reference ${path.relative(root, ref)}`);
          continue;
        }
        if (!existsSync(ref)) {
          failures.push(`${tag}: no reference (run with VISUAL_UPDATE=1 and look at it before committing)`);
          continue;
        }
        const r = await compare(comparer, ref, file);
        const share = r.differ / r.total;
        const diffFile = path.join(SHOTS, `${tag}-diff.png`);
        if (r.diffPng) {
          writeFileSync(diffFile, Buffer.from(r.diffPng, 'base64'));
        }
        const line = `${tag}: ${r.differ} of ${r.total} pixels differ (${(share * 100).toFixed(3)}%)`;
        if (r.sizeMismatch || share > MAX_DIFF) {
          failures.push(
            `${line}${r.sizeMismatch ? `, size ${r.sizeMismatch}` : ''}; see ${path.relative(root, diffFile)}`
          );
        }
        console.log(line);
      }

      // Live: 500 flows x 5 hops, a new frame every second, scrolled to the
      // middle halfway through.
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_MS + LIVE_UPDATES * LIVE_INTERVAL_MS * 2);
      const tag = `panel-live-${theme}`;
      watch(page, tag, problems);
      await page.goto(`${baseUrl}?${new URLSearchParams({ view: 'live', theme, width: '1100', height: '700' })}`);
      await page.waitForFunction(() => window.__ready === true);
      await page.waitForSelector('[data-testid="networkpath-row"]');
      const stats = await page.evaluate(({ n, ms }) => window.__live.run(n, ms, 64 * 240), {
        n: LIVE_UPDATES,
        ms: LIVE_INTERVAL_MS,
      });
      const scrollTop = await page.locator('[data-testid="networkpath-scroller"]').evaluate((el) => el.scrollTop);
      await page.close();
      live[theme] = stats;
      const f = (x) => x.toFixed(2);
      const show = (x) => `p50 ${f(x.p50)}, p95 ${f(x.p95)}, max ${f(x.max)} (${x.over16} at or over ${BUDGET_MS} ms)`;
      const warm = stats.samples.slice(0, WARMUP);
      const steady = stats.samples.slice(WARMUP);
      const steadyMax = Math.max(...steady);
      const over = steady.filter((x) => x >= BUDGET_MS).length;
      console.log(
        `${tag}: ${stats.updates} updates of 500 flows x 5 hops; frame to commit+style+layout ms: ${show(stats.total)}; frame to commit ms: ${show(stats.commit)}; first ${WARMUP} (warm-up): ${warm.map(f).join(', ')}; after them max ${f(steadyMax)}; scrollTop kept ${scrollTop}`
      );
      if (over > 0) {
        failures.push(
          `${tag}: ${over} of ${steady.length} updates after the warm-up took ${BUDGET_MS} ms or more (max ${f(steadyMax)} ms)`
        );
      }
      if (scrollTop !== 64 * 240) {
        failures.push(`${tag}: scroll position not kept across updates (${scrollTop}, want ${64 * 240})`);
      }
    }
    await comparer.close();
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  writeFileSync(path.join(SHOTS, 'panel-live.json'), JSON.stringify(live, null, 2));
  const all = [...problems, ...failures];
  if (all.length > 0) {
    console.error(`\n${all.length} problem(s):\n${all.join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
