// What the visual scripts share (screenshot.mjs for the data source's
// editors, panel.mjs for the network path panel): the webpack build of a
// harness page, a file server on loopback that also stands in for the parts
// of Grafana's public/ the page asks for, Debian's Chromium driven by
// playwright-core, and the watch that turns page errors into problems.
//
// The browser is the system's (Debian's chromium); playwright-core only
// drives it and never downloads one.
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const SHOTS = path.join(here, 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ICONS = path.join(root, 'node_modules/@grafana/ui/dist/public/img/icons');
// Grafana serves Inter from its public/fonts; Debian's fonts-inter has the
// same faces as OpenType, which Chromium takes in place of the woff2 files.
const INTER = '/usr/share/fonts/opentype/inter';
// Grafana serves Roboto Mono from its own public/ and no npm package ships
// it: the browser falls back to the next monospace font.
const NOT_SHIPPED = [/\/public\/fonts\/roboto\//];
// Nor is the spinner icon shipped; a stand-in is served, since after a
// failed icon load the combobox drew no chevron either once loading ended.
const SPINNER = path.join(here, 'spinner.svg');

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.svg': 'image/svg+xml', '.otf': 'font/otf' };

/** Runs one webpack build; rejects with webpack's errors. */
export function build(config) {
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

/**
 * Serves the page `index` at / and the bundle in `outDir` on 127.0.0.1, on a
 * port the OS picks, with @grafana/ui's icons and Inter where Grafana has
 * them. Anything outside those folders is a 404.
 */
export function serve({ index, outDir }) {
  const fileFor = (urlPath) => {
    if (urlPath === '/') {
      return index;
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
    return path.join(outDir, urlPath);
  };
  const server = http.createServer((req, res) => {
    const file = fileFor(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const inside = [here, ICONS, INTER, outDir].some((dir) => file.startsWith(dir + path.sep));
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
 * Starts headless Chromium with a fresh profile (no network services, no
 * GPU, 1280x900 at scale 1, UTC). Returns the context and a close that also
 * removes the profile.
 */
export async function launch({ args = [] } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'netlens-visual-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
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
        ...args,
      ],
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 1,
      timezoneId: 'UTC',
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Records what goes wrong on a page (errors, console errors, failed loads) under its tag. */
export function watch(page, tag, problems) {
  page.on('pageerror', (e) => problems.push(`${tag}: page error: ${e.message}`));
  page.on('console', (m) => {
    // A failed load is reported below with its address.
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

/**
 * Counts a page's requests from now on. The returned idle() resolves once
 * none is in flight and none has started or ended for `quietMs`, and throws
 * after `timeoutMs`. Playwright's own 'networkidle' was seen to come over
 * 20 s late on a loaded machine with nothing in flight; this one goes by the
 * requests alone.
 */
export function trackRequests(page) {
  const open = new Set();
  let last = Date.now();
  const start = (r) => {
    open.add(r);
    last = Date.now();
  };
  const end = (r) => {
    open.delete(r);
    last = Date.now();
  };
  page.on('request', start);
  page.on('requestfinished', end);
  page.on('requestfailed', end);
  return {
    async idle(quietMs = 300, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      while (open.size > 0 || Date.now() - last < quietMs) {
        if (Date.now() > deadline) {
          throw new Error(
            `requests still in flight after ${timeoutMs} ms: ${[...open].map((r) => r.url()).join(', ')}`
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/**
 * Compares a screenshot with its reference, pixel by pixel, in the browser
 * (no PNG library is installed; the page decodes both). A pixel whose
 * channels all move by at most `tolerance` is the same. One that moves more
 * is still the same when it is anti-aliasing: its colour is found within one
 * pixel of it in the other image, and the other image's colour within one
 * pixel of it in this one (a glyph edge drawn a sub-pixel further, a hinting
 * change). Anything else differs: a changed colour, a glyph that is not
 * there, text that moved by more than a pixel.
 *
 * Returns how many pixels differ, how many were let through as
 * anti-aliasing, the box around the differing ones, and a diff image
 * (differing pixels red, anti-aliasing yellow, the rest the new shot faded).
 */
export async function compareImages(page, refFile, newFile, tolerance) {
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
        return { sizeMismatch: `${a.w}x${a.h} vs ${b.w}x${b.h}`, differ: a.w * a.h, antialiased: 0, total: a.w * a.h };
      }
      const { w, h } = a;
      const close = (p, i, q, j) =>
        Math.abs(p[i] - q[j]) <= tolerance &&
        Math.abs(p[i + 1] - q[j + 1]) <= tolerance &&
        Math.abs(p[i + 2] - q[j + 2]) <= tolerance &&
        Math.abs(p[i + 3] - q[j + 3]) <= tolerance;
      // Whether pixel (x, y) of p has its colour, give or take the
      // tolerance, within one pixel of (x, y) in q.
      const nearby = (p, q, x, y) => {
        const i = (y * w + x) * 4;
        for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) {
          for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
            if (close(p, i, q, (yy * w + xx) * 4)) {
              return true;
            }
          }
        }
        return false;
      };
      const diff = new OffscreenCanvas(w, h);
      const dctx = diff.getContext('2d');
      const out = dctx.createImageData(w, h);
      let differ = 0;
      let antialiased = 0;
      let box = null;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = (y * w + x) * 4;
          if (close(a.data, i, b.data, i)) {
            out.data.set([b.data[i], b.data[i + 1], b.data[i + 2], 60], i);
          } else if (nearby(a.data, b.data, x, y) && nearby(b.data, a.data, x, y)) {
            antialiased++;
            out.data.set([255, 200, 0, 255], i);
          } else {
            differ++;
            out.data.set([255, 0, 0, 255], i);
            box = box
              ? { x1: Math.min(box.x1, x), y1: Math.min(box.y1, y), x2: Math.max(box.x2, x), y2: Math.max(box.y2, y) }
              : { x1: x, y1: y, x2: x, y2: y };
          }
        }
      }
      dctx.putImageData(out, 0, 0);
      const blob = await diff.convertToBlob({ type: 'image/png' });
      const buf = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (let i = 0; i < buf.length; i += 0x8000) {
        s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
      }
      return { differ, antialiased, total: w * h, box, diffPng: btoa(s) };
    },
    {
      ref: readFileSync(refFile).toString('base64'),
      got: readFileSync(newFile).toString('base64'),
      tolerance,
    }
  );
}
