import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

/**
 * Which current versions an encryption job works on: plaintext ones (encrypt-existing),
 * encrypted ones (decrypt-existing), or those whose data key a rotation re-wraps — wrapped by a
 * key other than the primary, under the alias the operator named or by the key it names now.
 */
export type EncryptionSelection =
  | { kind: 'plaintext' }
  | { kind: 'encrypted' }
  | { kind: 'wrapped'; primaryKeyId: string; alias: string; keyId: string | null };

export interface VersionRef {
  bucket: string;
  key: string;
  writeId: string;
}

/** The SQL condition on `objects o` and its parameters, numbered from `first`. */
function condition(s: EncryptionSelection, first: number): { sql: string; params: unknown[] } {
  switch (s.kind) {
    case 'plaintext':
      return { sql: 'o.encryption IS NULL', params: [] };
    case 'encrypted':
      return { sql: 'o.encryption IS NOT NULL', params: [] };
    case 'wrapped':
      return {
        sql: `o.encryption IS NOT NULL AND o.encryption->'key'->>'keyId' <> $${first}
              AND (o.encryption->'key'->>'keyAlias' = $${first + 1} OR o.encryption->'key'->>'keyId' = $${first + 2})`,
        params: [s.primaryKeyId, s.alias, s.keyId],
      };
  }
}

/**
 * The next `limit` versions selected, in key order after `after` (keyset paging: a batch costs
 * the same however far the job is), leaving out `excluded` (`<bucket>/<key>~<writeId>`).
 */
export async function selectedVersions(
  db: Queryable, s: EncryptionSelection, after: { bucket: string; key: string } | undefined, limit: number, excluded: readonly string[],
): Promise<VersionRef[]> {
  const c = condition(s, 5);
  const res = await db.query<{ bucket: string; key: string; write_id: string }>(
    `SELECT o.bucket, o.key, o.write_id FROM objects o
      WHERE (o.bucket, o.key) > ($1, $2) AND NOT (o.bucket || '/' || o.key || '~' || o.write_id = ANY($3::text[])) AND ${c.sql}
      ORDER BY o.bucket, o.key LIMIT $4`,
    [after?.bucket ?? '', after?.key ?? '', excluded, limit, ...c.params],
  );
  return res.rows.map((r) => ({ bucket: r.bucket, key: r.key, writeId: r.write_id }));
}

/** How many versions are selected now and the bytes their copies store (a job's total at its start). */
export async function countSelected(db: Queryable, s: EncryptionSelection): Promise<{ objects: number; bytes: number }> {
  const c = condition(s, 1);
  const res = await db.query<{ objects: string; bytes: string }>(
    `SELECT count(DISTINCT (o.bucket, o.key))::bigint AS objects, coalesce(sum(oc.size), 0)::bigint AS bytes
       FROM objects o JOIN object_copies oc ON oc.bucket = o.bucket AND oc.key = o.key WHERE ${c.sql}`,
    c.params,
  );
  return { objects: Number(res.rows[0]?.objects ?? 0), bytes: Number(res.rows[0]?.bytes ?? 0) };
}

/** Whether any current version's data key was wrapped under `alias` (an alias no configured key has any more). */
export async function aliasRecorded(db: Queryable, alias: string): Promise<boolean> {
  const res = await db.query("SELECT 1 FROM objects WHERE encryption->'key'->>'keyAlias' = $1 LIMIT 1", [alias]);
  return res.rows.length > 0;
}
