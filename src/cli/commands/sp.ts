import { statSync } from 'node:fs';
import { policyColumn } from '../policy-column.ts';
import type { CliCommand, CliContext, ParsedArgs } from '../command.ts';
import { anyOptionGiven, stringOption, typedPath, UsageError } from '../command.ts';
import { displayNameOption } from '../display-name.ts';
import { AppError } from '../../core/errors.ts';
import { BINDING, NAMEID_FORMAT, type NameIdFormatName } from '../../saml/constants.ts';
import { isUrl, readMetadataSource } from '../../saml/metadata-source.ts';
import type { SpRegistrationOptions } from '../../saml/sp-registry.ts';
import type { CertificateInfo, ServiceProviderRecord, SignWhat, SpSettings } from '../../saml/sp-types.ts';
import { policyExists } from '../named-policy.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { fieldsChanged } from '../changed-fields.ts';
import { describeEncryption } from '../../saml/encryption-algorithms.ts';

const SIGN_CHOICES: readonly SignWhat[] = ['response', 'assertion', 'both'];
const ADD_OPTIONS = { name: 'string', policy: 'string', encrypt: 'flag', 'no-encrypt': 'flag', sign: 'string', nameid: 'string', 'allow-password-change': 'flag' } as const;
const SET_OPTIONS = { ...ADD_OPTIONS, 'no-allow-password-change': 'flag', metadata: 'string', 'allow-unsigned-requests': 'flag' } as const;

/** Declared as the one required argument of the commands that name an SP. */
const entityIdArgument = (args: ParsedArgs): string => args.positional[0]!;

function registrationOptions(args: ParsedArgs): SpRegistrationOptions {
  if (args.options.encrypt === true && args.options['no-encrypt'] === true) throw new UsageError('choose one of --encrypt and --no-encrypt');
  const sign = stringOption(args, 'sign');
  if (args.options.sign !== undefined && !SIGN_CHOICES.includes(sign as SignWhat)) throw new UsageError(`--sign takes ${SIGN_CHOICES.join(', ')}`);
  const nameId = stringOption(args, 'nameid');
  if (args.options.nameid !== undefined && !(nameId! in NAMEID_FORMAT)) throw new UsageError(`--nameid takes ${Object.keys(NAMEID_FORMAT).join(', ')}`);
  for (const name of ['name', 'policy']) if (args.options[name] !== undefined && !stringOption(args, name)?.trim()) throw new UsageError(`--${name} needs a value`);
  return {
    name: displayNameOption(args),
    policy: stringOption(args, 'policy'),
    encrypt: args.options.encrypt === true ? true : args.options['no-encrypt'] === true ? false : undefined,
    sign: sign as SignWhat | undefined,
    nameId: nameId as NameIdFormatName | undefined,
    allowPasswordChange: args.options['allow-password-change'] === true,
  };
}

/** What `sp set` changes: only the options given; the rest of the SP's settings stay. */
function settingChanges(args: ParsedArgs): { changes: Partial<SpSettings>; name?: string } {
  for (const flag of ['encrypt', 'allow-password-change']) {
    if (args.options[flag] === true && args.options[`no-${flag}`] === true) throw new UsageError(`choose one of --${flag} and --no-${flag}`);
  }
  const sign = stringOption(args, 'sign');
  if (args.options.sign !== undefined && !SIGN_CHOICES.includes(sign as SignWhat)) throw new UsageError(`--sign takes ${SIGN_CHOICES.join(', ')}`);
  const nameId = stringOption(args, 'nameid');
  if (args.options.nameid !== undefined && !(nameId! in NAMEID_FORMAT)) throw new UsageError(`--nameid takes ${Object.keys(NAMEID_FORMAT).join(', ')}`);
  for (const name of ['name', 'policy', 'metadata']) if (args.options[name] !== undefined && !stringOption(args, name)?.trim()) throw new UsageError(`--${name} needs a value`);
  if (!anyOptionGiven(args)) throw new UsageError('nothing to change: give at least one option');
  const flag = (name: string): boolean | undefined => (args.options[name] === true ? true : args.options[`no-${name}`] === true ? false : undefined);
  const changes: Partial<SpSettings> = {};
  const policy = stringOption(args, 'policy')?.trim();
  if (policy) changes.policy = policy;
  const encrypt = flag('encrypt');
  if (encrypt !== undefined) changes.encryptAssertions = encrypt;
  if (sign) {
    changes.wantAssertionsSigned = sign !== 'response';
    changes.wantResponseSigned = sign !== 'assertion';
  }
  if (nameId) changes.nameIdFormat = nameId as NameIdFormatName;
  const allowPasswordChange = flag('allow-password-change');
  if (allowPasswordChange !== undefined) changes.allowPasswordChange = allowPasswordChange;
  return { changes, name: displayNameOption(args)?.trim() };
}

/** Every certificate the SP offers for encryption; a record from before they were all kept has the one it encrypts to. */
function encryptionCertificates(sp: ServiceProviderRecord): CertificateInfo[] {
  return sp.encryptionCertificates ?? (sp.encryptionCertificate ? [sp.encryptionCertificate] : []);
}

function describeCertificate(info: CertificateInfo, now: number): string {
  const validity = Date.parse(info.notAfter) < now ? ' (EXPIRED)' : info.notBefore && Date.parse(info.notBefore) > now ? ` (not valid before ${info.notBefore.slice(0, 10)})` : '';
  return `${info.subject}, expires ${info.notAfter.slice(0, 10)}${validity}, SHA-256 ${info.fingerprint256}`;
}

const describeAcs = (endpoint: ServiceProviderRecord['acs'][number]) => `ACS #${endpoint.index}${endpoint.isDefault ? ' (default)' : ''}: ${endpoint.binding.split(':').pop()} ${endpoint.location}`;
const describeSlo = (endpoint: ServiceProviderRecord['slo'][number]) => `SLO: ${BINDING[endpoint.binding].split(':').pop()} ${endpoint.location}${endpoint.responseLocation ? ` (responses to ${endpoint.responseLocation})` : ''}`;

function describe(sp: ServiceProviderRecord, now: number): string[] {
  const { settings } = sp;
  const signed = settings.wantAssertionsSigned && settings.wantResponseSigned ? 'response and assertion' : settings.wantResponseSigned ? 'response' : 'assertion';
  const offered = encryptionCertificates(sp);
  // Named only when there is a choice: which one assertions go to is then not plain to see.
  const encryptedTo = (info: CertificateInfo) => (settings.encryptAssertions && offered.length > 1 && info.fingerprint256 === sp.encryptionCertificate?.fingerprint256 ? ' (assertions are encrypted to this one)' : '');
  return [
    `entityID:   ${sp.id}`,
    `name:       ${sp.name}`,
    ...sp.acs.map((endpoint) => `  ${describeAcs(endpoint)}`),
    ...sp.slo.map((endpoint) => `  ${describeSlo(endpoint)}`),
    ...sp.signingCertificates.map((info) => `  signing certificate: ${describeCertificate(info, now)}`),
    ...offered.map((info) => `  encryption certificate: ${describeCertificate(info, now)}${encryptedTo(info)}`),
    `signed:     ${signed} (RSA-SHA256)`,
    `encrypted:  ${settings.encryptAssertions ? `yes (${describeEncryption(sp.encryptionCertificate?.encryptionMethods)})` : 'no'}`,
    `NameID:     ${settings.nameIdFormat} by default`,
    `requests:   ${settings.requireSignedRequests ? 'must be signed' : 'signature checked when present'}`,
    `attributes: ${settings.attributes.map((mapping) => mapping.friendlyName ?? mapping.name).join(', ')}`,
    `policy:     ${settings.policy ?? '(default)'}`,
    `password change during sign-in: ${settings.allowPasswordChange ? 'allowed' : 'not allowed'}`,
  ];
}

/** What new metadata changed against the registered one, for the administrator to read and the audit log to keep. */
function metadataChanges(previous: ServiceProviderRecord, updated: ServiceProviderRecord, now: number) {
  const certificates = (sp: ServiceProviderRecord) => {
    const listed = [...sp.signingCertificates.map((info) => ({ use: 'signing', info })), ...encryptionCertificates(sp).map((info) => ({ use: 'encryption', info }))];
    return new Map(listed.map((certificate) => [`${certificate.use} ${certificate.info.fingerprint256}`, certificate]));
  };
  const endpoints = (sp: ServiceProviderRecord) => new Set([...sp.acs.map(describeAcs), ...sp.slo.map(describeSlo)]);
  const [before, after] = [certificates(previous), certificates(updated)];
  const [endpointsBefore, endpointsAfter] = [endpoints(previous), endpoints(updated)];
  const certificatesAdded = [...after].filter(([key]) => !before.has(key)).map(([, certificate]) => certificate);
  const certificatesRemoved = [...before].filter(([key]) => !after.has(key)).map(([, certificate]) => certificate);
  const endpointsAdded = [...endpointsAfter].filter((endpoint) => !endpointsBefore.has(endpoint));
  const endpointsRemoved = [...endpointsBefore].filter((endpoint) => !endpointsAfter.has(endpoint));
  const requests = (sp: ServiceProviderRecord) => (sp.settings.requireSignedRequests ? 'must be signed' : 'signature checked when present');
  const lines = [
    ...certificatesAdded.map(({ use, info }) => `  added ${use} certificate: ${describeCertificate(info, now)}`),
    ...certificatesRemoved.map(({ use, info }) => `  removed ${use} certificate: ${describeCertificate(info, now)}`),
    ...endpointsAdded.map((endpoint) => `  added ${endpoint}`),
    ...endpointsRemoved.map((endpoint) => `  removed ${endpoint}`),
    ...(requests(previous) === requests(updated) ? [] : [`  requests: ${requests(updated)} (was: ${requests(previous)}), as the metadata's AuthnRequestsSigned says`]),
    ...(updated.settings.encryptAssertions && updated.encryptionCertificate?.fingerprint256 !== previous.encryptionCertificate?.fingerprint256 ? [`  assertions are now encrypted to ${updated.encryptionCertificate!.subject}, SHA-256 ${updated.encryptionCertificate!.fingerprint256}`] : []),
  ];
  return {
    lines: lines.length > 0 ? ['Metadata changes:', ...lines] : ['Metadata: no certificate or endpoint changed.'],
    audit: {
      certificatesAdded: certificatesAdded.map(({ use, info }) => `${use} ${info.fingerprint256}`),
      certificatesRemoved: certificatesRemoved.map(({ use, info }) => `${use} ${info.fingerprint256}`),
      endpointsAdded,
      endpointsRemoved,
    },
  };
}

/** The metadata an administrator named (a file or an https URL); undefined, after saying why, when it is a folder. */
async function readMetadata(context: CliContext, source: string): Promise<string | undefined> {
  // Opening a folder succeeds and only the read fails, with a bare EISDIR.
  if (!isUrl(source) && statSync(typedPath(source), { throwIfNoEntry: false })?.isDirectory()) {
    context.err(`${typedPath(source)} is a folder, not a metadata file.`);
    return undefined;
  }
  return readMetadataSource(isUrl(source) ? source : typedPath(source));
}

/** METADATA_INVALID is the administrator's own input: print its precise message and refuse. */
async function refusedOnInvalidMetadata(context: CliContext, action: () => Promise<number>): Promise<number> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof AppError && error.code === 'METADATA_INVALID') {
      context.err(error.userMessage);
      return 1;
    }
    throw error;
  }
}

export const spCommands: CliCommand[] = [
  {
    name: 'sp add',
    summary: 'register a SAML service provider from its metadata',
    help: `Usage: npm run cli -- sp add <metadata file | https URL> [options]

Validates the SP's SAML 2.0 metadata and registers it. Nothing is written when anything is wrong
(exit code 1). The metadata must hold one EntityDescriptor with one SPSSODescriptor, at least one
AssertionConsumerService with the HTTP-POST binding, http(s) endpoint URLs, RSA X.509 certificates,
no DOCTYPE, at most 256 KB; its entityID must not be registered yet. To load new metadata of an
SP already registered (a certificate rollover, moved endpoints), keeping its settings, use
sp set <entityID> --metadata <file | https URL> instead.
URLs must be https (fetched with a 10 s timeout). Expired certificates are accepted with a warning.

Options:
  --name N                   display name on the sign-in page, no control characters (default: the entityID's host)
  --policy P                 access policy for this SP (default: the default policy)
  --encrypt / --no-encrypt   encrypt assertions (default: yes when the metadata has a
                             KeyDescriptor use="encryption"; --encrypt may use an unqualified one)
  --sign response|assertion|both
                             what to sign (default: the response, plus the assertion when the
                             metadata says WantAssertionsSigned="true")
  --nameid persistent|transient|email|unspecified
                             NameID format when the request does not name one (default: the first
                             supported format the metadata lists, else persistent)
  --allow-password-change    users with an expired password may change it during sign-in here

Requests must be signed when the metadata says AuthnRequestsSigned="true".

Examples:
  npm run cli -- sp add metadata/sp/demo-sp.xml --name "Demo app"
  npm run cli -- sp add https://wiki.example.org/saml/metadata --sign both --nameid email`,
    options: ADD_OPTIONS,
    arguments: ['<metadata file | https URL>'],
    async run(args, context) {
      const options = registrationOptions(args);
      if (options.policy !== undefined && !(await policyExists(context, options.policy))) return 1;
      return refusedOnInvalidMetadata(context, async () => {
        const metadataXml = await readMetadata(context, args.positional[0]!);
        if (metadataXml === undefined) return 1;
        const { record, warnings } = await (await context.serviceProviders()).add(metadataXml, options);
        for (const warning of warnings) context.err(`Warning: ${warning}`);
        context.out(`Registered SAML SP ${record.id}.`);
        await auditAdminAction(context, { type: 'sp.add', rp: record.id, policy: record.settings.policy });
        for (const line of describe(record, context.clock.now())) context.out(line);
        return 0;
      });
    },
  },
  {
    name: 'sp set',
    summary: "change a SAML service provider's settings, or load its new metadata",
    help: `Usage: npm run cli -- sp set <entityID> [options]

Changes a registered SAML SP in place; only the options given change, the rest stay.
--metadata loads the SP's new metadata (a certificate rollover, moved endpoints): it is validated as
sp add validates it, must be for the same entityID, and replaces the endpoints and certificates; the
name, policy and every other setting stay. Requests must be signed from then on when the new metadata
says AuthnRequestsSigned="true", and still must when the SP had to sign before, unless
--allow-unsigned-requests is given. The certificates and endpoints added and removed are printed. Users signed in stay signed in
and logout keeps working; a sign-in under way whose ACS the new metadata no longer lists is refused.
Nothing is written when anything is wrong (exit code 1): an unknown entityID, a policy that does not
exist, --encrypt for an SP whose metadata has no certificate to encrypt with, or metadata that
sp add would refuse or that is for another entityID.

Options:
  --metadata FILE|URL        the SP's new metadata (a file, or an https URL fetched as by sp add)
  --allow-unsigned-requests  with --metadata: stop requiring signed requests when the new metadata
                             no longer says AuthnRequestsSigned="true"
  --name N                   display name on the sign-in page (no control characters)
  --policy P                 access policy for this SP (built-in or saved with policy set; see policy list)
  --encrypt / --no-encrypt   encrypt assertions or not (--encrypt needs a KeyDescriptor with a
                             certificate, use="encryption" or unqualified, in the metadata)
  --sign response|assertion|both
                             what to sign
  --nameid persistent|transient|email|unspecified
                             NameID format when the request does not name one
  --allow-password-change / --no-allow-password-change
                             whether users with an expired password may change it during sign-in here

Examples:
  npm run cli -- sp set https://wiki.example.org/saml/metadata --policy permit-everyone-require-mfa
  npm run cli -- sp set http://localhost:3000/saml/metadata --name "Demo app" --sign both --no-encrypt
  npm run cli -- sp set https://wiki.example.org/saml/metadata --metadata https://wiki.example.org/saml/metadata`,
    options: SET_OPTIONS,
    arguments: ['<entityID>'],
    async run(args, context) {
      const entityId = entityIdArgument(args);
      const { changes, name } = settingChanges(args);
      const registered = await context.serviceProviders();
      const unknownEntity = () => {
        context.err(`No SAML SP with entityID ${entityId}. (sp list shows the registered ones.)`);
        return 1;
      };
      if (!(await registered.get(entityId))) return unknownEntity();
      if (changes.policy !== undefined && !(await policyExists(context, changes.policy))) return 1;
      const metadataSource = stringOption(args, 'metadata');
      // It lowers what new metadata would otherwise keep: without new metadata it would change nothing, silently.
      if (args.options['allow-unsigned-requests'] === true && metadataSource === undefined) throw new UsageError('--allow-unsigned-requests goes with --metadata (it applies when the new metadata no longer asks for signed requests)');
      return refusedOnInvalidMetadata(context, async () => {
        const metadataXml = metadataSource === undefined ? undefined : await readMetadata(context, metadataSource);
        if (metadataSource !== undefined && metadataXml === undefined) return 1;
        try {
          const { record: updated, previous, warnings } = await registered.update(entityId, { settings: changes, name, metadataXml, allowUnsignedRequests: args.options['allow-unsigned-requests'] === true });
          const now = context.clock.now();
          for (const warning of warnings) context.err(`Warning: ${warning}`);
          const asked = Object.keys(changes) as Array<keyof SpSettings>;
          const changed = fieldsChanged([...asked, ...(name === undefined ? [] : ['name']), ...(metadataXml === undefined ? [] : ['metadata'])], previous, updated, {
            ...Object.fromEntries(asked.map((setting) => [setting, (record: ServiceProviderRecord) => record.settings[setting]])),
            // What loading it changed: anything but the name, the settings given as options, and updatedAt, which every update moves.
            metadata: ({ name: _name, updatedAt: _updatedAt, settings, ...fromMetadata }) => ({ ...fromMetadata, settings: Object.fromEntries(Object.entries(settings).filter(([setting]) => !(asked as string[]).includes(setting))) }),
          });
          const metadata = metadataXml === undefined ? undefined : metadataChanges(previous, updated, now);
          if (changed.length === 0) {
            // Run again (a script, a second administrator), it says so, and no event names a change not made.
            context.out(`SAML SP ${updated.id} has those settings already${metadataXml === undefined ? '' : ', and this metadata'}; nothing changed.`);
          } else {
            context.out(`Updated SAML SP ${updated.id}.`);
            await auditAdminAction(context, { type: 'sp.set', rp: updated.id, changed, ...(changed.includes('metadata') ? metadata?.audit : {}) });
          }
          for (const line of metadata?.lines ?? []) context.out(line);
          for (const line of describe(updated, now)) context.out(line);
          return 0;
        } catch (error) {
          // Removed since the check above.
          if (error instanceof AppError && error.code === 'RP_UNKNOWN') return unknownEntity();
          throw error;
        }
      });
    },
  },
  {
    name: 'sp list',
    summary: 'list registered SAML service providers',
    help: 'Usage: npm run cli -- sp list\n\nLists every registered SAML SP: entityID, name, default NameID format, access policy\n(policy=(default) when the SP follows policies.default), and the earliest certificate expiry.',
    options: {},
    arguments: [],
    async run(_args, context) {
      const sps = await (await context.serviceProviders()).list();
      if (sps.length === 0) context.out('No SAML service providers registered.');
      for (const sp of sps) {
        const expiries = [...sp.signingCertificates, ...encryptionCertificates(sp)].map((info) => info.notAfter.slice(0, 10)).sort();
        context.out(`${sp.id}  "${sp.name}"  nameid=${sp.settings.nameIdFormat}  ${policyColumn(sp.settings.policy)}  certificates until ${expiries[0] ?? '-'}`);
      }
      return 0;
    },
  },
  {
    name: 'sp show',
    summary: 'show one SAML service provider',
    help: 'Usage: npm run cli -- sp show <entityID>\n\nShows the endpoints, certificates (with expiry) and settings of one registered SAML SP.',
    options: {},
    arguments: ['<entityID>'],
    async run(args, context) {
      const entityId = entityIdArgument(args);
      const sp = await (await context.serviceProviders()).get(entityId);
      if (!sp) {
        context.err(`No SAML SP with entityID ${entityId}.`);
        return 1;
      }
      for (const line of describe(sp, context.clock.now())) context.out(line);
      return 0;
    },
  },
  {
    name: 'sp remove',
    summary: 'remove a SAML service provider',
    help: `Usage: npm run cli -- sp remove <entityID>

Removes the SP from the registry, with its settings (name, policy, signing ...); its users can no
longer sign in to it. Existing SSO sessions are not ended. To load an SP's new metadata (a
certificate rollover), use sp set <entityID> --metadata instead, which keeps its settings.`,
    options: {},
    arguments: ['<entityID>'],
    async run(args, context) {
      const entityId = entityIdArgument(args);
      if (!(await (await context.serviceProviders()).remove(entityId))) {
        context.err(`No SAML SP with entityID ${entityId}.`);
        return 1;
      }
      context.out(`Removed SAML SP ${entityId}.`);
      await auditAdminAction(context, { type: 'sp.remove', rp: entityId });
      return 0;
    },
  },
];
