// The shipped .d.ts files (types/) are generated from the JSDoc of src/ by `npm run types` and
// committed. This check regenerates them into a temporary folder and fails when they differ, so a
// change of src/ cannot ship with stale types.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = mkdtempSync(join(tmpdir(), 'syncd-types-'));
try {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.types.json'), '--outDir', out], { stdio: 'inherit' });
  const fresh = files(out);
  const shipped = files(join(root, 'types'));
  const problems = [];
  for (const [name, text] of fresh) {
    if (!shipped.has(name)) problems.push(`missing: types/${name}`);
    else if (shipped.get(name) !== text) problems.push(`stale: types/${name}`);
  }
  for (const name of shipped.keys()) if (!fresh.has(name)) problems.push(`extra: types/${name}`);
  if (problems.length > 0) {
    console.error(`${problems.join('\n')}\nrun \`npm run types\` and commit types/`);
    process.exit(1);
  }
  console.log(`types/ is current (${fresh.size} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

/** @param {string} dir @returns {Map<string, string>} */
function files(dir) {
  const map = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else map.set(relative(dir, path), readFileSync(path, 'utf8'));
    }
  };
  try {
    walk(dir);
  } catch {
    // no folder: every file is missing
  }
  return map;
}
