/** `policy explain`: the sign-in's decisions for one user, application and client IP, as a sign-in would make them, with why. */
import { isIP } from 'node:net';
import type { CliCommand, CliContext, ParsedArgs } from '../command.ts';
import { stringOption, UsageError } from '../command.ts';
import type { Protocol, RequestedAuthnContext, User } from '../../core/types.ts';
import type { AccountState, Directory } from '../../directory/directory.ts';
import { ERROR_CATALOGUE } from '../../core/errors.ts';
import { passwordStepAnswer, type PasswordStepAnswer } from '../../login/password-step-answer.ts';
import type { FlowStep } from '../../login/flow.ts';
import { nextStep } from '../../login/flow.ts';
import { decide } from '../../policy/policy-engine.ts';
import { explainDecision, explainUnsatisfiableRequest } from '../../policy/explain.ts';
import { terminalSafe } from '../../core/terminal-text.ts';
import { isKnownAcr, isSatisfiable, resolveAcr } from '../../policy/requested-context.ts';
import { SP_COLLECTION, type ServiceProviderRecord } from '../../saml/sp-types.ts';
import { OIDC_CLIENTS, type OidcClientRecord } from '../../oidc/client-registry.ts';
import { withDirectory } from '../with-directory.ts';
import { unknownPolicy } from '../named-policy.ts';

/** A relying party by SAML entityID or OIDC client_id, as far as a sign-in's decisions care. */
async function findApp(context: CliContext, id: string): Promise<{ protocol: Protocol; name: string; policy?: string; allowPasswordChange: boolean } | undefined> {
  const store = await context.store();
  const sp = await store.collection<ServiceProviderRecord>(SP_COLLECTION).get(id);
  if (sp) return { protocol: 'saml', name: sp.name, policy: sp.settings.policy, allowPasswordChange: sp.settings.allowPasswordChange };
  const client = await store.collection<OidcClientRecord>(OIDC_CLIENTS).get(id);
  return client ? { protocol: 'oidc', name: client.name, policy: client.policy, allowPasswordChange: client.allowPasswordChange } : undefined;
}

/** An account state as the `account` line of `policy explain` names it. */
const ACCOUNT_STATE_WORDS: Record<AccountState, string> = {
  disabled: 'disabled',
  locked: 'locked',
  expired: 'expired',
  'password-expired': 'password expired',
  'password-expired-no-grace': 'password expired',
  'must-change': 'must change its password',
};

/** What the password step does with an account after the right password; `said`: the user's words, quoted. */
interface PasswordStep {
  state: string;
  kind: PasswordStepAnswer['kind'];
  said: string;
}

/**
 * What the password step does with the account after the right password, as far as the directory
 * tells without one; undefined: it signs in. A directory that cannot name the state (LDAP) still
 * says whether it gives the account by its id, which it does not for a disabled or expired one.
 */
async function passwordStepFor(directory: Directory, user: User, allowPasswordChange: boolean): Promise<PasswordStep | undefined> {
  if (directory.stateWithoutPassword) {
    const state = await directory.stateWithoutPassword(user.id);
    if (!state) return undefined;
    const answer = passwordStepAnswer(state, allowPasswordChange);
    return { state: ACCOUNT_STATE_WORDS[state], kind: answer.kind, said: `"${answer.message}"` };
  }
  if (await directory.findUserById(user.id)) return undefined;
  const [disabled, expired] = (['disabled', 'expired'] as const).map((state) => `"${passwordStepAnswer(state, allowPasswordChange).message}"`);
  // ppolicy with pwdLockout answers a locked (so also a disabled) account before it checks the password.
  const said = `${disabled} or ${expired}; or "${ERROR_CATALOGUE.LOGIN_FAILED.message}" where ppolicy refuses the locked account before it checks the password`;
  return { state: 'disabled or expired', kind: 'refused', said };
}

function describePasswordStep({ state, kind, said }: PasswordStep): string {
  return kind === 'refused'
    ? `${state}: the password step refuses it, also with the right password (${said}); the policy below decides once it may sign in`
    : `${state}: the password step asks for a new password first (${said}), then the policy below decides`;
}

/** What the browser shows for a flow step: the same words for every template, so tests can compare. */
function describeStep(step: FlowStep): string {
  switch (step.kind) {
    case 'complete':
      return step.result.ok ? `signed in (acr ${step.result.acr}; amr ${step.result.amr.join(' ')})` : `the application gets the error ${step.result.error}`;
    case 'mfa-challenge':
      return `asked for a second factor (${step.methods.join(' or ')})`;
    case 'mfa-enroll':
      return `asked to set up a second factor (${step.methods.join(' or ')})`;
    case 'denied':
      return `access denied: "${terminalSafe(step.message)}"`;
    default:
      return `asked for ${step.kind}`;
  }
}

const COMPARISONS = ['exact', 'minimum', 'better', 'maximum'];

/** An alias (password, mfa), a level Stepgate knows, or a class URI an application may request. */
const acrProblem = (value: string) => (isKnownAcr(value) || /^(urn:|https?:\/\/)/.test(value) ? undefined : `--acr takes password, mfa or ACR URIs, not ${JSON.stringify(value)}`);

function requestedFrom(args: ParsedArgs): RequestedAuthnContext | undefined {
  const comparison = stringOption(args, 'comparison');
  if (comparison !== undefined && !COMPARISONS.includes(comparison)) throw new UsageError(`--comparison takes exact, minimum, better or maximum, not ${JSON.stringify(comparison)}`);
  const acr = stringOption(args, 'acr');
  if (acr === undefined) {
    // Without --acr these would be ignored while the output seemed to answer for them.
    if (comparison !== undefined || args.options.essential === true) throw new UsageError('--comparison and --essential need --acr');
    return undefined;
  }
  const values = acr.split(',').map((value) => value.trim());
  const problem = values.map(acrProblem).find((found) => found !== undefined);
  if (problem) throw new UsageError(problem);
  return { values: values.map(resolveAcr), comparison: (comparison ?? 'exact') as RequestedAuthnContext['comparison'], essential: args.options.essential === true };
}

/** OIDC acr_values and the acr claim are matched as given: a comparison is something only SAML can send. */
function checkComparison(requested: RequestedAuthnContext | undefined, protocol: Protocol, appId: string | undefined): void {
  if (protocol !== 'oidc' || !requested || requested.comparison === 'exact') return;
  const why = 'OIDC acr_values have no comparison (an OIDC request is always exact)';
  throw new UsageError(`--comparison ${requested.comparison}: ${appId ? `${appId} is an OIDC client, and ${why}` : `${why}; give --protocol saml to explain a SAML request`}`);
}

/** Without --app, what the sign-in's words call the application (decide's own default, in the browser's words too). */
const NO_APP_NAME = 'this application';

/** The options that describe the sign-in, checked before anything is looked up. */
function signInOptions(args: ParsedArgs): { ip?: string; mfaAgeSeconds?: number; protocol?: Protocol; requested?: RequestedAuthnContext } {
  const ip = stringOption(args, 'ip');
  if (ip !== undefined && isIP(ip) === 0) throw new UsageError(`--ip takes an IP address (203.0.113.7, 2001:db8::1), not ${JSON.stringify(ip)}`);
  const mfaAge = stringOption(args, 'mfa-age');
  if (mfaAge !== undefined && !/^\d+$/.test(mfaAge)) throw new UsageError(`--mfa-age takes a number of seconds (0 or more), not ${JSON.stringify(mfaAge)}`);
  const protocol = stringOption(args, 'protocol');
  if (protocol !== undefined && protocol !== 'saml' && protocol !== 'oidc') throw new UsageError(`--protocol takes saml or oidc, not ${JSON.stringify(protocol)}`);
  if (protocol !== undefined && stringOption(args, 'app') !== undefined) throw new UsageError("give --protocol with --policy only (with --app the application's own protocol is used)");
  return { ip, mfaAgeSeconds: mfaAge === undefined ? undefined : Number(mfaAge), protocol, requested: requestedFrom(args) };
}

export const explain: CliCommand = {
  name: 'policy explain',
  summary: 'show which rule decides for a user, an application and a client IP',
  help: `Usage: npm run cli -- policy explain --user alice (--app <entityID|client_id> | --policy NAME) [options]

Evaluates the access policy exactly as a sign-in would, right after a correct password, and prints
each rule up to the one that decided, the decision, and what the browser then shows. An account the
password step refuses even with the right password (disabled, expired, a password that must be
changed where the application does not allow it: with --policy, as for one that does not) gets an
"account" line saying so, and the browser line is that refusal; one that must choose a new password
first is told so before the policy decides. An LDAP directory tells only that an account is
disabled or expired (as SSO reuse and refresh see it), not a password to change.
  --ip ADDRESS          the client IP (without it: outside every trusted network and every
                        network of mfa.enrollment.networks)
  --mfa-age SECONDS     the session also has a second factor made this long ago
  --acr V[,V]           what the application requested (password, mfa or ACR URIs)
  --comparison C        exact (default), minimum, better or maximum (SAML only: OIDC has none)
  --essential           the request binds (OIDC essential acr claim; SAML always binds)
  --protocol saml|oidc  with --policy (default oidc)
Each value is checked (a policy that does not exist, an invalid IP ...): a wrong one is a usage error
(exit 2). A user or an application that is not there is told so, with exit 1.
Example: npm run cli -- policy explain --user alice --app https://sp.example.org --ip 203.0.113.7`,
  options: { user: 'string', app: 'string', policy: 'string', ip: 'string', 'mfa-age': 'string', acr: 'string', comparison: 'string', essential: 'flag', protocol: 'string' },
  arguments: [],
  async run(args, context) {
    const username = stringOption(args, 'user');
    const appId = stringOption(args, 'app');
    if (!username || (!appId && !stringOption(args, 'policy'))) throw new UsageError('--user and --app (or --policy) are required');
    // The application's own policy decides for it; a --policy beside it would be ignored while the output seemed to answer for it.
    if (appId && stringOption(args, 'policy')) throw new UsageError('give --app or --policy, not both (with --app the application\'s own policy is explained)');
    const signIn = signInOptions(args);
    const app = appId ? await findApp(context, appId) : undefined;
    if (appId && !app) {
      context.err(`No SAML service provider or OIDC client is registered as "${appId}".`);
      return 1;
    }
    const protocol: Protocol = app?.protocol ?? signIn.protocol ?? 'oidc';
    const { requested } = signIn;
    checkComparison(requested, protocol, appId);
    return withDirectory(context, async (directory) => {
      const user = await directory.findUser(username);
      if (!user) {
        context.err(`No user "${username}" in the ${context.config.directory.kind} directory.`);
        return 1;
      }
      // Without --app, an application that does not allow changing a password at sign-in (the default).
      const allowPasswordChange = app?.allowPasswordChange ?? false;
      const passwordStep = await passwordStepFor(directory, user, allowPasswordChange);
      const policies = await context.policies();
      const networks = await context.trustedNetworks();
      const named = stringOption(args, 'policy');
      const unknown = named === undefined ? undefined : await unknownPolicy(policies, named);
      if (unknown) throw new UsageError(`--policy: ${unknown}`);
      const policy = await policies.resolve(app ? app.policy : named);
      const mfa = await context.mfa();
      const now = context.clock.now();
      const factors = [{ method: 'pwd' as const, at: now }, ...(signIn.mfaAgeSeconds !== undefined ? [{ method: 'otp' as const, at: now - signIn.mfaAgeSeconds * 1000 }] : [])];
      const enrolledMethods = await mfa.registry.enrolledMethods(user);
      const ip = signIn.ip ?? 'unknown';
      const appName = app?.name ?? NO_APP_NAME;
      context.out(`user      ${terminalSafe(user.username)} (groups: ${user.groups.map((group) => terminalSafe(JSON.stringify(group))).join(', ') || 'none'}; second factors: ${enrolledMethods.join(', ') || 'none'})`);
      if (passwordStep) context.out(`account   ${describePasswordStep(passwordStep)}`);
      context.out(`app       ${app ? `${terminalSafe(app.name)} (${protocol} ${appId})` : '(none: --policy given)'}   client IP ${ip}`);
      if (protocol === 'saml' && requested && !isSatisfiable(requested)) {
        for (const line of explainUnsatisfiableRequest(policy, requested)) context.out(line);
        context.out('browser   the application gets the error unmet_authn_context, before any sign-in page');
        return 0;
      }
      const decided = decide({ policy, user, enrolledMethods, factors, network: { ip }, protocol, requested, now, appName }, networks);
      // A rule without methods lets the engine count every method the policy format knows; only the ones installed here can be asked for.
      const installed = decided.effect === 'step-up' ? decided.anyOf.filter((method) => mfa.registry.get(method)) : [];
      const decision = decided.effect === 'step-up' && installed.length ? { ...decided, anyOf: installed } : decided;
      for (const line of explainDecision(policy, decision, { user, enrolledMethods, ip, requested }, networks)) context.out(line);
      const session = { id: 'explain', user, createdAt: now, lastSeenAt: now, authTime: now, factors, participants: [] };
      const request = { protocol, rpId: appId ?? 'explain', rpName: appName, rp: { policy: policy.name, allowPasswordChange }, handoff: { finisher: 'explain', ref: '' }, forceAuthn: false, passive: false, requestedAuthnContext: requested };
      if (passwordStep?.kind === 'refused') {
        context.out(`browser   refused at the password step: ${passwordStep.said}`);
        return 0;
      }
      const step = nextStep({ id: 'explain', request, createdAt: now, passwordSessionId: session.id }, session, { now, policy, networks, ip, enrolledMethods, enrollableMethods: mfa.registry.enrollableMethods(), enrollmentNetworks: context.config.mfa.enrollment.networks });
      context.out(`browser   ${passwordStep ? 'asked for a new password, then ' : ''}${describeStep(step)}`);
      if (step.kind === 'denied' && step.outsideEnrollmentNetworks) context.out(`note      ${terminalSafe(user.username)} has no second factor, and ${ip} is outside mfa.enrollment.networks (${context.config.mfa.enrollment.networks?.join(', ')}), where a first one can be set up`);
      return 0;
    });
  },
};
