import { describe, expect, it } from 'vitest';
import { clientIp, normalizeAddress, TrustedProxies } from '../../../gateway/protection/client-ip.js';

const proxies = new TrustedProxies(['10.0.0.0/8', '192.168.1.0/24', 'fd00::/8']);
const none = new TrustedProxies([]);

describe('client IP', () => {
  it('is the peer address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIp('203.0.113.7', '198.51.100.1', none)).toBe('203.0.113.7');
    expect(clientIp('10.0.0.5', '198.51.100.1', none)).toBe('10.0.0.5');
  });

  it('ignores a spoofed X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientIp('203.0.113.7', '10.1.1.1', proxies)).toBe('203.0.113.7');
    expect(clientIp('203.0.113.7', '198.51.100.1, 10.2.2.2', proxies)).toBe('203.0.113.7');
  });

  it('is the peer when a trusted proxy sends no X-Forwarded-For', () => {
    expect(clientIp('10.0.0.5', undefined, proxies)).toBe('10.0.0.5');
    expect(clientIp('10.0.0.5', ' , ', proxies)).toBe('10.0.0.5');
  });

  it('walks X-Forwarded-For from the right to the first address that is not a trusted proxy', () => {
    expect(clientIp('10.0.0.5', '198.51.100.1', proxies)).toBe('198.51.100.1');
    // The client put 1.1.1.1 there itself; the proxy chain appended what it saw.
    expect(clientIp('10.0.0.5', '1.1.1.1, 198.51.100.1, 192.168.1.20, 10.9.9.9', proxies)).toBe('198.51.100.1');
  });

  it('takes the leftmost address when every hop is a trusted proxy', () => {
    expect(clientIp('10.0.0.5', '192.168.1.3, 10.4.4.4', proxies)).toBe('192.168.1.3');
  });

  it('handles IPv6 peers, hops and subnets', () => {
    expect(clientIp('fd00::1', '2001:db8::42, fd12::9', proxies)).toBe('2001:db8::42');
    expect(clientIp('FD00::1', '2001:DB8::42', proxies)).toBe('2001:db8::42');
    expect(clientIp('2001:db8::1', '198.51.100.1', proxies)).toBe('2001:db8::1');
    expect(clientIp('fd00::1', 'fd00::2, fd00::3', proxies)).toBe('fd00::2');
  });

  it('treats an IPv4-mapped IPv6 peer (dual-stack listener) as its IPv4 address', () => {
    expect(clientIp('::ffff:10.0.0.5', '198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientIp('::ffff:203.0.113.7', '198.51.100.1', proxies)).toBe('203.0.113.7');
    expect(clientIp('10.0.0.5', '::ffff:198.51.100.1', proxies)).toBe('198.51.100.1');
  });

  it('never trusts an entry that is not an address', () => {
    expect(clientIp('10.0.0.5', 'unknown', proxies)).toBe('unknown');
    expect(proxies.has('garbage')).toBe(false);
    expect(proxies.has('')).toBe(false);
  });

  it('matches subnets exactly at their edges', () => {
    const edge = new TrustedProxies(['172.16.0.0/12', '2001:db8:1::/48']);
    expect(edge.has('172.31.255.255')).toBe(true);
    expect(edge.has('172.32.0.0')).toBe(false);
    expect(edge.has('2001:db8:1:ffff::1')).toBe(true);
    expect(edge.has('2001:db8:2::1')).toBe(false);
    expect(new TrustedProxies(['127.0.0.1/32']).has('127.0.0.2')).toBe(false);
  });

  it('normalizes spellings so one client has one key', () => {
    expect(normalizeAddress(' 198.51.100.1 ')).toBe('198.51.100.1');
    expect(normalizeAddress('::FFFF:198.51.100.1')).toBe('198.51.100.1');
    expect(normalizeAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeAddress('::ffff:abcd')).toBe('::ffff:abcd');
  });
});
