/**
 * Writes the IdP's signed SAML metadata for the configured data directory and public URL
 * (the same document GET /saml/metadata serves), by default to metadata/idp/stepgate-idp.xml.
 *
 *   node scripts/gen-idp-metadata.ts [output file]
 *
 * Reads configuration like the server (stepgate.config.json / STEPGATE_CONFIG, PUBLIC_URL,
 * STEPGATE_DATA_DIR ...). Creates the signing keys on first use, exactly as the server would.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.ts';
import { buildServices } from '../src/build-services.ts';
import { createLogger } from '../src/core/log.ts';
import { idpEndpoints } from '../src/saml/idp-identity.ts';
import { IdpMetadata } from '../src/saml/idp-metadata.ts';

const output = resolve(process.argv[2] ?? fileURLToPath(new URL('../metadata/idp/stepgate-idp.xml', import.meta.url)));
const config = loadConfig();
const services = await buildServices(config, { logger: createLogger('warn') });
try {
  const xml = await new IdpMetadata(services.keys, idpEndpoints(config), config.saml.wantAuthnRequestsSigned).xml();
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, `<?xml version="1.0" encoding="utf-8"?>\n${xml}\n`);
  process.stdout.write(`Wrote ${output} (entityID ${idpEndpoints(config).entityId}, ${(await services.keys.samlCertificates()).length} signing certificate(s)).\n`);
} finally {
  await services.directory.close();
  await services.store.close();
}
