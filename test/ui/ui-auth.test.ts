import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestStack } from '../support/orchestrator.js';
import { csrfOf, login, sessionCookieOf, startUiStack, uiLogin } from './ui-stack.js';

let stack: TestStack;
const inject = (opts: InjectOptions) => stack.orchestrator.app.inject(opts);
const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString(),
});

beforeAll(async () => {
  stack = await startUiStack();
});
afterAll(async () => stack?.stop());

async function signedIn(ip = '10.0.1.1'): Promise<{ cookie: string; csrf: string }> {
  const res = await login(stack, { ip });
  expect(res.statusCode).toBe(303);
  const cookie = sessionCookieOf(res);
  const page = await inject({ method: 'GET', url: '/ui/backends', headers: { cookie } });
  expect(page.statusCode).toBe(200);
  return { cookie, csrf: csrfOf(page.body) };
}

describe('dashboard security headers', () => {
  test.each(['/ui/login', '/ui/backends', '/ui/api/jobs', '/ui/assets/dashboard.js'])('%s carries them', async (url) => {
    const res = await inject({ method: 'GET', url });
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  test('pages and data are never stored', async () => {
    const { cookie } = await signedIn();
    for (const url of ['/ui/backends', '/ui/jobs', '/ui/objects', '/ui/logs', '/ui/api/jobs']) {
      const res = await inject({ method: 'GET', url, headers: { cookie } });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control'], url).toBe('no-store');
    }
  });

  test('no page has inline script or style', async () => {
    const { cookie } = await signedIn();
    for (const url of ['/ui/login', '/ui/backends', '/ui/jobs', '/ui/objects', '/ui/logs']) {
      const body = (await inject({ method: 'GET', url, headers: { cookie } })).body;
      expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(body).not.toMatch(/\sstyle=|<style/);
      expect(body).not.toMatch(/\son[a-z]+=/);
    }
  });
});

describe('dashboard sessions', () => {
  test('without a session a page redirects to the login and the JSON answers 401', async () => {
    const page = await inject({ method: 'GET', url: '/ui/jobs' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/ui/login?next=%2Fui%2Fjobs');
    const api = await inject({ method: 'GET', url: '/ui/api/jobs' });
    expect(api.statusCode).toBe(401);
    expect(api.json()).toMatchObject({ code: 'Unauthorized' });
  });

  test('the session cookie is HttpOnly, SameSite=Strict, scoped to the dashboard, not Secure over plain HTTP', async () => {
    const res = await login(stack, { ip: '10.0.1.2' });
    const line = String(res.headers['set-cookie']);
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).toMatch(/Path=\/ui(;|$)/);
    expect(line).not.toMatch(/Secure/);
    expect(res.headers.location).toBe('/ui/backends');
  });

  test.each([
    ['garbage', 's3o_ui_session=not-a-session'],
    ['no signature', 's3o_ui_session=eyJpZCI6IngifQ'],
  ])('a bad cookie (%s) is no session', async (_name, cookie) => {
    const res = await inject({ method: 'GET', url: '/ui/backends', headers: { cookie } });
    expect(res.statusCode).toBe(303);
  });

  test('a cookie whose payload was changed (another name, a later expiry) is no session', async () => {
    const { cookie } = await signedIn('10.0.1.3');
    const [name, value] = cookie.split('=') as [string, string];
    const [payload, mac] = value.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 86_400_000 })).toString('base64url');
    const res = await inject({ method: 'GET', url: '/ui/backends', headers: { cookie: `${name}=${forged}.${mac}` } });
    expect(res.statusCode).toBe(303);
  });

  test('after logout the same cookie is refused', async () => {
    const { cookie, csrf } = await signedIn('10.0.1.4');
    const out = await inject({ method: 'POST', url: '/ui/logout', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${csrf}` });
    expect(out.statusCode).toBe(303);
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/);
    expect((await inject({ method: 'GET', url: '/ui/backends', headers: { cookie } })).statusCode).toBe(303);
  });

  test('next= never leads to another site', async () => {
    const res = await inject({ method: 'POST', url: '/ui/login', remoteAddress: '10.0.1.5', ...form({ admin_key: uiLogin.key, admin_secret: uiLogin.secret, next: '//evil.example/ui/x' }) });
    expect(res.headers.location).toBe('/ui/backends');
  });
});

describe('dashboard CSRF', () => {
  const post = (cookie: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    inject({ method: 'POST', url: '/ui/actions/replicate', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() });

  test('a POST without the token, with a wrong one, or with another session\'s is refused with 403', async () => {
    const mine = await signedIn('10.0.4.1');
    const other = await signedIn('10.0.4.2');
    expect((await post(mine.cookie, {})).statusCode).toBe(403);
    expect((await post(mine.cookie, { _csrf: 'x'.repeat(43) })).statusCode).toBe(403);
    expect((await post(mine.cookie, { _csrf: other.csrf })).statusCode).toBe(403);
    expect((await post(mine.cookie, {}, { 'x-csrf-token': other.csrf })).statusCode).toBe(403);
    const ok = await post(mine.cookie, { _csrf: mine.csrf });
    expect(ok.statusCode).toBe(303);
  });

  test('a cross-site POST is refused before anything else, the login included', async () => {
    const mine = await signedIn('10.0.4.3');
    expect((await post(mine.cookie, { _csrf: mine.csrf }, { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    const res = await inject({ method: 'POST', url: '/ui/login', headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'admin_key=a&admin_secret=b' });
    expect(res.statusCode).toBe(403);
  });

  test('an upload whose first field is not the token is refused before its file is read', async () => {
    const mine = await signedIn('10.0.4.4');
    const body = new FormData();
    body.append('bucket', 'alpha');
    body.append('_csrf', mine.csrf);
    body.append('file', new Blob(['hello']), 'a.txt');
    const req = new Request('http://x/', { method: 'POST', body });
    const res = await inject({ method: 'POST', url: '/ui/actions/upload', headers: { cookie: mine.cookie, 'content-type': req.headers.get('content-type') as string }, payload: Buffer.from(await req.arrayBuffer()) });
    expect(res.statusCode).toBe(403);
  });
});

describe('dashboard escaping', () => {
  test('a key with markup and quotes is shown as text on every page that names it', async () => {
    const key = `dir/<script>alert("x")'&.txt`;
    await stack.client('alpha').send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'x' }));
    const { cookie } = await signedIn('10.0.5.1');
    const pages = [
      `/ui/objects?bucket=alpha&prefix=dir%2F`,
      `/ui/objects/history?${new URLSearchParams({ bucket: 'alpha', key })}`,
    ];
    for (const url of pages) {
      const res = await inject({ method: 'GET', url, headers: { cookie } });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).not.toContain('<script>alert');
      expect(res.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&#39;&amp;.txt');
    }
    const tree = await inject({ method: 'GET', url: '/ui/api/tree?bucket=alpha&prefix=dir%2F', headers: { cookie } });
    expect(tree.headers['content-type']).toMatch(/^application\/json/);
    expect(tree.json().entries[0]).toMatchObject({ name: `<script>alert("x")'&.txt`, is_dir: false });
  });
});

// Last: it locks the real admin key.
describe('dashboard login lockout', () => {
  test('five failures from one address lock it: the sixth try, even with the right secret, answers 429 with the time to wait', async () => {
    const ip = '10.0.2.1';
    for (let i = 0; i < 4; i++) {
      const res = await login(stack, { ip, key: `nobody-${i}`, secret: 'wrong' });
      expect(res.statusCode).toBe(401);
      expect(res.body).toContain('Wrong admin key or secret.');
    }
    const fifth = await login(stack, { ip, key: 'nobody-4', secret: 'wrong' });
    expect(fifth.statusCode).toBe(429);
    const sixth = await login(stack, { ip });
    expect(sixth.statusCode).toBe(429);
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    expect(sixth.body).toMatch(/Too many failed sign-ins from this address\. Try again in \d+ (min|s)\./);
    expect(sixth.headers['set-cookie']).toBeUndefined();
  });

  test('five failures for one admin key lock that key from every address, also for a key that does not exist', async () => {
    for (const key of ['ghost-admin', uiLogin.key]) {
      for (let i = 0; i < 5; i++) await login(stack, { ip: `10.0.3.${i + 10}`, key, secret: 'wrong' });
      const res = await login(stack, { ip: '10.0.3.99', key, secret: key === uiLogin.key ? uiLogin.secret : 'wrong' });
      expect(res.statusCode).toBe(429);
      expect(res.body).toMatch(/for this admin key/);
    }
  });
});
