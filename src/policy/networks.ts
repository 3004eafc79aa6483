import { addressInRange, isCidrLiteral, parseCidr, parseIp, type Cidr } from '../core/ip-ranges.ts';

/** Named trusted networks ("office", "vpn"), each a list of IPv4/IPv6 ranges. Built once from config. */
export type TrustedNetworks = ReadonlyMap<string, readonly Cidr[]>;

/** In a policy's `networks` condition: every configured trusted network. */
export const ANY_TRUSTED_NETWORK = '*';

export function compileNetworks(config: Readonly<Record<string, readonly string[]>>): TrustedNetworks {
  const networks = new Map<string, Cidr[]>();
  for (const [name, ranges] of Object.entries(config)) {
    networks.set(
      name,
      ranges.map((range) => {
        const cidr = parseCidr(range);
        if (!cidr) throw new Error(`trustedNetworks.${name}: "${range}" is not a CIDR`);
        return cidr;
      }),
    );
  }
  return networks;
}

/** Whether `ip` lies in any of the referenced networks (names, `*`, or CIDR literals). Unknown IPs are outside. */
export function ipInNetworks(ip: string, references: readonly string[], networks: TrustedNetworks): boolean {
  const address = parseIp(ip);
  if (!address) return false;
  return references.some((reference) => {
    if (reference === ANY_TRUSTED_NETWORK) return [...networks.values()].some((ranges) => ranges.some((cidr) => addressInRange(address, cidr)));
    if (isCidrLiteral(reference)) {
      const cidr = parseCidr(reference);
      return cidr !== undefined && addressInRange(address, cidr);
    }
    return (networks.get(reference) ?? []).some((cidr) => addressInRange(address, cidr));
  });
}
