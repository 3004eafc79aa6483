import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureSystemDependencies } from './system-deps.ts';

/**
 * `npm test`: makes sure the real components the suite drives are installed, type-checks the project
 * (Node runs the TypeScript without checking it), then runs every test with Node's own runner. Extra
 * arguments are passed on (e.g. a single file), and then the type check is left to `npm run typecheck`.
 */
if (!ensureSystemDependencies()) process.exit(1);

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stdout.write('Type check (tsc --noEmit)\n');
  const typecheck = spawnSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit' });
  if (typecheck.status !== 0) {
    process.stderr.write('The type check failed (above); no tests were run.\n');
    process.exit(1);
  }
}
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
