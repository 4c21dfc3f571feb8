import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { eventCatalog } from '../../../domain/events/catalog.js';
import { allProjections, inlineProjections } from '../../../projections/registry.js';
import { declarationProblems } from '../../../projections/schema/event-versions.js';
import { defaultSchemaSources, schemaPlan } from '../../../projections/schema/plan.js';
import { eventTypeOf, type EventVersion } from '../../../projections/projection.js';

const catalogue = defaultSchemaSources.catalogue;

describe('projection declarations', () => {
  it('every projection handles or ignores every catalogue event at its current version, once', () => {
    expect(declarationProblems(catalogue, allProjections)).toEqual([]);
    for (const p of allProjections) {
      const declared = [...p.handles, ...p.ignores].map((v) => v as string).sort();
      expect(declared, p.name).toEqual(Object.entries(eventCatalog).map(([t, e]) => `${t}@${e.version}`).sort());
    }
  });

  it('names what is missing, stale, unknown or twice', () => {
    const [first] = allProjections;
    if (!first) throw new Error('no projections');
    const broken = {
      ...first,
      handles: first.handles.filter((h) => eventTypeOf(h) !== 'ObjectWritten'),
      ignores: [
        ...first.ignores.filter((h) => eventTypeOf(h) !== 'UsageFlushed'),
        ...(['UsageFlushed@2', 'AdminCommandIssued@1', 'NotAnEvent@1'] as EventVersion[]),
      ],
    };
    const problems = declarationProblems(catalogue, [broken]);
    expect(problems).toContain(`${first.name} neither handles nor ignores ObjectWritten@3`);
    expect(problems).toContain(`${first.name} declares UsageFlushed@2, but the catalogue is at UsageFlushed@1: check what changed and declare UsageFlushed@1`);
    expect(problems).toContain(`${first.name} declares AdminCommandIssued twice (AdminCommandIssued@1 and AdminCommandIssued@1)`);
    expect(problems).toContain(`${first.name} declares NotAnEvent@1, which is not in the event catalogue`);
  });

  it('the schema is not built from declarations that miss an event, nor from an upcaster without its SQL twin', async () => {
    const [first, ...rest] = inlineProjections;
    if (!first) throw new Error('no projections');
    const missing = { ...first, ignores: first.ignores.slice(1) };
    await expect(schemaPlan({ ...defaultSchemaSources, inline: [missing, ...rest] })).rejects.toThrow(/neither handles nor ignores/);
    const lonely = { ...catalogue, upcasters: { 'UsageFlushed@1': (d: Record<string, unknown>) => d } };
    await expect(schemaPlan({ ...defaultSchemaSources, catalogue: lonely })).rejects.toThrow(/upcaster UsageFlushed@1 has no SQL twin/);
  });

  it("an inline projection's SQL names exactly the event types it declares it handles", async () => {
    for (const p of inlineProjections) {
      const files = (await readdir(p.home)).filter((f) => f.endsWith('.sql') && !/^\d{3}_/.test(f));
      const sql = (await Promise.all(files.map((f) => readFile(new URL(f, p.home), 'utf8')))).join('\n');
      const named = Object.keys(eventCatalog).filter((t) => sql.includes(`'${t}'`)).sort();
      expect(named, p.name).toEqual(p.handles.map(eventTypeOf).sort());
    }
  });
});
