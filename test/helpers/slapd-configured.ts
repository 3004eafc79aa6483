import { startSlapd, type SlapdHandle } from '../../scripts/slapd.ts';

export interface ConfiguredSlapdOptions {
  /** The database's suffix, `dc=…` or `o=…`; its entry and `cn=service,<suffix>` (the service account) are created. */
  suffix: string;
  /** Modules besides back_mdb, e.g. `memberof.la` (from Debian's /usr/lib/ldap). */
  modules?: string[];
  /** Lines before `database`, e.g. `security ssf=128`. */
  global?: string[];
  /** Lines after the database's own: access rules (the default lets every bound account read everything), overlays. */
  database?: string[];
  /** Entries loaded with slapadd before the start. Overlays do not see them: what an overlay keeps (memberOf) needs entries added over LDAP. */
  ldif?: string;
}

const SERVICE_PASSWORD = 'service-secret';

/** The suffix entry and the service account, whichever kind of suffix. */
function baseEntries(suffix: string, servicePassword: string): string {
  const [type, value] = suffix.split(',')[0]!.split('=') as [string, string];
  const suffixEntry = /^dc$/i.test(type) ? `objectClass: dcObject\nobjectClass: organization\ndc: ${value}\no: ${value}` : `objectClass: organization\no: ${value}`;
  return `dn: ${suffix}\n${suffixEntry}\n\ndn: cn=service,${suffix}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: ${servicePassword}\n`;
}

/**
 * scripts/slapd.ts's slapd, bare: only the suffix entry and the service account (no ou=people, no
 * password policy, no cn=Monitor), with the configuration lines a test brings (the memberOf overlay,
 * access rules that hide attributes from the service account, `security ssf`).
 */
export async function startConfiguredSlapd(options: ConfiguredSlapdOptions): Promise<SlapdHandle> {
  const { suffix, ldif, ...lines } = options;
  return startSlapd({
    ...lines,
    baseDn: suffix,
    rootPassword: 'root-secret',
    servicePassword: SERVICE_PASSWORD,
    baseEntries: false,
    ppolicy: false,
    monitor: false,
    ldif: [baseEntries(suffix, SERVICE_PASSWORD), ...(ldif === undefined ? [] : [ldif])],
  });
}
