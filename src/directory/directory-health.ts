import type { Logger } from '../core/log.ts';
import type { DiagnoseStep } from './ldap-diagnose.ts';

/** One run: each server's connection, the service bind on each reachable one in order until one binds, then the base DNs there. */
export type HealthCheck = () => Promise<DiagnoseStep[]>;

/** What a run found, by server URL. */
export interface HealthReport {
  servers: Record<string, { ok: boolean; detail: string; ms: number }>;
  /**
   * The servers the service bind was tried on, in order: any that refused it, then the one that bound;
   * `warning` when that was the backup account (the server refuses bind.dn).
   */
  serviceBinds: Record<string, { ok: boolean; detail: string; warning?: string }>;
  /**
   * The configured base DNs, read on the server the service account bound to (none when no server
   * bound); `warning` when groups are visible there but none shows its members to the service account.
   */
  baseDns?: { ok: boolean; detail: string; warning?: string };
  /** Sign-ins can work: some server is reachable, the service account can bind there, and the base DNs exist. */
  usable: boolean;
}

/**
 * The periodic directory check admins of MFA servers expect: every `intervalSeconds` it connects to
 * each configured server, binds as the service account and reads the configured base DNs, so a
 * primary that went down or refuses the service account (sign-ins quietly moved to a backup server), a
 * main service account refused while the backup account still binds, an expired service password, a
 * dead network, a base DN that does not exist (mistyped, or its OU renamed) or group members the
 * service account may no longer read (every user in no group: a rule denying a group admits everyone)
 * shows in the log before users report it, or before nobody does. A run that finds a problem logs a
 * warning (or an error when no sign-in can work, or groups are hidden) every time; a healthy run logs
 * only when it is the first or something recovered.
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
    // each failed bind's detail names its server
    const refused = Object.values(report.serviceBinds).filter((bind) => !bind.ok).map((bind) => bind.detail);
    const passedOver = [...(down.length > 0 ? [`unreachable: ${down.join(', ')}`] : []), ...refused];
    const warnings = Object.values(report.serviceBinds).flatMap((bind) => (bind.warning ? [bind.warning] : []));
    const facts = { event: 'directory.health', usable: report.usable, servers: report.servers, serviceBinds: report.serviceBinds, baseDns: report.baseDns };
    const moved = passedOver.length > 0 ? [`${passedOver.join('; ')}; sign-ins use the next server`] : [];
    if (report.baseDns?.ok === false) {
      this.#logger.error(facts, `directory health: sign-ins cannot work: ${report.baseDns.detail}`);
    } else if (!report.usable) {
      this.#logger.error(facts, `directory health: sign-ins cannot work: ${down.length === Object.keys(report.servers).length ? 'no server is reachable' : passedOver.join('; ')}`);
    } else if (report.baseDns?.warning !== undefined) {
      this.#logger.error(facts, `directory health: every user is in no group, so a rule denying a group admits everyone: ${[report.baseDns.warning, ...moved, ...warnings].join('; ')}`);
    } else if (passedOver.length > 0 || warnings.length > 0) {
      this.#logger.warn(facts, `directory health: ${[...moved, ...warnings].join('; ')}`);
    } else if (!previous || !sameHealth(previous, report)) {
      this.#logger.info(facts, previous ? 'directory health: every server reachable again' : 'directory health: every server reachable, service bind works');
    }
  }
}

function toReport(steps: DiagnoseStep[]): HealthReport {
  const servers: HealthReport['servers'] = {};
  const serviceBinds: HealthReport['serviceBinds'] = {};
  let baseDns: HealthReport['baseDns'];
  for (const step of steps) {
    if (step.step === 'connect') servers[step.url] = { ok: step.ok, detail: step.detail, ms: step.ms };
    else if (step.step === 'service-bind') serviceBinds[step.url] = { ok: step.ok, detail: step.detail, ...(step.warning ? { warning: step.warning } : {}) };
    else if (step.step === 'base-dn') baseDns = { ok: step.ok, detail: step.detail, ...(step.warning ? { warning: step.warning } : {}) };
  }
  const usable = Object.values(serviceBinds).some((bind) => bind.ok) && baseDns?.ok !== false;
  return { servers, serviceBinds, ...(baseDns ? { baseDns } : {}), usable };
}

function sameHealth(a: HealthReport, b: HealthReport): boolean {
  const okByUrl = (byUrl: Record<string, { ok: boolean; warning?: string }>) => Object.entries(byUrl).map(([url, result]) => [url, result.ok, result.warning !== undefined]);
  const state = (report: HealthReport) => JSON.stringify([report.usable, okByUrl(report.servers), okByUrl(report.serviceBinds), report.baseDns?.ok, report.baseDns?.warning !== undefined]);
  return state(a) === state(b);
}
