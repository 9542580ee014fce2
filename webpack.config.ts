import CopyWebpackPlugin from 'copy-webpack-plugin';
import fs from 'fs';
import path from 'path';
import type { Configuration } from 'webpack';
import { merge } from 'webpack-merge';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config.ts';

const NESTED = ['datasource', 'panels/networkpath'];

function readPluginJson(dir: string) {
  return JSON.parse(fs.readFileSync(path.resolve(process.cwd(), 'src', dir, 'plugin.json'), 'utf8'));
}

// create-plugin copies only the root plugin.json's logos and screenshots; the
// nested plugins' plugin.json files (data source, panel) name their own, which Grafana and the
// plugin validator look for beside it, so they are copied here (a missing
// file fails the build).
function nestedAssets(): Array<{ from: string; to: string }> {
  return NESTED.flatMap((dir) => {
    const json = readPluginJson(dir);
    const files = new Set<string>([json.info?.logos?.small, json.info?.logos?.large].filter(Boolean));
    for (const s of json.info?.screenshots ?? []) {
      files.add(s.path);
    }
    return [...files].map((f) => ({ from: `${dir}/${f}`, to: `${dir}/${f}` }));
  });
}

// Every file the app's includes name (nested plugin.json, dashboards) is
// copied by create-plugin's **/*.json pattern only if it exists; a missing
// one would give a plugin Grafana loads without it, so the build stops.
function checkIncludes() {
  const missing = (readPluginJson('.').includes ?? [])
    .filter((inc: { type: string; path?: string }) => inc.type !== 'page' && inc.path)
    .map((inc: { path: string }) => inc.path)
    .filter((p: string) => !fs.existsSync(path.resolve(process.cwd(), 'src', p)));
  if (missing.length > 0) {
    throw new Error(`src/plugin.json includes files that do not exist under src/: ${missing.join(', ')}`);
  }
}

const config = async (env: Env): Promise<Configuration> => {
  checkIncludes();
  const baseConfig = await grafanaConfig(env);
  return merge(baseConfig, {
    plugins: [new CopyWebpackPlugin({ patterns: nestedAssets() })],
  });
};

export default config;
