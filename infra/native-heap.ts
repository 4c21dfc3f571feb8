/**
 * The size of the block `keepFreedBufferMemory` frees: glibc then keeps up to twice this much
 * free memory at the top of its heap. It must exceed what one scavenge frees (V8 scavenges once
 * the young generation's ArrayBuffers pass its capacity, 16 MiB per semi-space by default) and
 * stay within glibc's ceiling for the dynamic threshold (32 MiB on 64-bit).
 */
export const FREED_BLOCK_BYTES = 16 * 2 ** 20;

/**
 * Lets the C allocator keep the memory of freed socket buffers for the next ones.
 *
 * Node reads every socket into a fresh 64 KiB malloc'd buffer, freed when V8 collects it, so a
 * large transfer frees ~20 MB of them at each scavenge. glibc's malloc gives a free top of its
 * heap above M_TRIM_THRESHOLD (128 KiB by default) back to the system, and the next reads fault
 * every page back in. Measured in the gateway during 64 MiB GETs (strace): the heap shrank by
 * ~19.8 MB after each scavenge and grew back 192 KiB at a time, ~100 minor faults per MB read,
 * the kernel's copy into the read buffers faulting; 2-4x the proxy's CPU per GB. Whether a
 * process trims so depends on its allocation history, hence runs of one build differing 2-3x.
 *
 * glibc raises the threshold itself when a block it had mmapped (one above M_MMAP_THRESHOLD) is
 * freed: the mmap threshold becomes that block's size and the trim threshold twice it (the
 * dynamic threshold of mallopt(3); an operator's MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_
 * turns it off and wins). So this allocates one such block and drops it: V8 frees it at the next
 * scavenge. It is never written, so it never becomes resident. Elsewhere than glibc it is a
 * passing allocation of address space.
 */
export function keepFreedBufferMemory(): void {
  Buffer.allocUnsafeSlow(FREED_BLOCK_BYTES);
}
