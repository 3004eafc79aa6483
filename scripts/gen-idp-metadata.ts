/**
 * Writes the IdP's signed SAML metadata for the configured data directory and public URL
 * (the same document GET /saml/metadata serves) to the file named.
 *
 *   node scripts/gen-idp-metadata.ts <output file>
 *
 * Reads configuration like the server (stepgate.config.json / STEPGATE_CONFIG, PUBLIC_URL,
 * STEPGATE_DATA_DIR ...); without a public URL of its own it uses the one the server recorded at its
 * last start on the data directory. Creates the signing keys on first use, exactly as the server would.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { publicIdentityForTool } from '../src/config/public-identity.ts';
import { buildServices } from '../src/build-services.ts';
import { createLogger } from '../src/core/log.ts';
import { idpEndpoints } from '../src/saml/idp-identity.ts';
import { IdpMetadata } from '../src/saml/idp-metadata.ts';
import { refuseRootOnAnotherUsersDirectory } from '../src/cli/root-refusal.ts';
import { DataDirectoryError } from '../src/store/data-directory-error.ts';

const USAGE = `Usage: npm run idp-metadata -- <output file>   (a relative path is taken from the project folder)
Writes the signed SAML metadata the server publishes at <publicUrl>/saml/metadata. Give it the same
STEPGATE_CONFIG or STEPGATE_DATA_DIR as the server.`;

const words = process.argv.slice(2);
if (words.length !== 1 || words[0]!.startsWith('-')) {
  const asked = words[0] === '--help' || words[0] === '-h';
  // No default file: one in the project folder would overwrite the tracked example in metadata/idp/.
  process[asked ? 'stdout' : 'stderr'].write(`${USAGE}\n`);
  process.exit(asked ? 0 : 2);
}
const output = resolve(words[0]!);
const config = loadConfig();
try {
  // It makes and writes the store as the CLI does: as root, db.json and kv.journal would become root's.
  refuseRootOnAnotherUsersDirectory(config, { script: 'idp-metadata', words: [output] });
} catch (error) {
  if (!(error instanceof DataDirectoryError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
const services = await buildServices(config, { logger: createLogger('warn') });
try {
  const identity = await publicIdentityForTool(services.store, config);
  if (identity.mismatch) process.stderr.write(`${identity.mismatch}\n`);
  const endpoints = idpEndpoints(identity.config);
  const xml = await new IdpMetadata(services.keys, endpoints, config.saml.wantAuthnRequestsSigned).xml();
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, `<?xml version="1.0" encoding="utf-8"?>\n${xml}\n`);
  process.stdout.write(`${identity.source}\nWrote ${output} (entityID ${endpoints.entityId}, ${(await services.keys.samlCertificates()).length} signing certificate(s)).\n`);
} finally {
  await services.directory.close();
  await services.store.close();
}
