import { z } from 'zod';
import { ldapDirectorySchema } from '../directory/ldap-config.ts';
import { parseCidr } from '../policy/networks.ts';
import { userMessagesSchema } from './user-messages.ts';

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
 * Express hands trusted proxies to proxy-addr, whose error for a bad range (or spaces around one,
 * which parseCidr would trim) came only as the server started and named no key.
 */
const proxyCidr = z.string().refine((value) => value === value.trim() && parseCidr(value) !== undefined, 'must be an IPv4 or IPv6 CIDR like 10.0.0.0/8 or ::1/128');

export const totpSchema = z.object({
  /** Shown in the authenticator app next to the account name. */
  issuer: z.string().min(1).max(64).default('Stepgate'),
  digits: z.union([z.literal(6), z.literal(7), z.literal(8)]).default(6),
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

export const configSchema = z.object({
  server: z
    .object({
      host: z.string().default('127.0.0.1'),
      // Not 0: a random port would make the public URL (the OIDC issuer, the SAML entityID) end in :0.
      port: z.number().int().min(1).max(65535).default(8080),
      /** The base URL users and relying parties see; also the OIDC issuer. Defaults to http://localhost:<port>. */
      // The issuer and every endpoint URL derive from it: only a web origin with a path, nothing a browser would not send back.
      publicUrl: z
        .url()
        .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http:// or https:// URL')
        .refine((value) => !URL.canParse(value) || (!new URL(value).search && !new URL(value).hash && !new URL(value).username), 'must have no query, fragment or credentials')
        .optional(),
      /** Only requests from these proxies may set the client IP through X-Forwarded-For. */
      trustedProxies: z.array(proxyCidr).default([]),
    })
    .prefault({}),
  dataDir: z.string().default('./data'),
  /** Key that encrypts secrets at rest. Base64 of 32 bytes, or a file holding it. */
  secretKey: z.string().optional(),
  secretKeyFile: z.string().optional(),
  directory: z.discriminatedUnion('kind', [localDirectorySchema, ldapDirectorySchema]).prefault({ kind: 'local' }),
  session: z
    .object({
      cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default('sg_session'),
      idleTimeoutMinutes: z.number().int().positive().default(30),
      absoluteTimeoutHours: z.number().positive().default(10),
    })
    .prefault({}),
  regulation: z
    .object({
      maxFailuresPerUser: z.number().int().positive().default(5),
      maxFailuresPerIp: z.number().int().positive().default(50),
      windowSeconds: z.number().int().positive().default(300),
      lockoutSeconds: z.number().int().positive().default(900),
      /** Sign-ins one client IP may start per minute (each is held in memory for 15 minutes). */
      signInStartsPerIpPerMinute: z.number().int().positive().default(600),
    })
    .prefault({}),
  saml: z
    .object({
      /** Defaults to <publicUrl>/saml/metadata. */
      entityId: z.string().optional(),
      clockSkewSeconds: z.number().int().min(0).max(600).default(120),
      requestMaxAgeSeconds: z.number().int().positive().default(300),
      maxRequestBytes: z.number().int().positive().default(64 * 1024),
      maxInflatedBytes: z.number().int().positive().default(256 * 1024),
      assertionLifetimeSeconds: z.number().int().positive().default(300),
      /** Every SP must sign its AuthnRequests (published as WantAuthnRequestsSigned); otherwise only SPs whose metadata says they sign. */
      wantAuthnRequestsSigned: z.boolean().default(false),
    })
    .prefault({}),
  oidc: z
    .object({
      accessTokenTtlSeconds: z.number().int().positive().default(3600),
      idTokenTtlSeconds: z.number().int().positive().default(3600),
      refreshTokenTtlSeconds: z.number().int().positive().default(14 * 24 * 3600),
      authorizationCodeTtlSeconds: z.number().int().positive().default(60),
    })
    .prefault({}),
  mfa: z.object({ totp: totpSchema.prefault({}) }).prefault({}),
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
});

export type Config = z.infer<typeof configSchema> & { server: { publicUrl: string } };
export type ConfigInput = z.input<typeof configSchema>;
