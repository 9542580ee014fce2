import CopyWebpackPlugin from 'copy-webpack-plugin';
import fs from 'fs';
import path from 'path';
import type { Configuration } from 'webpack';
import { merge } from 'webpack-merge';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config.ts';

// create-plugin copies only the root plugin.json's logos and screenshots; the
// nested data source's plugin.json names its own, which Grafana and the
// plugin validator look for beside it, so they are copied here.
function nestedAssets(): Array<{ from: string; to: string }> {
  const nested = ['datasource'];
  return nested.flatMap((dir) => {
    const json = JSON.parse(fs.readFileSync(path.resolve(process.cwd(), 'src', dir, 'plugin.json'), 'utf8'));
    const files = new Set<string>([json.info?.logos?.small, json.info?.logos?.large].filter(Boolean));
    for (const s of json.info?.screenshots ?? []) {
      files.add(s.path);
    }
    return [...files].map((f) => ({ from: `${dir}/${f}`, to: `${dir}/${f}` }));
  });
}

const config = async (env: Env): Promise<Configuration> => {
  const baseConfig = await grafanaConfig(env);
  return merge(baseConfig, {
    plugins: [new CopyWebpackPlugin({ patterns: nestedAssets() })],
  });
};

export default config;
