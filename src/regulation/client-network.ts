import ipaddr from 'ipaddr.js';
import { parseIp } from '../core/ip-ranges.ts';

/** IPv6 groups of 16 bits in a /64. */
const GROUPS_IN_SLASH_64 = 4;

/**
 * The client a per-address limit counts: an IPv4 address, or an IPv6 /64. One IPv6 subscriber is
 * given a whole /64 at least (RFC 6177) and picks addresses in it at will (SLAAC privacy addresses),
 * so counting each IPv6 address apart gave a single client 2^64 fresh counts. An IPv4-mapped address
 * counts as its IPv4 address; a client whose address is unknown (`unknown`) counts as itself.
 */
export function clientNetwork(ip: string): string {
  const address = parseIp(ip);
  if (address === undefined) return ip;
  if (address.kind() === 'ipv4') return address.toString();
  // Written compressed (2001:db8::/64), as addresses are: audit summaries and `audit --ip` show it.
  const prefix = (address as ipaddr.IPv6).parts.slice(0, GROUPS_IN_SLASH_64);
  return `${new ipaddr.IPv6([...prefix, 0, 0, 0, 0]).toString()}/64`;
}
