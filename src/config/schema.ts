import { z } from 'zod';
import { ldapDirectorySchema } from '../directory/ldap-config.ts';

const cidr = z.string().refine((value) => /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(value), 'must be a CIDR like 10.0.0.0/8 or ::1/128');

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
    .default({ minLength: 12, requireLetter: true, requireDigit: true, requireMixedCase: false, requireSpecial: false, maxAgeDays: 0, expiryWarningDays: 14 }),
});

export const configSchema = z.object({
  server: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** The base URL users and relying parties see; also the OIDC issuer. Defaults to http://localhost:<port>. */
      publicUrl: z.url().optional(),
      /** Only requests from these proxies may set the client IP through X-Forwarded-For. */
      trustedProxies: z.array(cidr).default([]),
    })
    .default({ host: '127.0.0.1', port: 8080, trustedProxies: [] }),
  dataDir: z.string().default('./data'),
  /** Key that encrypts secrets at rest. Base64 of 32 bytes, or a file holding it. */
  secretKey: z.string().optional(),
  secretKeyFile: z.string().optional(),
  directory: z.discriminatedUnion('kind', [localDirectorySchema, ldapDirectorySchema]).default({ kind: 'local' } as never),
  session: z
    .object({
      cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/).default('sg_session'),
      idleTimeoutMinutes: z.number().int().positive().default(30),
      absoluteTimeoutHours: z.number().positive().default(10),
    })
    .default({ cookieName: 'sg_session', idleTimeoutMinutes: 30, absoluteTimeoutHours: 10 }),
  regulation: z
    .object({
      maxFailuresPerUser: z.number().int().positive().default(5),
      maxFailuresPerIp: z.number().int().positive().default(50),
      windowSeconds: z.number().int().positive().default(300),
      lockoutSeconds: z.number().int().positive().default(900),
    })
    .default({ maxFailuresPerUser: 5, maxFailuresPerIp: 50, windowSeconds: 300, lockoutSeconds: 900 }),
  saml: z
    .object({
      /** Defaults to <publicUrl>/saml/metadata. */
      entityId: z.string().optional(),
      clockSkewSeconds: z.number().int().min(0).max(600).default(120),
      requestMaxAgeSeconds: z.number().int().positive().default(300),
      maxRequestBytes: z.number().int().positive().default(64 * 1024),
      maxInflatedBytes: z.number().int().positive().default(256 * 1024),
      assertionLifetimeSeconds: z.number().int().positive().default(300),
    })
    .default({ clockSkewSeconds: 120, requestMaxAgeSeconds: 300, maxRequestBytes: 65536, maxInflatedBytes: 262144, assertionLifetimeSeconds: 300 }),
  oidc: z
    .object({
      accessTokenTtlSeconds: z.number().int().positive().default(3600),
      idTokenTtlSeconds: z.number().int().positive().default(3600),
      refreshTokenTtlSeconds: z.number().int().positive().default(14 * 24 * 3600),
      authorizationCodeTtlSeconds: z.number().int().positive().default(60),
    })
    .default({ accessTokenTtlSeconds: 3600, idTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 1209600, authorizationCodeTtlSeconds: 60 }),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({ level: 'info' }),
  /** Demo mode seeds a demo user and sample apps. Never enable in production. */
  demo: z.boolean().default(false),
});

export type Config = z.infer<typeof configSchema> & { server: { publicUrl: string } };
export type ConfigInput = z.input<typeof configSchema>;
