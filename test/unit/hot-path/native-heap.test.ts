import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FREED_BLOCK_BYTES, keepFreedBufferMemory } from '../../../infra/native-heap.js';

const builtModule = new URL('../../../dist/infra/native-heap.js', import.meta.url).href;
const MiB = 2 ** 20;

/**
 * A fresh process frees buffers of 1, 2, … 8 MiB one after another (each written, then collected)
 * and reports the MiB it faulted in meanwhile, after `keepFreedBufferMemory` or not. With glibc's
 * default thresholds each is a fresh mmap (1 + 2 + … + 8 = 36 MiB faulted); once the freed block
 * raised them, each is carved from the heap top the previous one left there (about the largest).
 */
function faultedMiB(keep: boolean): Promise<number> {
  const script = `
    const { keepFreedBufferMemory } = await import(${JSON.stringify(builtModule)});
    if (${String(keep)}) keepFreedBufferMemory();
    gc();
    // Made and dropped inside a call, so no slot of the loop still holds it when gc() runs.
    const touch = (bytes) => { Buffer.allocUnsafeSlow(bytes).fill(1); };
    const before = process.resourceUsage().minorPageFault;
    for (let mib = 1; mib <= 8; mib++) {
      touch(mib * ${MiB});
      gc();
    }
    console.log((process.resourceUsage().minorPageFault - before) * 4096 / ${MiB});
  `;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '--no-concurrent-array-buffer-sweeping', '--input-type=module', '-e', script], { timeout: 30_000 }, (err, out) => {
      if (err) reject(err);
      else resolve(Number(out.trim()));
    });
  });
}

const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;

describe('keepFreedBufferMemory', () => {
  it('frees a block glibc had mmapped, within the range its dynamic threshold follows', () => {
    expect(FREED_BLOCK_BYTES).toBeGreaterThan(128 * 1024);
    expect(FREED_BLOCK_BYTES).toBeLessThanOrEqual(32 * MiB);
  });

  it('never makes the block resident', () => {
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 4; i++) keepFreedBufferMemory();
    expect(process.memoryUsage().rss - before).toBeLessThan(FREED_BLOCK_BYTES);
  });

  it.runIf(glibc && process.platform === 'linux')('lets freed buffer memory be used again instead of faulted in afresh', async () => {
    const [without, kept] = await Promise.all([faultedMiB(false), faultedMiB(true)]);
    expect(without).toBeGreaterThanOrEqual(30);
    expect(kept).toBeLessThan(without / 2);
  });
});
