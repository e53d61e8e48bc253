// The published source maps resolve: every .js in dist/ that names a map has it beside it, and the
// map carries the text of every source it lists (sourcesContent), since the package ships dist/
// but not the ts/ sources the maps point at.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? jsFiles(path) : e.name.endsWith('.js') ? [path] : [];
  });
}

test('every source map in dist/ exists and embeds the sources it lists', () => {
  const files = jsFiles(dist);
  assert.ok(files.length > 50, `only ${files.length} .js files in dist/: is it built?`);
  assert.ok(files.some((f) => f.endsWith('simdnet.browser.js')), 'the browser bundle is in dist/');
  const problems = [];
  let maps = 0;
  for (const file of files) {
    const name = relative(dist, file);
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(file, 'utf8'))?.[1];
    if (url === undefined) continue;
    if (url.startsWith('data:')) { problems.push(`${name}: an inline map (the package ships map files)`); continue; }
    const mapPath = join(dirname(file), url);
    if (!existsSync(mapPath)) { problems.push(`${name}: its map ${url} is missing`); continue; }
    const map = JSON.parse(readFileSync(mapPath, 'utf8'));
    maps++;
    if (!Array.isArray(map.sources) || map.sources.length === 0) { problems.push(`${name}: its map lists no sources`); continue; }
    const content = map.sourcesContent ?? [];
    map.sources.forEach((source, i) => {
      if (typeof content[i] !== 'string' || content[i].length === 0) problems.push(`${name}: its map has no text for ${source}`);
    });
  }
  assert.ok(maps > 50, `only ${maps} source maps found`);
  assert.equal(problems, []);
});

test('a map embeds the source it was made from', () => {
  const map = JSON.parse(readFileSync(join(dist, 'tensor.js.map'), 'utf8'));
  const source = readFileSync(fileURLToPath(new URL('../ts/tensor.ts', import.meta.url)), 'utf8');
  assert.is(map.sourcesContent[map.sources.findIndex((s) => s.endsWith('tensor.ts'))], source);
  const bundle = JSON.parse(readFileSync(join(dist, 'simdnet.browser.js.map'), 'utf8'));
  const i = bundle.sources.findIndex((s) => s.endsWith('ts/tensor.ts'));
  assert.ok(i >= 0, 'the bundle map lists ts/tensor.ts');
  assert.is(bundle.sourcesContent[i], source);
});

test.run();
