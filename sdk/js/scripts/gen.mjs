// npm run gen: src/openapi.d.ts from ../../httpserver/openapi.json.
import { join } from 'node:path';
import { gen, root } from './tools.mjs';

gen(join(root, 'src', 'openapi.d.ts'));
