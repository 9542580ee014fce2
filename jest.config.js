// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');

// d3-color 3.1.x (pulled in by @grafana/data) ships its ES module as .mjs,
// which the scaffold's transform pattern does not cover; run it through the
// same swc transform as everything else.
const swc = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  // Editor tests drive react-select menus through user-event in jsdom; on a
  // 2-core machine running suites side by side one such test takes seconds
  // (the slowest, an XR editor test, about 10 s idle). One timed out at 30 s
  // while the machine's load was around 15; 60 s keeps a slow machine from
  // failing a test that is not wrong.
  testTimeout: 60000,
  transform: {
    ...base.transform,
    '^.+\\.mjs$': swc,
  },
};
