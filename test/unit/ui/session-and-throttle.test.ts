import { describe, expect, test } from 'vitest';
import { LoginThrottle } from '../../../gateway/ui/login-throttle.js';
import { SessionSigner, sessionLifetimeMs } from '../../../gateway/ui/session.js';
import { escapeHtml, html } from '../../../gateway/ui/html.js';

const secret = 'unit-test-session-secret-0123456789abcdef';

describe('SessionSigner', () => {
  test('a session verifies until it expires', () => {
    let now = 1_000_000;
    const signer = new SessionSigner(secret, () => now);
    const { session, cookie } = signer.issue('operator');
    expect(signer.verify(cookie)).toEqual(session);
    now += sessionLifetimeMs - 1;
    expect(signer.verify(cookie)).toBeDefined();
    now += 1;
    expect(signer.verify(cookie)).toBeUndefined();
  });

  test('a cookie signed with another secret does not verify', () => {
    const { cookie } = new SessionSigner(`${secret}-other`).issue('operator');
    expect(new SessionSigner(secret).verify(cookie)).toBeUndefined();
  });

  test('the CSRF token belongs to one session and is not its cookie MAC', () => {
    const signer = new SessionSigner(secret);
    const a = signer.issue('operator');
    const b = signer.issue('operator');
    const token = signer.csrfToken(a.session);
    expect(signer.csrfMatches(a.session, token)).toBe(true);
    expect(signer.csrfMatches(b.session, token)).toBe(false);
    expect(signer.csrfMatches(a.session, undefined)).toBe(false);
    expect(a.cookie.split('.')[1]).not.toBe(token);
  });

  test('an ended session stops verifying', () => {
    const signer = new SessionSigner(secret);
    const { session, cookie } = signer.issue('operator');
    signer.end(session);
    expect(signer.verify(cookie)).toBeUndefined();
  });
});

describe('LoginThrottle', () => {
  const policy = { maxFailures: 3, windowMs: 60_000, lockoutMs: 30_000, maxTracked: 100 };

  test('the lockout ends after its time, and says how long is left meanwhile', () => {
    let now = 0;
    const t = new LoginThrottle(policy, () => now);
    t.failed('1.1.1.1', 'a');
    t.failed('1.1.1.1', 'b');
    expect(t.failed('1.1.1.1', 'c')).toEqual({ by: 'address', retryAfterSeconds: 30 });
    now = 20_000;
    expect(t.lockout('1.1.1.1', 'operator')).toEqual({ by: 'address', retryAfterSeconds: 10 });
    now = 30_000;
    expect(t.lockout('1.1.1.1', 'operator')).toBeUndefined();
  });

  test('failures older than the window are forgotten', () => {
    let now = 0;
    const t = new LoginThrottle(policy, () => now);
    t.failed('1.1.1.1', 'a');
    t.failed('1.1.1.1', 'a');
    now = 61_000;
    expect(t.failed('1.1.1.1', 'a')).toBeUndefined();
  });

  test('a success clears the address and the name', () => {
    const t = new LoginThrottle(policy);
    t.failed('1.1.1.1', 'a');
    t.failed('1.1.1.1', 'a');
    t.succeeded('1.1.1.1', 'a');
    expect(t.failed('1.1.1.1', 'a')).toBeUndefined();
  });

  test('memory stays bounded under a spray of names', () => {
    const t = new LoginThrottle(policy);
    for (let i = 0; i < 1000; i++) t.failed(`10.0.${i >> 8}.${i & 255}`, `name-${i}`);
    const tracked = t as unknown as { byAddress: Map<string, unknown>; byName: Map<string, unknown> };
    expect(tracked.byAddress.size).toBe(100);
    expect(tracked.byName.size).toBe(100);
  });
});

describe('html templates', () => {
  test('every interpolated value is escaped; nested templates are not escaped twice', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;');
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${['<', '>']}${null}${undefined}${false}</p>`.text).toBe('<p><b>&lt;i&gt;</b>&lt;&gt;</p>');
  });
});
