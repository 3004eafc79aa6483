import { spawnSync } from 'node:child_process';
import { ensureSystemDependencies } from './system-deps.ts';

/**
 * `npm test`: makes sure the real components the suite drives are installed, then runs every test
 * with Node's own runner. Extra arguments are passed on (e.g. a single file).
 */
if (!ensureSystemDependencies()) process.exit(1);

const files = process.argv.slice(2);
const args = [
  '--disable-warning=ExperimentalWarning',
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=2',
  '--test-timeout=240000',
  ...(files.length ? files : ['test/**/*.test.ts']),
];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
process.exit(result.status ?? 1);
