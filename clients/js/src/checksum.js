// The integrity checksum of SPEC §10, computed over the local copy the same way the server
// computes it for `POST /api/client/sync/verify`: equal values mean the local copy holds exactly
// the server's live records of that type at the cursor; a mismatch means drift, repaired by a
// resync of the type. Web Crypto only (browsers and Node >= 20), so the module stays browser-safe.

const MOD = 1n << 64n;

/**
 * One record's value: the first 8 bytes of SHA-256 of the UTF-8 text `{id}:{version}` (the id as
 * the server renders it, lowercase and hyphenated), read as an unsigned big-endian integer.
 * @param {string} id
 * @param {number} version
 * @returns {Promise<bigint>}
 */
export async function recordHash(id, version) {
  const bytes = new TextEncoder().encode(`${id}:${version}`);
  const digest = new DataView(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return digest.getBigUint64(0, false);
}

/**
 * Count and checksum of live records (tombstones are left out): the sum of their
 * {@link recordHash} values modulo 2^64, as the decimal string `verify` answers.
 * @param {Iterable<{ id: string, version: number, deleted?: boolean }>} records
 * @returns {Promise<{ count: number, checksum: string }>}
 */
export async function checksum(records) {
  let sum = 0n;
  let count = 0;
  for (const record of records) {
    if (record.deleted === true) continue;
    sum = (sum + (await recordHash(record.id, record.version))) % MOD;
    count += 1;
  }
  return { count, checksum: sum.toString() };
}
