import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed-in operator: who, which session (its CSRF token is bound to it), until when. */
export interface UiSession {
  id: string;
  key: string;
  expiresAtMs: number;
}

/** Twelve hours: a working day, after which the operator signs in again. */
export const sessionLifetimeMs = 12 * 60 * 60 * 1000;

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Session cookies and CSRF tokens, both HMAC-SHA256 under keys derived from `ui.session_secret`
 * (one per purpose, so a value signed for one use never verifies for the other). The cookie is
 * `base64url(JSON{id,key,exp}).base64url(mac)`; the CSRF token is the MAC of the session id, so
 * it is bound to one session and changes when the operator signs in again. A session ended by
 * logout is remembered here until it would have expired (per instance).
 */
export class SessionSigner {
  private readonly cookieKey: Buffer;
  private readonly csrfKey: Buffer;
  private readonly ended = new Map<string, number>();

  constructor(sessionSecret: string, private readonly now: () => number = Date.now) {
    this.cookieKey = createHmac('sha256', sessionSecret).update('s3o-ui session cookie').digest();
    this.csrfKey = createHmac('sha256', sessionSecret).update('s3o-ui csrf token').digest();
  }

  issue(key: string): { session: UiSession; cookie: string } {
    const session: UiSession = { id: randomBytes(16).toString('hex'), key, expiresAtMs: this.now() + sessionLifetimeMs };
    const payload = b64url(JSON.stringify({ id: session.id, key, exp: session.expiresAtMs }));
    return { session, cookie: `${payload}.${this.mac(this.cookieKey, payload)}` };
  }

  /** The session a cookie carries, when its MAC verifies, it has not expired and was not logged out. */
  verify(cookie: string | undefined): UiSession | undefined {
    if (!cookie) return undefined;
    const dot = cookie.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = cookie.slice(0, dot);
    if (!sameBytes(Buffer.from(cookie.slice(dot + 1)), Buffer.from(this.mac(this.cookieKey, payload)))) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const { id, key, exp } = (parsed ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || typeof key !== 'string' || typeof exp !== 'number') return undefined;
    if (exp <= this.now() || this.ended.has(id)) return undefined;
    return { id, key, expiresAtMs: exp };
  }

  /** Logout: the cookie stops verifying here even if a copy of it is replayed. */
  end(session: UiSession): void {
    const now = this.now();
    for (const [id, until] of this.ended) if (until <= now) this.ended.delete(id);
    this.ended.set(session.id, session.expiresAtMs);
  }

  csrfToken(session: UiSession): string {
    return this.mac(this.csrfKey, session.id);
  }

  csrfMatches(session: UiSession, given: unknown): boolean {
    return typeof given === 'string' && sameBytes(Buffer.from(given), Buffer.from(this.csrfToken(session)));
  }

  private mac(key: Buffer, value: string): string {
    return createHmac('sha256', key).update(value).digest('base64url');
  }
}
