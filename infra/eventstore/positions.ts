import type { Position } from '../../domain/eventstore/port.js';

/** Positions are `<tx id, 20 digits>:<seq, 19 digits>`, so string order is log order. */
export function encodePosition(txId: string, seq: string | number | bigint): Position {
  return `${txId.padStart(20, '0')}:${String(seq).padStart(19, '0')}` as Position;
}

export function decodePosition(p: Position | undefined): { txId: string; seq: string } {
  if (!p) return { txId: '0', seq: '0' };
  const [tx, seq] = p.split(':');
  if (!tx || !seq || !/^\d{20}$/.test(tx) || !/^\d{19}$/.test(seq)) throw new Error(`malformed position: ${p}`);
  return { txId: BigInt(tx).toString(), seq: BigInt(seq).toString() };
}
