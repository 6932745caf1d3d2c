// @syncd/client/node: storage on the file system, for Node apps and tools. The only module of
// the package that imports Node built-ins; browsers never load it.
//
// The whole state is one JSON file replaced atomically on every commit: written to a temporary
// file in the same directory, flushed to disk, renamed over the old one, and the directory
// flushed, so that a crash (kill -9, power loss) at any moment leaves either the old state or the
// new one, never a mix. Commits that arrive while a write is under way are grouped into the next
// write. A lock file keeps a second process (or a second storage in this one) off the directory
// while it is open; the lock of a process that died is taken over.

import { mkdir, open, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyOps } from './storage/memory.js';
import { STORE_NAMES } from './storage/types.js';

/** @typedef {import('./storage/types.js').SyncStorage} SyncStorage */
/** @typedef {import('./storage/types.js').StorageOp} StorageOp */

const STATE = 'state.json';
const LOCK = 'lock';
const FORMAT = 1;

/**
 * @param {string} dir a directory of its own (created if missing)
 * @returns {SyncStorage}
 */
export function fileStorage(dir) {
  /** @type {Record<string, Map<string, unknown>>} */
  const image = Object.fromEntries(STORE_NAMES.map((n) => [n, new Map()]));
  /** @type {Promise<void> | null} */
  let loading = null;
  let locked = false;
  /** @type {Promise<void>} */
  let chain = Promise.resolve();
  /** @type {Promise<void> | null} */
  let next = null;
  let temp = 0;

  const write = async () => {
    const text = JSON.stringify({
      format: FORMAT,
      records: Object.fromEntries(image.records),
      outbox: Object.fromEntries(image.outbox),
      meta: Object.fromEntries(image.meta),
    });
    temp += 1;
    const tmp = join(dir, `${STATE}.${process.pid}.${temp}.tmp`);
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(dir, STATE));
    await syncDir(dir);
  };

  return {
    load() {
      loading ??= (async () => {
        await mkdir(dir, { recursive: true });
        await lock(dir);
        locked = true;
        await removeTemporaries(dir);
        const stored = await readState(dir);
        for (const name of STORE_NAMES) {
          for (const [key, value] of Object.entries(stored[name] ?? {})) image[name].set(key, value);
        }
      })();
      return loading.then(() => ({
        records: [...image.records.entries()],
        outbox: [...image.outbox.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
        meta: [...image.meta.entries()],
      }));
    },
    commit(ops) {
      if (!locked) return Promise.reject(new Error('fileStorage: load() first'));
      applyOps(image, ops);
      // One write carries every commit made before it starts.
      if (!next) {
        next = chain.then(() => {
          next = null;
          return write();
        });
        chain = next.catch(() => {});
      }
      return next;
    },
    async close() {
      await chain;
      if (locked) await unlink(join(dir, LOCK)).catch(() => {});
      locked = false;
      loading = null;
    },
  };
}

/** @param {string} dir */
async function readState(dir) {
  let text;
  try {
    text = await readFile(join(dir, STATE), 'utf8');
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const state = JSON.parse(text);
    if (state.format !== FORMAT) throw new Error(`unknown format ${state.format}`);
    return state;
  } catch (cause) {
    throw new Error(`fileStorage: ${join(dir, STATE)} is not a state this version can read`, { cause });
  }
}

/**
 * Takes the directory's lock, or fails if a live process holds it.
 * @param {string} dir
 */
async function lock(dir) {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new Error(`fileStorage: ${dir} is in use by process ${holder}`);
    }
    await unlink(path).catch(() => {});
  }
  throw new Error(`fileStorage: could not lock ${dir}`);
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
}

/** Temporary files of a write that a crash interrupted. @param {string} dir */
async function removeTemporaries(dir) {
  for (const name of await readdir(dir)) {
    if (name.startsWith(`${STATE}.`) && name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => {});
  }
}

/** Makes the rename durable. Some platforms cannot open a directory; they need no flush. @param {string} dir */
async function syncDir(dir) {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // not supported here
  } finally {
    await handle?.close();
  }
}
