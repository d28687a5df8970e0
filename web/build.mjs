// build.mjs — the dashboard's pages into dist/: our sources as they are,
// and TradingView's lightweight-charts (its standalone build, from npm).
// No bundler: three files of our own and one library file.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'vendor'), { recursive: true });
for (const f of readdirSync(join(here, 'src')))
  copyFileSync(join(here, 'src', f), join(dist, f));
copyFileSync(join(here, 'node_modules', 'lightweight-charts', 'dist',
  'lightweight-charts.standalone.production.js'), join(dist, 'vendor', 'lightweight-charts.js'));
console.log(`dashboard pages built in ${dist}`);
