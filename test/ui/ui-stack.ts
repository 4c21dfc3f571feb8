import type { LightMyRequestResponse } from 'fastify';
import { startStack, type TestBackend, type TestStack } from '../support/orchestrator.js';

export const uiLogin = { key: 'operator', secret: 'correct horse battery staple' };
export const uiSessionSecret = 'test-session-secret-0123456789abcdef0123';

export function uiYaml(extra = ''): string {
  return [
    'ui:',
    '  enabled: true',
    '  path: /ui',
    `  admin_key: ${uiLogin.key}`,
    `  admin_secret: ${uiLogin.secret}`,
    `  session_secret: ${uiSessionSecret}`,
    extra,
  ].join('\n');
}

/** An in-process orchestrator with the dashboard on, for fastify inject. */
export function startUiStack(backends: TestBackend[] = [{ quota: 0 }], extraYaml = ''): Promise<TestStack> {
  return startStack({ backends, extraYaml: `${uiYaml()}\n${extraYaml}` });
}

/** `name=value` of the session cookie a login answer set. */
export function sessionCookieOf(res: LightMyRequestResponse): string {
  const set = res.headers['set-cookie'];
  const line = (Array.isArray(set) ? set : [set ?? '']).find((l) => l.startsWith('s3o_ui_session='));
  if (!line) throw new Error(`no session cookie in ${JSON.stringify(res.headers)}`);
  return line.split(';')[0] as string;
}

export async function login(stack: TestStack, opts: { key?: string; secret?: string; ip?: string } = {}): Promise<LightMyRequestResponse> {
  return stack.orchestrator.app.inject({
    method: 'POST', url: '/ui/login', remoteAddress: opts.ip ?? '10.0.0.1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ admin_key: opts.key ?? uiLogin.key, admin_secret: opts.secret ?? uiLogin.secret }).toString(),
  });
}

/** The CSRF token a signed-in page carries. */
export function csrfOf(html: string): string {
  const m = /<meta name="csrf-token" content="([^"]+)">/.exec(html);
  if (!m?.[1]) throw new Error('no csrf-token meta in the page');
  return m[1];
}
