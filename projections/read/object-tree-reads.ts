import type { Queryable } from '../../infra/eventstore/postgres-event-store.js';

/** One child of a prefix: an object, or a "folder" (`name` ends in '/') with the count and size of everything under it. */
export interface TreeEntry {
  name: string;
  isDir: boolean;
  fileCount: number;
  totalSize: number;
  lastModified: string;
}

export interface TreePage {
  entries: TreeEntry[];
  /** Pass as `after` for the next page; undefined on the last page. */
  nextAfter: string | undefined;
}

/**
 * The children of `prefix` in a bucket, from the locations projection (current versions only),
 * in key order after `after`, with each folder's rollup. The scan covers the keys under the
 * prefix (the primary key's range), so a page over a huge prefix costs a pass over it.
 */
export async function listTreeLevel(db: Queryable, bucket: string, prefix: string, opts: { after?: string; limit: number }): Promise<TreePage> {
  const res = await db.query<{ name: string; is_dir: boolean; files: string; bytes: string; last_modified: Date }>(
    `SELECT name, is_dir, count(*) AS files, sum(size) AS bytes, max(last_modified) AS last_modified FROM (
       SELECT CASE WHEN strpos(rest, '/') > 0 THEN left(rest, strpos(rest, '/')) ELSE rest END AS name,
              strpos(rest, '/') > 0 AS is_dir, size, last_modified
         FROM (SELECT substr(key, length($2) + 1) AS rest, size, last_modified
                 FROM objects WHERE bucket = $1 AND key >= $2 AND starts_with(key, $2)) under) children
      WHERE name > $3
      GROUP BY name, is_dir ORDER BY name COLLATE "C", is_dir LIMIT $4`,
    [bucket, prefix, opts.after ?? '', opts.limit + 1],
  );
  const rows = res.rows.slice(0, opts.limit);
  const entries = rows.map((r) => ({
    name: r.name, isDir: r.is_dir, fileCount: Number(r.files), totalSize: Number(r.bytes), lastModified: r.last_modified.toISOString(),
  }));
  return { entries, nextAfter: res.rows.length > opts.limit ? entries[entries.length - 1]?.name : undefined };
}
