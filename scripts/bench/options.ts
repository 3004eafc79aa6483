/** Command-line flags of `npm run bench`. */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { SCENARIOS, type ScenarioName } from './driver/protocol.ts';
import { ID_TOKEN_ALGS } from '../../src/oidc/client-registry.ts';

export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];

export interface BenchOptions {
  /** Measured seconds per phase (after warm-up). */
  duration: number;
  warmup: number;
  concurrency: number[];
  scenarios: ScenarioName[];
  users: number;
  groups: number;
  sessions: number;
  /** A second OIDC run against a store with this many sessions (0: skip). */
  scaleSessions: number;
  /** Concurrency of that scale run. */
  scaleConcurrency: number;
  durability: boolean;
  /** Also run the OIDC flows against oidc-provider alone (the library floor) and the minimal server (the machine floor). */
  floor: boolean;
  /** Seconds each machine-limit measurement runs. */
  limitSeconds: number;
  workers: number;
  json?: string;
  /** Profile the IdP (--cpu-prof) during an extra OIDC phase and print the top functions. */
  profile: boolean;
  profileScenario: ScenarioName;
  /** Sign-ins per round of the per-request CPU breakdown (0: skip it). */
  stepFlows: number;
  stepRounds: number;
  /** The bench client's ID Token algorithm (its registration's `--id-token-alg`). */
  idTokenAlg: IdTokenAlg;
  logLevel: string;
  keep: boolean;
}

export const USAGE = `npm run bench -- [flags]

  --duration <s>          measured seconds per phase, after warm-up (default 10)
  --warmup <s>            warm-up seconds per phase (default 3)
  --concurrency <list>    e.g. 1,8,32 (default)
  --scenarios <list>      oidc,saml,refresh,sso (default: all)
  --users <n>             directory users, each with a TOTP enrollment (default 10000)
  --groups <n>            nested groups (default 200)
  --sessions <n>          pre-existing SSO sessions (default 10000)
  --scale-sessions <n>    repeat OIDC at --scale-concurrency with this many sessions (default 100000; 0 = skip)
  --scale-concurrency <n> (default 8)
  --no-durability         skip the kill -9 restart check
  --no-floor              skip the floors: the OIDC code flow and refresh grant against oidc-provider alone
                          and against the minimal server (LDAP search+bind, TOTP, one signature, nothing else)
  --limit-seconds <s>     seconds per machine-limit measurement (default 2)
  --workers <n>           load-driver threads (default: max(2, CPUs))
  --profile               also profile the IdP (--cpu-prof) during an extra phase at concurrency 8 and print the top functions
  --profile-scenario <s>  scenario of that phase (default oidc)
  --step-flows <n>        sign-ins per round of the per-request CPU breakdown of an OIDC sign-in (default 800; 0 = skip)
  --step-rounds <n>       rounds of that breakdown, the first one warming up (default 5)
  --id-token-alg <alg>    ID Token algorithm of the bench's OIDC client: RS256 (default) or ES256
  --json <path>           write the results as JSON
  --log-level <level>     IdP log level (default warn)
  --keep                  keep the temp directory (data, config, profiles)
`;

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}

function positive(name: string, value: string, allowZero = false): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || (!allowZero && number === 0)) throw new Error(`--${name}: expected a ${allowZero ? 'non-negative' : 'positive'} number, got "${value}"`);
  return number;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,8,32' },
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
      users: { type: 'string', default: '10000' },
      groups: { type: 'string', default: '200' },
      sessions: { type: 'string', default: '10000' },
      'scale-sessions': { type: 'string', default: '100000' },
      'scale-concurrency': { type: 'string', default: '8' },
      'no-durability': { type: 'boolean', default: false },
      'no-floor': { type: 'boolean', default: false },
      'limit-seconds': { type: 'string', default: '2' },
      workers: { type: 'string', default: String(Math.max(2, availableParallelism())) },
      profile: { type: 'boolean', default: false },
      'profile-scenario': { type: 'string', default: 'oidc' },
      'step-flows': { type: 'string', default: '800' },
      'step-rounds': { type: 'string', default: '5' },
      'id-token-alg': { type: 'string', default: 'RS256' },
      json: { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const scenarios = list(values.scenarios);
  const unknown = [...scenarios, values['profile-scenario']].filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length) throw new Error(`--scenarios: unknown ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  const idTokenAlg = values['id-token-alg'];
  if (!(ID_TOKEN_ALGS as readonly string[]).includes(idTokenAlg)) throw new Error(`--id-token-alg: expected one of ${ID_TOKEN_ALGS.join(', ')}, got "${idTokenAlg}"`);
  const options: BenchOptions = {
    duration: positive('duration', values.duration),
    warmup: positive('warmup', values.warmup, true),
    concurrency: list(values.concurrency).map((value) => Math.round(positive('concurrency', value))),
    scenarios: scenarios as ScenarioName[],
    users: Math.round(positive('users', values.users)),
    groups: Math.round(positive('groups', values.groups)),
    sessions: Math.round(positive('sessions', values.sessions)),
    scaleSessions: Math.round(positive('scale-sessions', values['scale-sessions'], true)),
    scaleConcurrency: Math.round(positive('scale-concurrency', values['scale-concurrency'])),
    durability: !values['no-durability'],
    floor: !values['no-floor'],
    limitSeconds: positive('limit-seconds', values['limit-seconds']),
    workers: Math.round(positive('workers', values.workers)),
    json: values.json,
    profile: values.profile,
    profileScenario: values['profile-scenario'] as ScenarioName,
    stepFlows: Math.round(positive('step-flows', values['step-flows'], true)),
    stepRounds: Math.round(positive('step-rounds', values['step-rounds'])),
    idTokenAlg: idTokenAlg as IdTokenAlg,
    logLevel: values['log-level'],
    keep: values.keep,
  };
  if (options.scenarios.includes('sso') && options.sessions < 1) throw new Error('--sessions: the sso scenario needs at least one session');
  return options;
}
