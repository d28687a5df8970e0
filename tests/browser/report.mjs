// report.mjs — the HTML report of `nexus backtest`, opened in a real
// browser (Debian's chromium, driven by playwright-core): it renders with no
// console error or warning and no page error, draws what the statistics say
// (one exit marker and one table row per trade, the equity and drawdown
// curves, the monthly returns), and a screenshot is kept as the test's
// artefact.
//
//   node report.mjs NEXUS_BINARY CONFIG DATA.csv OUT_DIR
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [nexus, config, data, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node report.mjs NEXUS_BINARY CONFIG DATA.csv OUT_DIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const report = join(out, 'report.html'), stats = join(out, 'stats.json');
execFileSync(nexus, ['backtest', '--config', config, '--report', report, '--stats', stats, data],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env } });
const want = JSON.parse(readFileSync(stats, 'utf8')).sessions[0];

const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exitCode = 1; };
const browser = await chromium.launch({
  executablePath: process.env.NX_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) problems.push(`fetched ${r.url()}`); });
  await page.goto(`file://${report}`, { waitUntil: 'load' });
  const s1 = page.locator('#session-1');
  const exits = await s1.locator('circle.exit').count();
  const entries = await s1.locator('path.entry').count();
  const rows = await s1.locator('tr.trade').count();
  const points = (await s1.locator('svg.equity polyline').getAttribute('points')).trim().split(/\s+/).length;
  const months = await s1.locator('table.monthly td.up, table.monthly td.down').count();
  const shown = await s1.locator('table.stats').innerText();
  if (problems.length) fail(`the page said: ${problems.join(' | ')}`);
  if (want.trade_count < 100) fail(`only ${want.trade_count} trades: not the run expected`);
  if (exits !== want.trade_count) fail(`${exits} exit markers for ${want.trade_count} trades`);
  if (entries !== want.trade_count) fail(`${entries} entry markers for ${want.trade_count} trades`);
  if (rows !== Math.min(want.trade_count, 2000)) fail(`${rows} trade rows for ${want.trade_count} trades`);
  if (points !== want.equity.length) fail(`${points} equity points drawn, ${want.equity.length} in the statistics`);
  if (months < 5) fail(`${months} monthly returns for five months of data`);
  if (!shown.includes(want.final_equity)) fail(`the page does not show the final equity ${want.final_equity}`);
  if (!shown.includes(`${(want.total_return * 100).toFixed(2)}%`)) fail('the page does not show the return');
  await page.screenshot({ path: join(out, 'report.png'), fullPage: true });
  console.log(`report: ${exits} trades drawn, ${points} equity points, ${months} months; ` +
              `screenshot ${join(out, 'report.png')}`);
} finally {
  await browser.close();
}
