import { BlockList, isIP } from 'node:net';

const mappedIpv4Prefix = '::ffff:';

/**
 * One spelling per address, so a client has one rate-limit bucket: trimmed, IPv6 in lower case,
 * IPv4-mapped IPv6 (what a dual-stack listener reports for IPv4 peers) as plain IPv4.
 */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  if (a.startsWith(mappedIpv4Prefix) && isIP(a.slice(mappedIpv4Prefix.length)) === 4) return a.slice(mappedIpv4Prefix.length);
  return a;
}

/** The proxies (CIDRs, IPv4 and IPv6) whose X-Forwarded-For is believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** `cidrs` are validated by the configuration schema (`address/bits`). */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', bits = ''] = cidr.trim().split('/');
      this.list.addSubnet(address, Number(bits), isIP(address) === 6 ? 'ipv6' : 'ipv4');
    }
    this.empty = cidrs.length === 0;
  }

  /** False for anything that is not an IP address. BlockList matches IPv4-mapped IPv6 against IPv4 subnets. */
  has(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/**
 * The address a request is attributed to. X-Forwarded-For counts only when the peer itself is a
 * trusted proxy: then the list is walked from the right (each proxy appends the address it saw)
 * and the first address that is not a trusted proxy is the client; a client's own entries, further
 * left, are never believed. When every entry is trusted, the leftmost is the client.
 */
export function clientIp(peer: string | undefined, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  const direct = normalizeAddress(peer ?? '');
  if (trusted.empty || forwardedFor === undefined || !trusted.has(direct)) return direct;
  const hops = forwardedFor.split(',').map(normalizeAddress).filter((a) => a !== '');
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i] as string;
    if (!trusted.has(hop)) return hop;
  }
  return hops[0] ?? direct;
}
