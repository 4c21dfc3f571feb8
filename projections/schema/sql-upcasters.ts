/**
 * The SQL twins of the upcasters in domain/events/catalog.ts, for the append and replays, which
 * project in the database: `<type>@<from version>` → an expression over `d` (the stored data at
 * that version, jsonb) giving the data one version up. Every TypeScript upcaster has its twin
 * (the schema refuses to build otherwise) and the two must agree (a test checks each pair).
 */
export const sqlUpcasters: Readonly<Record<string, string>> = {};
