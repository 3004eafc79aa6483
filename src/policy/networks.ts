import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ReturnType<typeof ipaddr.parse>;
export type Cidr = [Address, number];

/** Named trusted networks ("office", "vpn"), each a list of IPv4/IPv6 ranges. Built once from config. */
export type TrustedNetworks = ReadonlyMap<string, readonly Cidr[]>;

/** In a policy's `networks` condition: every configured trusted network. */
export const ANY_TRUSTED_NETWORK = '*';

/**
 * Strict CIDR parsing: IPv4 needs all four parts (ipaddr.js alone would accept "10.0/8"), and the
 * prefix must fit the address family.
 */
export function parseCidr(text: string): Cidr | undefined {
  const trimmed = text.trim();
  const isV4 = ipaddr.IPv4.isValidCIDRFourPartDecimal(trimmed);
  if (!isV4 && !ipaddr.IPv6.isValidCIDR(trimmed)) return undefined;
  const slash = trimmed.lastIndexOf('/');
  const address = readAddress(trimmed.slice(0, slash));
  const prefix = Number(trimmed.slice(slash + 1));
  // Client IPs in the mapped form count as IPv4 (parseIp), so a mapped range must be one too, or it would never match.
  if (isIPv4Mapped(address) && prefix >= 96) return [address.toIPv4Address(), prefix - 96];
  return [address, prefix];
}

export function isCidrLiteral(reference: string): boolean {
  return reference.includes('/');
}

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

/**
 * Parses a client IP written as Node writes addresses (four-part decimal IPv4, or IPv6, with a zone
 * or not). Only IPv4-mapped IPv6 (::ffff:192.0.2.1, RFC 4291 2.5.5.2) counts as the IPv4 address:
 * an IPv4-compatible one (::10.1.2.3, which Node prints for ::a01:203) is another, IPv6, address.
 */
export function parseIp(ip: string): Address | undefined {
  if (isIP(ip) === 0) return undefined;
  const address = readAddress(ip);
  return isIPv4Mapped(address) ? address.toIPv4Address() : address;
}

/**
 * ipaddr.js reads the IPv4-compatible spelling `::a.b.c.d` as the IPv4-mapped ::ffff:a.b.c.d, which
 * would put ::10.1.2.3 inside 10.0.0.0/8; `::0:a.b.c.d` is the same address and parsed as written.
 */
function readAddress(valid: string): Address {
  return ipaddr.parse(valid.replace(/^::(?=\d+\.\d+\.\d+\.\d+(?:%|$))/, '::0:'));
}

function isIPv4Mapped(address: Address): address is ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
}

function inside(address: Address, cidr: Cidr): boolean {
  return address.kind() === cidr[0].kind() && address.match(cidr);
}

/** An IP or a CIDR, as a range: a single address is its own /32 or /128. As strict as `parseCidr`. */
export function parseIpOrCidr(text: string): Cidr | undefined {
  const trimmed = text.trim();
  if (isCidrLiteral(trimmed)) return parseCidr(trimmed);
  const address = parseIp(trimmed);
  return address && [address, address.kind() === 'ipv4' ? 32 : 128];
}

/** Whether two ranges share an address: one holds the other's first address (CIDR ranges nest or are apart). */
export function rangesOverlap(a: Cidr, b: Cidr): boolean {
  return inside(a[0], b) || inside(b[0], a);
}

/** Whether `ip` lies in `range`. An IP that does not parse lies nowhere. */
export function ipInRange(ip: string, range: Cidr): boolean {
  const address = parseIp(ip);
  return address !== undefined && inside(address, range);
}

/** Whether `ip` lies in any of the referenced networks (names, `*`, or CIDR literals). Unknown IPs are outside. */
export function ipInNetworks(ip: string, references: readonly string[], networks: TrustedNetworks): boolean {
  const address = parseIp(ip);
  if (!address) return false;
  return references.some((reference) => {
    if (reference === ANY_TRUSTED_NETWORK) return [...networks.values()].some((ranges) => ranges.some((cidr) => inside(address, cidr)));
    if (isCidrLiteral(reference)) {
      const cidr = parseCidr(reference);
      return cidr !== undefined && inside(address, cidr);
    }
    return (networks.get(reference) ?? []).some((cidr) => inside(address, cidr));
  });
}
