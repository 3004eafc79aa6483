import type { Logger } from '../core/log.ts';
import type { DiagnoseStep } from './ldap-diagnose.ts';

/** One run: each server's connection, then the service bind on the first reachable one. */
export type HealthCheck = () => Promise<DiagnoseStep[]>;

/** What a run found, by server URL and for the service bind. */
export interface HealthReport {
  servers: Record<string, { ok: boolean; detail: string; ms: number }>;
  serviceBind?: { ok: boolean; detail: string };
  /** Sign-ins can work: some server is reachable and the service account can bind. */
  usable: boolean;
}

/**
 * The periodic directory check admins of MFA servers expect: every `intervalSeconds` it connects to
 * each configured server and binds as the service account, so a primary that went down (sign-ins
 * quietly moved to a backup), an expired service password or a dead network shows in the log before
 * users report it. A run that finds a problem logs a warning (or an error when no sign-in can work)
 * every time; a healthy run logs only when it is the first or something recovered.
 */
export class DirectoryHealth {
  readonly #check: HealthCheck;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #last: HealthReport | undefined;

  constructor(check: HealthCheck, logger: Logger, intervalSeconds: number) {
    this.#check = check;
    this.#logger = logger;
    this.#intervalMs = intervalSeconds * 1000;
  }

  /** Runs one check now, then every interval. */
  start(): void {
    if (this.#intervalMs === 0 || this.#timer) return;
    void this.run();
    this.#timer = setInterval(() => void this.run(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check, logged; overlapping runs (a slow timeout) are skipped. */
  async run(): Promise<HealthReport | undefined> {
    if (this.#running) return undefined;
    this.#running = true;
    try {
      const report = toReport(await this.#check());
      this.#log(report, this.#last);
      this.#last = report;
      return report;
    } catch (error) {
      this.#logger.error({ event: 'directory.health', err: error }, 'directory health check could not run');
      return undefined;
    } finally {
      this.#running = false;
    }
  }

  #log(report: HealthReport, previous: HealthReport | undefined): void {
    const down = Object.entries(report.servers).filter(([, server]) => !server.ok).map(([url]) => url);
    const facts = { event: 'directory.health', usable: report.usable, servers: report.servers, serviceBind: report.serviceBind };
    if (!report.usable) {
      this.#logger.error(facts, `directory health: sign-ins cannot work: ${down.length === Object.keys(report.servers).length ? 'no server is reachable' : String(report.serviceBind?.detail)}`);
    } else if (down.length > 0) {
      this.#logger.warn(facts, `directory health: unreachable: ${down.join(', ')}; sign-ins use the next server`);
    } else if (!previous || !sameHealth(previous, report)) {
      this.#logger.info(facts, previous ? 'directory health: every server reachable again' : 'directory health: every server reachable, service bind works');
    }
  }
}

function toReport(steps: DiagnoseStep[]): HealthReport {
  const servers: HealthReport['servers'] = {};
  let serviceBind: HealthReport['serviceBind'];
  for (const step of steps) {
    if (step.step === 'connect') servers[step.url] = { ok: step.ok, detail: step.detail, ms: step.ms };
    else if (step.step === 'service-bind') serviceBind = { ok: step.ok, detail: step.detail };
  }
  return { servers, serviceBind, usable: serviceBind?.ok === true };
}

function sameHealth(a: HealthReport, b: HealthReport): boolean {
  const state = (report: HealthReport) => JSON.stringify([report.usable, Object.entries(report.servers).map(([url, server]) => [url, server.ok])]);
  return state(a) === state(b);
}
