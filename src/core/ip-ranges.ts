/**
 * IPv4/IPv6 addresses and CIDR ranges, parsed strictly: trusted proxies, audit searches, policy
 * networks and per-client counting must all agree on what an address is and which range holds it.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type IpAddress = ReturnType<typeof ipaddr.parse>;
export type Cidr = [IpAddress, number];

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

/**
 * Parses a client IP written as Node writes addresses (four-part decimal IPv4, or IPv6, with a zone
 * or not). Only IPv4-mapped IPv6 (::ffff:192.0.2.1, RFC 4291 2.5.5.2) counts as the IPv4 address:
 * an IPv4-compatible one (::10.1.2.3, which Node prints for ::a01:203) is another, IPv6, address.
 */
export function parseIp(ip: string): IpAddress | undefined {
  if (isIP(ip) === 0) return undefined;
  const address = readAddress(ip);
  return isIPv4Mapped(address) ? address.toIPv4Address() : address;
}

/**
 * ipaddr.js reads the IPv4-compatible spelling `::a.b.c.d` as the IPv4-mapped ::ffff:a.b.c.d, which
 * would put ::10.1.2.3 inside 10.0.0.0/8; `::0:a.b.c.d` is the same address and parsed as written.
 */
function readAddress(valid: string): IpAddress {
  return ipaddr.parse(valid.replace(/^::(?=\d+\.\d+\.\d+\.\d+(?:%|$))/, '::0:'));
}

function isIPv4Mapped(address: IpAddress): address is ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
}

/** Whether a parsed address lies in `range`; an address of the other family lies outside. */
export function addressInRange(address: IpAddress, range: Cidr): boolean {
  return address.kind() === range[0].kind() && address.match(range);
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
  return addressInRange(a[0], b) || addressInRange(b[0], a);
}

/** Whether `ip` lies in `range`. An IP that does not parse lies nowhere. */
export function ipInRange(ip: string, range: Cidr): boolean {
  const address = parseIp(ip);
  return address !== undefined && addressInRange(address, range);
}
