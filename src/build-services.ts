import type { Config } from './config/schema.ts';
import { createLogger, type Logger } from './core/log.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { SecretBox } from './core/secret-box.ts';
import { LowdbStore } from './store/lowdb-store.ts';
import { openStore } from './open-store.ts';
import { loadSecretKey } from './config/secret-key.ts';
import { warnIfConfigFileExposed } from './config/config-file-exposure.ts';
import { LocalDirectory } from './directory/local-directory.ts';
import { localUsers } from './directory/local-users.ts';
import type { Directory } from './directory/directory.ts';
import { UserLookup } from './directory/user-lookup.ts';
import { DirectoryHealth } from './directory/directory-health.ts';
import { SessionService } from './session/session-service.ts';
import { AdminLogouts } from './session/admin-logouts.ts';
import { StartLimiter } from './regulation/start-limiter.ts';
import { Regulator } from './regulation/regulator.ts';
import { TransactionStore } from './login/transaction.ts';
import { LoginInteraction } from './login/interaction.ts';
import { FamiliarBrowsers } from './login/familiar-browsers.ts';
import { FamiliarDevices } from './regulation/familiar-devices.ts';
import { CookieJar } from './http/cookies.ts';
import { Csrf } from './http/csrf.ts';
import { BrowserBinding } from './http/browser-binding.ts';
import { signingKeys } from './keys/signing-keys.ts';
import { buildPolicies, checkConfiguredPolicies } from './policy/build-policies.ts';
import { warnOfRefusedPolicies } from './policy/stored-policy-check.ts';
import { buildMfa } from './mfa/build-mfa.ts';
import type { Services } from './services.ts';
import type { Store } from './store/store.ts';

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
}

/** The composition root: builds every implementation once and passes them down. */
export async function buildServices(config: Config, options: BuildOptions = {}): Promise<Services & { secretKeyGeneratedAt?: string }> {
  const logger = options.logger ?? createLogger(config.log.level);
  const clock = options.clock ?? systemClock;
  warnIfConfigFileExposed(config, logger);
  const dataIsFresh = LowdbStore.isFresh(config.dataDir);
  const { key, generatedAt } = loadSecretKey(config, { dataIsFresh, warnings: logger });
  const box = new SecretBox(key);
  const store = await openStore(config, box, clock, { logger });
  const keys = signingKeys(store, box, clock, config.server.publicUrl);
  const directory = await createDirectory(config, store, logger, clock);
  const cookies = new CookieJar(config.server.publicUrl);
  const browserBinding = new BrowserBinding(cookies, config.server.publicUrl);
  const csrf = new Csrf(box, browserBinding, config.server.publicUrl);
  const sessions = new SessionService(store.kv, config.session, clock, cookies);
  const regulator = new Regulator(store.kv, config.regulation, clock);
  const { policies, networks } = buildPolicies(config, store, clock);
  await checkConfiguredPolicies(config, policies);
  await warnOfRefusedPolicies(policies, logger);
  const mfa = buildMfa(config, store, box, clock, regulator);
  const users = new UserLookup(directory, () => clock.now());
  const devices = new FamiliarDevices(box, cookies, clock);
  const familiarBrowsers = new FamiliarBrowsers(regulator, devices, sessions);
  const interaction = new LoginInteraction({ transactions: new TransactionStore(store.kv, clock), sessions, familiarBrowsers, csrf, browserBinding, clock, audit: store.audit, policies, networks, mfa: mfa.registry, enrollmentNetworks: config.mfa.enrollment.networks, users, newPasswordRules: directory.newPasswordRules, messages: config.messages, starts: new StartLimiter(config.regulation.signInStartsPerIpPerMinute, clock) });
  await keys.ensure();
  const directoryHealth = await createDirectoryHealth(config, logger, directory);
  return { config, logger, clock, box, store, directory, directoryHealth, users, sessions, adminLogouts: new AdminLogouts(store.kv, sessions), regulator, devices, interaction, cookies, csrf, browserBinding, keys, policies, networks, mfa, secretKeyGeneratedAt: generatedAt };
}

/** The periodic check of an LDAP directory's servers (none for the local directory). */
async function createDirectoryHealth(config: Config, logger: Logger, directory: Directory): Promise<DirectoryHealth | undefined> {
  if (config.directory.kind !== 'ldap') return undefined;
  const ldap = config.directory;
  const [{ diagnoseLdap }, { LdapConnector }, { LdapDirectory }] = await Promise.all([import('./directory/ldap-diagnose.ts'), import('./directory/ldap-connector.ts'), import('./directory/ldap-directory.ts')]);
  const ldapLogger = logger.child({ component: 'ldap' });
  // The sign-ins' connector, for every run: a server's refusal of the service password is then not sent again before its back-off ends, by either.
  const connector = directory instanceof LdapDirectory ? directory.connector : new LdapConnector(ldap, ldapLogger);
  return new DirectoryHealth(() => diagnoseLdap(ldap, { logger: ldapLogger, connector }), ldapLogger, ldap.healthCheckSeconds);
}

/** Also used by CLI commands that need to look users up (policy explain). */
export async function createDirectory(config: Config, store: Store, logger: Logger, clock: Clock): Promise<Directory> {
  if (config.directory.kind === 'local') return new LocalDirectory(localUsers(store), config.directory, clock);
  // Loaded only when configured, so the embedded default does not pull in the LDAP client.
  const { LdapDirectory } = await import('./directory/ldap-directory.ts');
  return new LdapDirectory(config.directory, { logger: logger.child({ component: 'ldap' }), now: () => clock.now() });
}
