import { describe, expect, test } from 'vitest';
import { configOf, errorsOf, withSections } from './config-fixtures.js';

const sessionSecret = 'a-session-secret-of-forty-characters-xx';
const ui = (fields: Record<string, unknown>) => withSections({ ui: { enabled: true, admin_key: 'operator', admin_secret: 'correct horse', session_secret: sessionSecret, ...fields } });

describe('ui: the web dashboard settings', () => {
  test('a complete ui section is accepted', () => {
    const config = configOf(ui({ path: '/dashboard' }));
    expect(config.ui).toMatchObject({ enabled: true, path: '/dashboard', admin_key: 'operator' });
  });

  test.each([
    ['admin_key', { admin_key: '' }, 'ui.admin_key: is required when ui.enabled is true'],
    ['admin_secret', { admin_secret: '' }, 'ui.admin_secret: is required when ui.enabled is true'],
    ['session_secret missing', { session_secret: '' }, 'ui.session_secret: is required when ui.enabled is true'],
    ['session_secret short', { session_secret: 'short-secret' }, 'ui.session_secret: is too short'],
    ['session_secret reused', { session_secret: sessionSecret, admin_secret: sessionSecret }, 'ui.session_secret: must differ'],
    ['path without slash', { path: 'ui' }, "ui.path: must start with '/'"],
    ['path trailing slash', { path: '/ui/' }, 'ui.path: must be a path like /ui'],
    ['path root', { path: '/' }, 'ui.path: must be a path like /ui'],
    ['path with a query', { path: '/ui?x' }, 'ui.path: must be a path like /ui'],
    ['path of the admin API', { path: '/admin/ui' }, 'ui.path: /admin is already served'],
    ['path of a bucket', { path: '/photos' }, 'ui.path: /photos is the path of the bucket "photos"'],
  ])('%s is refused, naming the field', (_name, fields, message) => {
    const errors = errorsOf(ui(fields));
    expect(errors.some((e) => e.startsWith(message)), errors.join('\n')).toBe(true);
  });

  test('no message quotes a secret', () => {
    const errors = errorsOf(ui({ session_secret: 'short-SECRET-value', admin_secret: 'short-SECRET-value' }));
    expect(errors.join('\n')).not.toContain('short-SECRET-value');
  });

  test('a disabled dashboard needs none of its settings', () => {
    expect(configOf(withSections({ ui: { enabled: false, admin_token: 't' } })).ui.enabled).toBe(false);
  });
});
