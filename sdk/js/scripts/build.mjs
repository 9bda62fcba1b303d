// npm run build: dist/jeton.js, dist/jeton.d.ts and dist/openapi.d.ts.
import { join } from 'node:path';
import { build, root } from './tools.mjs';

build(join(root, 'dist'));
