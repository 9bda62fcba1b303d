// npm run check-dist: regenerates the types and rebuilds dist/ in a
// temporary folder and fails if either differs from the files here (the
// committed ones in a fresh clone). It writes nothing in the package.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, gen, root, typecheckTests } from './tools.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'jeton-sdk-check-'));
const stale = [];
const same = (a, b) => {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
};
try {
  gen(join(tmp, 'openapi.d.ts'));
  if (!same(join(tmp, 'openapi.d.ts'), join(root, 'src', 'openapi.d.ts'))) stale.push('src/openapi.d.ts (run npm run gen)');

  build(join(tmp, 'dist'));
  const want = readdirSync(join(tmp, 'dist')).sort();
  let have = [];
  try {
    have = readdirSync(join(root, 'dist')).sort();
  } catch {}
  for (const f of new Set([...want, ...have])) {
    if (!same(join(tmp, 'dist', f), join(root, 'dist', f))) stale.push(`dist/${f} (run npm run build)`);
  }
  typecheckTests();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (stale.length) {
  console.error('out of date:\n  ' + stale.join('\n  '));
  process.exit(1);
}
console.log('src/openapi.d.ts and dist/ are current');
