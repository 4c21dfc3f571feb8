import { describe, expect, test } from 'vitest';
import { parseConfigText } from '../../../ops/config/index.js';
import { expandEnv } from '../../../ops/config/env.js';
import { errorsOfText } from './config-fixtures.js';

const body = (database: string, extra = ''): string => `
buckets:
  - name: photos
    credentials:
      - access_key_id: AKPHOTOS
        secret_access_key: "\${BUCKET_SECRET}"
backends:
  - name: b1
    endpoint: \${B1_ENDPOINT:-http://127.0.0.1:9001}
    bucket: one
    access_key_id: key
    secret_access_key: secret
${database}
${extra}`;

describe('expandEnv', () => {
  test('replaces set variables, keeps bare $NAME, writes $${ as a literal', () => {
    const out = expandEnv('a: ${A}\nb: $B and $2a$10$x\nc: $${A}\n', { A: 'one' });
    expect(out.text).toBe('a: one\nb: $B and $2a$10$x\nc: ${A}\n');
    expect(out.substitutions).toEqual([expect.objectContaining({ name: 'A', set: true, line: 1 })]);
  });

  test('an unset variable without default becomes empty; with :- the default is used', () => {
    const out = expandEnv('a: x${UNSET}y\nb: ${UNSET:-fallback}\nc: ${EMPTY:-fb}\nd: ${EMPTY}\n', { EMPTY: '' });
    expect(out.text).toBe('a: xy\nb: fallback\nc: fb\nd: \n');
    expect(out.substitutions.map((s) => [s.name, s.set, s.hasDefault])).toEqual([
      ['UNSET', false, false], ['UNSET', false, true], ['EMPTY', false, true], ['EMPTY', true, false],
    ]);
  });

  test('values inside quotes are escaped for the quoting style', () => {
    const value = `it's a "quote" \\ and: # hash`;
    const out = expandEnv(`d: "\${V}"\ns: '\${V}'\n`, { V: value });
    expect(out.text).toBe(`d: "it's a \\"quote\\" \\\\ and: # hash"\ns: 'it''s a "quote" \\ and: # hash'\n`);
  });

  test("a value with a line break inside '…' is an error naming the variable, not a silently folded value", () => {
    // The config fuzz target's counterexample: '\n"' in a single-quoted scalar.
    const out = expandEnv(`s: '\${V}'\nd: "\${V}"\n`, { V: '\n"' });
    expect(out.errors).toEqual([`line 1: \${V} holds a line break, which a '…' scalar cannot carry; quote it with "…" instead`]);
    expect(out.errors.join()).not.toContain('\n');
  });

  test('references in comments are left alone', () => {
    const out = expandEnv('a: 1 # uses ${NOT_EXPANDED}\n# ${ALSO_NOT}\n', {});
    expect(out.text).toBe('a: 1 # uses ${NOT_EXPANDED}\n# ${ALSO_NOT}\n');
    expect(out.substitutions).toEqual([]);
  });

  test('a malformed reference is an error naming its line', () => {
    const out = expandEnv('a: 1\nb: ${not valid}\n', {});
    expect(out.errors).toEqual([expect.stringMatching(/^line 2: invalid variable reference "\$\{not valid\}"/)]);
  });
});

describe('expansion in a config', () => {
  test('set variables, defaults and special characters in quoted values all parse', () => {
    const password = 'p@ss: w#rd "quoted" \\ end';
    const result = parseConfigText(body(`database: { host: db.internal, database: s3o, user: "\${PGUSER}", password: "\${PGPASSWORD}" }`), {
      BUCKET_SECRET: `sec: #ret'"`, PGUSER: 's3o', PGPASSWORD: password,
    });
    if (!result.ok) expect.fail(result.errors.join('\n'));
    expect(result.config.buckets[0]?.credentials[0]?.secret_access_key).toBe(`sec: #ret'"`);
    expect(result.config.backends[0]?.endpoint).toBe('http://127.0.0.1:9001');
    expect(result.config.database).toMatchObject({ driver: 'postgres', user: 's3o', password });
  });

  test('a variable set to empty is named as empty', () => {
    const errors = errorsOfText(body('database: { host: db.internal, database: s3o, user: "${PGUSER}" }'), { BUCKET_SECRET: 's', PGUSER: '' });
    expect(errors).toEqual(['database.user: is required with driver postgres (value from ${PGUSER}, which is empty)']);
  });

  test('a default that leaves a required field empty is named as such', () => {
    const errors = errorsOfText(body('database: { host: db.internal, database: s3o, user: "${PGUSER:-}" }'), { BUCKET_SECRET: 's' });
    expect(errors).toEqual(['database.user: is required with driver postgres (from ${PGUSER}, which is not set (its default was used))']);
  });

  test('the default applies when the variable is set to empty', () => {
    const result = parseConfigText(body(''), { BUCKET_SECRET: 's', B1_ENDPOINT: '' });
    expect(result.ok && result.config.backends[0]?.endpoint).toBe('http://127.0.0.1:9001');
  });

  test('an unset variable in a required field names the field and the variable', () => {
    const errors = errorsOfText(body('database: { host: db.internal, database: s3o, user: ${PGUSER} }'), { BUCKET_SECRET: 's' });
    expect(errors).toEqual(['database.user: is required with driver postgres (from ${PGUSER}, which is not set)']);
  });

  test('an unset variable inside a credential is named on the credential error', () => {
    const errors = errorsOfText(body(''), {});
    expect(errors).toEqual([
      'buckets[0].credentials[0]: must have access_key_id+secret_access_key or token (buckets[0].credentials[0].secret_access_key is ${BUCKET_SECRET}, which is not set)',
    ]);
  });

  test('a set variable with a bad value is named, without the value', () => {
    const errors = errorsOfText(body('', 'replication:\n  unhealthy_threshold: ${THRESHOLD}\n'), { BUCKET_SECRET: 's', THRESHOLD: 'soon' });
    expect(errors).toEqual(['replication.unhealthy_threshold: must be a duration such as 500ms, 30s, 5m or 1h30m, or a number of seconds (value from ${THRESHOLD})']);
  });

  test('unset variables without a default are warned about once, with their lines', () => {
    const result = parseConfigText(body('', 'ui:\n  admin_token: "${ADMIN_TOKEN}"\n  admin_key: "${ADMIN_TOKEN}"\n'), { BUCKET_SECRET: 's' });
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual(['environment variable ADMIN_TOKEN is not set (line 15, 16); it expanded to an empty string']);
  });

  test('an unquoted value with YAML syntax in it fails to parse, without echoing the value', () => {
    const errors = errorsOfText(body('database: { host: db, database: s3o, user: s3o, password: ${PGPASSWORD} }'), {
      BUCKET_SECRET: 's', PGPASSWORD: 'x, y: {z',
    });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/^line \d+, column \d+: /);
    expect(errors.join('\n')).not.toContain('x, y: {z');
  });
});
