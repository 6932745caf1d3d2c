/**
 * One record's value: the first 8 bytes of SHA-256 of the UTF-8 text `{id}:{version}` (the id as
 * the server renders it, lowercase and hyphenated), read as an unsigned big-endian integer.
 * @param {string} id
 * @param {number} version
 * @returns {Promise<bigint>}
 */
export function recordHash(id: string, version: number): Promise<bigint>;
/**
 * Count and checksum of live records (tombstones are left out): the sum of their
 * {@link recordHash} values modulo 2^64, as the decimal string `verify` answers.
 * @param {Iterable<{ id: string, version: number, deleted?: boolean }>} records
 * @returns {Promise<{ count: number, checksum: string }>}
 */
export function checksum(records: Iterable<{
    id: string;
    version: number;
    deleted?: boolean;
}>): Promise<{
    count: number;
    checksum: string;
}>;
