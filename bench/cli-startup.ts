import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * `npm run bench:cli`: how long `s3o` takes to start, side by side with a bare `node` start, in
 * rounds that alternate between the commands (background load hits all alike). Wall time, and
 * the CPU time the command used (its own and its children's, from /proc/self/stat's cutime and
 * cstime, which stay true on a busy machine where wall time does not).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = fileURLToPath(new URL('../ops/cli/main.js', import.meta.url));

const commands: { name: string; argv: string[] }[] = [
  { name: 'node -e 0 (floor)', argv: [process.execPath, '-e', '0'] },
  { name: 'node dist/ops/cli/main.js --help', argv: [process.execPath, cli, '--help'] },
  { name: 'node_modules/.bin/s3o --help', argv: [`${root}node_modules/.bin/s3o`, '--help'] },
  { name: 'node_modules/.bin/s3o admin drain b1 --help', argv: [`${root}node_modules/.bin/s3o`, 'admin', 'drain', 'b1', '--help'] },
  { name: 'node_modules/.bin/s3o validate (no file)', argv: [`${root}node_modules/.bin/s3o`, 'validate', '--config', '/nonexistent/config.yaml'] },
  { name: 'npx s3o --help', argv: ['npx', 's3o', '--help'] },
];

const ticksPerSecond = 100;

/** CPU seconds used by this process's waited-for children so far (cutime + cstime). */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /s, '').split(' ');
  // After the name: state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function main(): void {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds <= 0) throw new Error(`--rounds must be a positive integer, got "${values.rounds}"`);
  const wall = commands.map(() => [] as number[]);
  const cpu = commands.map(() => [] as number[]);
  const loadBefore = loadavg()[0] ?? 0;
  for (let r = 0; r < rounds; r++) {
    commands.forEach((c, i) => {
      const cpuBefore = childCpuSeconds();
      const started = performance.now();
      const res = spawnSync(c.argv[0] as string, c.argv.slice(1), { cwd: root, stdio: 'ignore', env: { ...process.env, npm_config_update_notifier: 'false' } });
      wall[i]?.push((performance.now() - started) / 1000);
      cpu[i]?.push(childCpuSeconds() - cpuBefore);
      if (res.error) throw res.error;
    });
  }
  const floorWall = median(wall[0] ?? []);
  const floorCpu = median(cpu[0] ?? []);
  console.log(`CLI start-up, median of ${rounds} alternating rounds (load ${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)})`);
  console.log(`${'command'.padEnd(46)} ${'wall s'.padStart(7)} ${'× floor'.padStart(8)} ${'cpu s'.padStart(7)} ${'× floor'.padStart(8)}`);
  commands.forEach((c, i) => {
    const w = median(wall[i] ?? []);
    const u = median(cpu[i] ?? []);
    console.log(`${c.name.padEnd(46)} ${w.toFixed(3).padStart(7)} ${(w / floorWall).toFixed(1).padStart(8)} ${u.toFixed(3).padStart(7)} ${(u / Math.max(floorCpu, 1 / ticksPerSecond)).toFixed(1).padStart(8)}`);
  });
}

main();
