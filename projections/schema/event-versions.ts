import { eventTypeOf, versionOf, type ProjectionDefinition } from '../projection.js';

/** The event catalogue as the schema sees it: each type's current version and its upcasters. */
export interface CatalogueView {
  versions: Readonly<Record<string, { version: number }>>;
  /** The TypeScript upcasters' keys (`<type>@<from version>`), which the SQL ones must match. */
  upcasters: Readonly<Record<string, unknown>>;
  /** SQL twins of the upcasters: an expression over `d` (the data at the from version, jsonb). */
  sqlUpcasters: Readonly<Record<string, string>>;
}

/**
 * What is wrong with the projections' declarations against the catalogue: every projection
 * must handle or ignore each catalogue type at its current version, exactly once, and declare
 * nothing else; every upcaster needs its SQL twin.
 */
export function declarationProblems(catalogue: CatalogueView, projections: readonly ProjectionDefinition[]): string[] {
  const problems: string[] = [];
  const current = (type: string) => (Object.hasOwn(catalogue.versions, type) ? catalogue.versions[type]?.version : undefined);
  for (const p of projections) {
    const declared = new Map<string, string>();
    for (const entry of [...p.handles, ...p.ignores]) {
      const type = eventTypeOf(entry);
      const version = current(type);
      if (declared.has(type)) problems.push(`${p.name} declares ${type} twice (${declared.get(type)} and ${entry})`);
      declared.set(type, entry);
      if (version === undefined) problems.push(`${p.name} declares ${entry}, which is not in the event catalogue`);
      else if (versionOf(entry) !== version) {
        problems.push(`${p.name} declares ${entry}, but the catalogue is at ${type}@${version}: check what changed and declare ${type}@${version}`);
      }
    }
    for (const [type, { version }] of Object.entries(catalogue.versions)) {
      if (!declared.has(type)) problems.push(`${p.name} neither handles nor ignores ${type}@${version}`);
    }
  }
  const tsKeys = Object.keys(catalogue.upcasters).sort();
  const sqlKeys = Object.keys(catalogue.sqlUpcasters).sort();
  for (const k of tsKeys.filter((k) => !sqlKeys.includes(k))) problems.push(`upcaster ${k} has no SQL twin`);
  for (const k of sqlKeys.filter((k) => !tsKeys.includes(k))) problems.push(`SQL upcaster ${k} has no TypeScript twin`);
  for (const k of sqlKeys) {
    const at = k.lastIndexOf('@');
    const version = current(k.slice(0, at));
    const from = Number(k.slice(at + 1));
    if (version === undefined || !(from >= 1 && from < version)) problems.push(`SQL upcaster ${k} lifts no version below the catalogue's current one`);
  }
  return problems;
}

/** The versions of `type` that can be brought to its current one: the current, and every older one with a chain of upcasters. */
export function knownVersions(catalogue: CatalogueView, type: string): number[] {
  const current = catalogue.versions[type]?.version;
  if (current === undefined) return [];
  const known = [current];
  for (let v = current - 1; v >= 1 && Object.hasOwn(catalogue.sqlUpcasters, `${type}@${v}`); v--) known.unshift(v);
  return known;
}
