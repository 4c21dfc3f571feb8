import { parseArgs } from 'node:util';
import { loadConfig } from '../config/loader.js';
import { summarizeConfig } from '../config/summary.js';

/** `s3o validate --config FILE`: prints a summary, or every error with its field path (exit 1). */
export async function validateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) {
    console.error('usage: s3o validate --config FILE');
    return 2;
  }
  const loaded = await loadConfig(values.config);
  for (const w of loaded.warnings) console.error(`warning: ${w}`);
  if (!loaded.ok) {
    console.error(`${values.config}: ${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}`);
    for (const e of loaded.errors) console.error(`  ${e}`);
    return 1;
  }
  console.log(`${values.config} is valid.\n`);
  console.log(summarizeConfig(loaded.config));
  return 0;
}
