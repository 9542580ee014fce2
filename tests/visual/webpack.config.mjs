// Bundles the visual harness: React, @grafana/ui and the editors all go into
// one file (in Grafana they are shared by the host; here there is no host).
// The output stays under tests/visual/dist, away from the plugin's dist/
// (and, being a dist/, out of git and of eslint).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const OUT_DIR = path.join(here, 'dist');

// Inside Grafana the plugin shares the host's copy of these packages (see
// .config/bundler/externals.ts); npm gives the plugin and @grafana/ui their
// own @emotion/css, and two emotion caches order class names differently
// than Grafana does (a className passed to a @grafana/ui input would lose to
// the input's own styles here and win in Grafana). One copy, as in Grafana.
const UI_EMOTION = path.resolve(here, '../../node_modules/@grafana/ui/node_modules/@emotion/css');
const SHARED_EMOTION = existsSync(UI_EMOTION) ? UI_EMOTION : path.resolve(here, '../../node_modules/@emotion/css');

export default {
  mode: 'development',
  // No eval or source maps: the bundle is only rendered, never debugged, and
  // plain output builds faster.
  devtool: false,
  context: here,
  entry: { harness: './harness.tsx' },
  output: { path: OUT_DIR, filename: '[name].js', clean: true },
  resolve: {
    extensions: ['.ts', '.tsx', '.js', '.jsx', '.mjs'],
    // Packages' ES modules import siblings without extensions.
    fullySpecified: false,
    alias: { '@emotion/css': SHARED_EMOTION },
  },
  module: {
    rules: [
      {
        test: /\.m?js$/,
        resolve: { fullySpecified: false },
      },
      {
        test: /\.tsx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: {
            jsc: {
              target: 'es2022',
              parser: { syntax: 'typescript', tsx: true },
              transform: { react: { runtime: 'classic' } },
            },
          },
        },
      },
      { test: /\.css$/, use: ['style-loader', 'css-loader'] },
      { test: /\.(svg|png|woff2?)$/, type: 'asset/resource' },
    ],
  },
  performance: { hints: false },
  // Node polyfills are not needed by the editors; a package that reaches for
  // one gets an empty module rather than failing the build.
  node: false,
};
