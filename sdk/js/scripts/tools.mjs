// Shared by the build, gen and check scripts: one place that knows how the
// generated types and dist/ are made, so the check rebuilds them exactly.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (sdk/js). */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** jeton's served OpenAPI document, the types' single source. */
export const openapiJson = join(root, '..', '..', 'httpserver', 'openapi.json');

function run(script, args) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', script), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status})`);
}

/**
 * Generates the types of /openapi.json into `out`. Defaults do not make a
 * field required (a body may leave it out), and a schema that is only
 * `{"type": "object"}` becomes Record<string, unknown>, not an empty type.
 */
export function gen(out) {
  run('openapi-typescript/bin/cli.js', [openapiJson, '-o', out, '--default-non-nullable', 'false', '--empty-objects-unknown']);
}

/** Compiles src/ into `outDir` (emptied first) with the generated types beside it. */
export function build(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  run('typescript/bin/tsc', ['-p', join(root, 'tsconfig.json'), '--outDir', outDir]);
  mkdirSync(outDir, { recursive: true });
  // tsc does not copy .d.ts sources; jeton.d.ts imports this one.
  copyFileSync(join(root, 'src', 'openapi.d.ts'), join(outDir, 'openapi.d.ts'));
}

/** Type-checks the usage examples in test/ (no output). */
export function typecheckTests() {
  run('typescript/bin/tsc', ['-p', join(root, 'test', 'tsconfig.json')]);
}
