import { parseArgs } from 'node:util';
import { createLogger } from '../../infra/telemetry/logger.js';
import { migrateSchema } from '../../projections/schema/plan.js';
import { projectionStatuses } from '../../projections/async/runner.js';
import { rebuildProjections, verifyProjections, type RebuildProgress, type VerifyReport } from '../../projections/rebuild.js';
import { asyncProjections, findProjections, inlineProjections } from '../../projections/registry.js';
import { openDatabase } from '../database.js';
import { configForCommand } from './load-config.js';
import { formatCount, ProgressBar } from './progress.js';

const usage = 'usage: s3o projections status|rebuild [name]|verify [name] [--config FILE] [--json]';

function progressPrinter(): { update(p: RebuildProgress): void; finish(): void } {
  const bars = new Map<string, ProgressBar>();
  return {
    update(p) {
      let bar = bars.get(p.projection);
      if (!bar) {
        bar = new ProgressBar(p.projection);
        bars.set(p.projection, bar);
      }
      bar.update(p.applied, p.total, p.phase, p.phase !== 'replaying');
      if (p.phase === 'done') bar.finish();
    },
    finish() {
      for (const b of bars.values()) b.finish();
    },
  };
}

function printDiffs(r: VerifyReport): void {
  for (const d of r.diffs) {
    if (d.onlyInLive + d.onlyInRebuilt === 0) continue;
    console.log(`  ${d.table}: ${d.onlyInLive} row(s) only in the live table, ${d.onlyInRebuilt} only in the rebuilt one`);
    for (const s of d.samples) console.log(`    ${s.side}: ${JSON.stringify(s.row)}`);
  }
}

/** `s3o projections …`: status, rebuild from the log, or verify against a rebuild. */
export async function projectionsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
  });
  const [sub, name] = positionals;
  if (!sub || !['status', 'rebuild', 'verify'].includes(sub)) {
    console.error(usage);
    return 2;
  }
  const config = await configForCommand(values.config);
  const logger = createLogger('warn');
  const db = await openDatabase(config.database, logger, 'client');
  try {
    await migrateSchema(db.pool);
    if (sub === 'status') {
      const statuses = await projectionStatuses(db.pool, asyncProjections);
      if (values.json) {
        console.log(JSON.stringify({ inline: inlineProjections.map((p) => ({ name: p.name, tables: p.tables })), async: statuses }, null, 2));
        return 0;
      }
      for (const p of inlineProjections) console.log(`${p.name.padEnd(14)} inline   current with every append   tables: ${p.tables.join(', ')}`);
      for (const s of statuses) {
        console.log(`${s.name.padEnd(14)} async    lag ${formatCount(s.lag)} event(s)   status ${s.status}   owner ${s.owner ?? '-'}`);
      }
      return 0;
    }
    const infos = findProjections(name);
    const progress = progressPrinter();
    if (sub === 'rebuild') {
      const reports = await rebuildProjections(db.pool, infos, (p) => progress.update(p));
      progress.finish();
      for (const r of reports) console.log(`${r.projection}: rebuilt from ${r.events} events in ${r.seconds.toFixed(1)} s (${formatCount(r.eventsPerSecond)} events/s)`);
      if (values.json) console.log(JSON.stringify(reports));
      return 0;
    }
    const reports = await verifyProjections(db.pool, infos, (p) => progress.update(p));
    progress.finish();
    let identical = true;
    for (const r of reports) {
      console.log(`${r.projection}: ${r.identical ? 'identical to' : 'DIFFERS from'} a rebuild of ${r.events} events (${r.seconds.toFixed(1)} s, ${formatCount(r.eventsPerSecond)} events/s)`);
      printDiffs(r);
      identical &&= r.identical;
    }
    if (values.json) console.log(JSON.stringify(reports));
    return identical ? 0 : 1;
  } finally {
    await db.close();
  }
}
