/**
 * What `rotate-encryption-key --old-key-id <id>` re-wraps. The manual's step is: put the new
 * key in `master_key`, move the old one to `previous_keys`, restart, then rotate with
 * `--old-key-id config-0`. After that restart `config-0` names the *new* key, so resolving the
 * alias now would select nothing (the reference re-wraps the wrong set here). Each wrap records
 * the alias its key had when it was made, so the id selects:
 * - wraps made under that alias (what `config-0` meant when they were written), and
 * - wraps by the key the id names now (an alias such as `config-1`, or a fingerprint),
 * never wraps that are already by the primary key: there is nothing to re-wrap there.
 */

export interface RecordedWrap {
  readonly keyId: string;
  readonly keyAlias: string;
}

export interface KeyringView {
  readonly primaryKeyId: string;
  /** The key id an alias or key id names now, undefined when it names none. */
  resolve(aliasOrKeyId: string): string | undefined;
}

export interface RotationScope {
  /** The key the id names now, if any. */
  readonly resolvedKeyId: string | undefined;
  readonly selects: (wrap: RecordedWrap) => boolean;
}

export function rotationScope(oldKeyId: string, keyring: KeyringView): RotationScope {
  return rotationScopeOf(oldKeyId, keyring.resolve(oldKeyId), keyring.primaryKeyId);
}

/**
 * The same scope from what a rotation job recorded when it started (the id as given and the key
 * it named then), so a job resumed after a restart with other keys still selects the same wraps.
 */
export function rotationScopeOf(oldKeyId: string, resolvedKeyId: string | undefined, primary: string): RotationScope {
  return {
    resolvedKeyId,
    selects: (wrap) => wrap.keyId !== primary && (wrap.keyAlias === oldKeyId || wrap.keyId === resolvedKeyId),
  };
}
