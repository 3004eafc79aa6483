import { isIP } from 'node:net';
import { z } from 'zod';
import { ldapDirectorySchema } from '../directory/ldap-config.ts';
import { isCidrLiteral, parseCidr } from '../core/ip-ranges.ts';
import { ANY_TRUSTED_NETWORK } from '../policy/networks.ts';
import { userMessagesSchema } from './user-messages.ts';
import { ID_TOKEN_MAX_GROUPS } from '../oidc/id-token-claims.ts';

/**
 * Durations are capped at a year: a larger one (say, hours typed as seconds) puts expiry times past
 * what a Date can hold, and SAML sign-ins then fail with a 500 instead of at start with the key named.
 */
const YEAR_SECONDS = 365 * 24 * 3600;
const seconds = () => z.number().int().positive().max(YEAR_SECONDS);

export const localDirectorySchema = z.object({
  kind: z.literal('local'),
  passwordRules: z
    .object({
      minLength: z.number().int().min(8).default(12),
      requireLetter: z.boolean().default(true),
      requireDigit: z.boolean().default(true),
      requireMixedCase: z.boolean().default(false),
      requireSpecial: z.boolean().default(false),
      /** Force a change after this many days; 0 = never. */
      maxAgeDays: z.number().int().min(0).default(0),
      expiryWarningDays: z.number().int().min(0).default(14),
    })
    .prefault({}),
});

const strictCidr = z.string().refine((value) => parseCidr(value) !== undefined, 'must be an IPv4 or IPv6 CIDR like 192.0.2.0/24 or 2001:db8::/32');
/**
 * A bad range (or spaces around one, which parseCidr would trim) must be refused here, naming its key,
 * not when the server starts. A /0 trusts every address, so any client could choose its own IP.
 */
const proxyCidr = z.string().superRefine((value, ctx) => {
  const cidr = value === value.trim() ? parseCidr(value) : undefined;
  if (!cidr) ctx.addIssue({ code: 'custom', message: 'must be an IPv4 or IPv6 CIDR like 10.0.0.0/8 or ::1/128' });
  else if (cidr[1] === 0) ctx.addIssue({ code: 'custom', message: 'must not be a /0 range: trusting every address as a proxy lets any client choose its IP through X-Forwarded-For' });
});

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Node listens on every interface for an empty host, which no one asks for by leaving a value out. */
const listenHost = z
  .string()
  .refine((value) => isIP(value) !== 0 || HOST_NAME.test(value), 'must be an IP address or a host name, e.g. 127.0.0.1, ::1, or 0.0.0.0 to listen on every interface (no brackets around IPv6 addresses)');

/**
 * The public URL is the OIDC issuer and the base of every SAML endpoint, form action, redirect and
 * cookie: all of them are root-relative, so a path in it would leave every page broken behind it.
 */
const publicUrl = z.string().superRefine((value, ctx) => {
  const problem = publicUrlProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

function publicUrlProblem(value: string): string | undefined {
  if (!URL.canParse(value) || value !== value.trim()) return 'must be an absolute http:// or https:// URL, e.g. https://idp.example.org';
  const url = new URL(value);
  if (!/^https?:$/.test(url.protocol)) return 'must be an http:// or https:// URL';
  if (url.username || url.password) return 'must have no user name or password';
  // The parser drops an empty "?" or "#", which would still end up in every URL built on it.
  if (value.includes('?') || value.includes('#')) return 'must have no query (?…) or fragment (#…)';
  // Checked on the text as typed: the parser turns "/./", "/%2e/" and backslashes into "/", and drops tabs.
  const path = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\\\s]+(.*)$/.exec(value)?.[1];
  if (path === undefined || !/^\/*$/.test(path)) {
    return `must have no path (found "${path ?? url.pathname}"): Stepgate must be served at the root of its host name, e.g. https://idp.example.org; a reverse proxy can map a host name of its own to it`;
  }
  return undefined;
}

/** SAML metadata types entityID as an absolute anyURI of at most 1024 characters; SPs key their trust on it. */
const entityId = z
  .string()
  .refine((value) => value.length <= 1024 && !/\s/.test(value) && /^[A-Za-z][A-Za-z0-9+.-]*:./.test(value) && URL.canParse(value), 'must be an absolute URI (at most 1024 characters, no spaces), e.g. https://idp.example.org/saml/metadata or urn:example:idp');

/** An empty value left in place of one to be filled in (a template, `VAR=`) must not stand for "not set". */
function nonEmpty(message: string) {
  return z.string().refine((value) => value.trim() !== '', message);
}

const totpSchema = z.object({
  /** Shown in the authenticator app next to the account name. */
  issuer: z
    .string()
    .min(1)
    .max(64)
    // Key URI Format: the label is "issuer:account", so apps would cut the name at a colon of its own.
    .refine((value) => !value.includes(':'), 'must not contain ":": authenticator apps read the first ":" as the end of the issuer name')
    .default('Stepgate'),
  digits: z.union([z.literal(6), z.literal(7), z.literal(8)], { error: 'must be 6, 7 or 8' }).default(6),
  periodSeconds: z.number().int().min(15).max(120).default(30),
  algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha1'),
  /** Codes from time steps within this many seconds of the server clock are accepted. */
  clockSkewSeconds: z.number().int().min(0).max(300).default(30),
  /** Wrong codes in a row that lock the user's second factor. */
  maxFailures: z.number().int().min(1).max(10).default(5),
  /** The lock lifts by itself after this long; null: only an administrator unlocks (`mfa unlock`). */
  autoUnlockMinutes: z.number().int().min(1).max(90 * 24 * 60).nullable().default(15),
  backupCodes: z.number().int().min(0).max(20).default(10),
});

/** A `trustedNetworks` name (checked against them in configSchema), `*` or a CIDR, as in a policy's `networks`. */
const networkReference = z.string().refine((value) => !isCidrLiteral(value) || parseCidr(value) !== undefined, 'is not a valid IPv4 or IPv6 CIDR');

const enrollmentSchema = z.object({
  /** Where a user's first second factor may be set up; unset: anywhere. */
  networks: z.array(networkReference).min(1, 'must name at least one network; leave the key out to allow setting up from anywhere').optional(),
});

export const configSchema = z.object({
  server: z
    .object({
      host: listenHost.default('127.0.0.1'),
      // Not 0: a random port would make the public URL (the OIDC issuer, the SAML entityID) end in :0.
      port: z.number({ error: 'must be a whole number from 1 to 65535' }).int('must be a whole number from 1 to 65535').min(1, 'must be a whole number from 1 to 65535').max(65535, 'must be a whole number from 1 to 65535').default(8080),
      /** The base URL users and relying parties see; also the OIDC issuer. Defaults to http://localhost:<port>. */
      publicUrl: publicUrl.optional(),
      /** Only requests from these proxies may set the client IP through X-Forwarded-For. */
      trustedProxies: z.array(proxyCidr).default([]),
    })
    .prefault({}),
  dataDir: nonEmpty('must not be empty: the folder Stepgate keeps its data in, e.g. ./data; leave the key out for the default').default('./data'),
  /** Key that encrypts secrets at rest. Base64 of 32 bytes, or a file holding it. */
  secretKey: nonEmpty('must not be empty (in the config file or STEPGATE_SECRET_KEY): give the base64 of 32 random bytes, or leave it out to use secretKeyFile or <dataDir>/secret.key').optional(),
  secretKeyFile: nonEmpty('must not be empty (in the config file or STEPGATE_SECRET_KEY_FILE): give the path of the file holding the key, or leave it out to use <dataDir>/secret.key').optional(),
  directory: z.discriminatedUnion('kind', [localDirectorySchema, ldapDirectorySchema]).prefault({ kind: 'local' }),
  session: z
    .object({
      cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default('sg_session'),
      idleTimeoutMinutes: z.number().int().positive().max(YEAR_SECONDS / 60).default(30),
      absoluteTimeoutHours: z.number().positive().max(YEAR_SECONDS / 3600).default(10),
    })
    .prefault({}),
  regulation: z
    .object({
      maxFailuresPerUser: z.number().int().positive().default(5),
      maxFailuresPerIp: z.number().int().positive().default(50),
      windowSeconds: seconds().default(300),
      lockoutSeconds: seconds().default(900),
      /** Sign-ins one client IP may start per minute (each is held in memory for 15 minutes). */
      signInStartsPerIpPerMinute: z.number().int().positive().default(600),
    })
    .prefault({}),
  saml: z
    .object({
      /** Defaults to <publicUrl>/saml/metadata. */
      entityId: entityId.optional(),
      clockSkewSeconds: z.number().int().min(0).max(600).default(120),
      requestMaxAgeSeconds: seconds().default(300),
      maxRequestBytes: z.number().int().positive().default(64 * 1024),
      maxInflatedBytes: z.number().int().positive().default(256 * 1024),
      assertionLifetimeSeconds: seconds().default(300),
      /** Every SP must sign its AuthnRequests (published as WantAuthnRequestsSigned); otherwise only SPs whose metadata says they sign. */
      wantAuthnRequestsSigned: z.boolean().default(false),
    })
    .prefault({}),
  oidc: z
    .object({
      accessTokenTtlSeconds: seconds().default(3600),
      idTokenTtlSeconds: seconds().default(3600),
      refreshTokenTtlSeconds: seconds().default(14 * 24 * 3600),
      authorizationCodeTtlSeconds: seconds().default(60),
      /** A user in more groups gets them from userinfo only, not in the ID Token (src/oidc/id-token-claims.ts). */
      idTokenMaxGroups: z.number().int().min(0).default(ID_TOKEN_MAX_GROUPS),
    })
    .prefault({}),
  mfa: z.object({ totp: totpSchema.prefault({}), enrollment: enrollmentSchema.prefault({}) }).prefault({}),
  /** Named client networks policies can refer to, e.g. { "office": ["192.0.2.0/24", "2001:db8::/48"] }. */
  trustedNetworks: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'network names use letters, digits, ".", "_" and "-"'), z.array(strictCidr).min(1)).default({}),
  policies: z
    .object({
      /** Policy of relying parties that name none: a built-in name or a custom policy saved with `policy set`. */
      default: z.string().min(1).default('permit-everyone'),
      /** Policy of the "my security" page (/account/security). */
      account: z.string().min(1).default('require-mfa-if-enrolled'),
    })
    .prefault({}),
  messages: userMessagesSchema,
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
}).refine(
  // Which of two keys wins is a guess the admin cannot see; `when`: reported with every other problem at once.
  (input) => !(typeof input.secretKey === 'string' && typeof input.secretKeyFile === 'string'),
  {
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
    path: ['secretKeyFile'],
    message: 'secretKey is set as well: set only one of secretKey (STEPGATE_SECRET_KEY) and secretKeyFile (STEPGATE_SECRET_KEY_FILE)',
  },
).superRefine((input, ctx) => {
  const known = Object.keys(input.trustedNetworks);
  input.mfa.enrollment.networks?.forEach((reference, i) => {
    if (reference === ANY_TRUSTED_NETWORK || isCidrLiteral(reference) || known.includes(reference)) return;
    ctx.addIssue({ code: 'custom', path: ['mfa', 'enrollment', 'networks', i], message: `unknown trusted network "${reference}" (configured under trustedNetworks: ${known.join(', ') || 'none'}; or use "*" or a CIDR)` });
  });
});

export type Config = z.infer<typeof configSchema> & { server: { publicUrl: string } };
export type ConfigInput = z.input<typeof configSchema>;
