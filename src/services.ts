import type { Config } from './config/schema.ts';
import type { Logger } from './core/log.ts';
import type { Clock } from './core/clock.ts';
import type { SecretBox } from './core/secret-box.ts';
import type { Store } from './store/store.ts';
import type { Directory } from './directory/directory.ts';
import type { UserLookup } from './directory/user-lookup.ts';
import type { DirectoryHealth } from './directory/directory-health.ts';
import type { SessionService } from './session/session-service.ts';
import type { AdminLogouts } from './session/admin-logouts.ts';
import type { Regulator } from './regulation/regulator.ts';
import type { FamiliarDevices } from './regulation/familiar-devices.ts';
import type { LoginInteraction } from './login/interaction.ts';
import type { CookieJar } from './http/cookies.ts';
import type { Csrf } from './http/csrf.ts';
import type { BrowserBinding } from './http/browser-binding.ts';
import type { SigningKeys } from './keys/signing-keys.ts';
import type { PolicyStore } from './policy/policy-store.ts';
import type { TrustedNetworks } from './policy/networks.ts';
import type { MfaServices } from './mfa/build-mfa.ts';

/** Everything the HTTP layer uses, built once by the composition root (build-services.ts); the CLI builds what each command needs. */
export interface Services {
  config: Config;
  logger: Logger;
  clock: Clock;
  box: SecretBox;
  store: Store;
  directory: Directory;
  /** LDAP only: the periodic check of every configured server. */
  directoryHealth?: DirectoryHealth;
  /** The directory's current answer for a user id, reused for a few seconds (SSO reuse, OIDC tokens). */
  users: UserLookup;
  sessions: SessionService;
  adminLogouts: AdminLogouts;
  regulator: Regulator;
  /** The familiar-device cookies (sg_device) of sign-ins. */
  devices: FamiliarDevices;
  interaction: LoginInteraction;
  cookies: CookieJar;
  csrf: Csrf;
  /** Which browser a request comes from (sign-ins, SAML logout runs, CSRF tokens). */
  browserBinding: BrowserBinding;
  keys: SigningKeys;
  /** Read by no route (sign-ins get it from `interaction`): here so tests can change policies on a running server. */
  policies: PolicyStore;
  networks: TrustedNetworks;
  mfa: MfaServices;
}
