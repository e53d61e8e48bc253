// What an editor shows of the published API: the declarations in dist/ reachable from the
// package's main entry (dist/index.d.ts and the namespaces it exports), read with the TypeScript
// compiler API. Counts the exported classes, functions, interfaces, types and constants that carry
// a doc comment, and their public members (properties, methods, constructors, options); names
// what lacks one; and checks that every type a public signature mentions is exported too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import ts from 'typescript';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const program = ts.createProgram([join(dist, 'index.d.ts')], {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: [],
  noEmit: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();
const ours = (decl) => decl.getSourceFile().fileName.startsWith(dist);

const resolve = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
const documented = (s) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim() !== '';

/** Every symbol the main entry exports, by its public name (sn.X, sn.data.Y, ...). */
function exportsOf(moduleSymbol, prefix, out = new Map()) {
  for (const s of checker.getExportsOfModule(moduleSymbol)) {
    const target = resolve(s);
    const name = `${prefix}${s.name}`;
    if (target.flags & ts.SymbolFlags.ValueModule && target.declarations?.some(ts.isSourceFile)) exportsOf(target, `${name}.`, out);
    else out.set(name, target);
  }
  return out;
}

const entry = program.getSourceFile(join(dist, 'index.d.ts'));
const exported = exportsOf(checker.getSymbolAtLocation(entry), 'sn.');
const exportedSymbols = new Set(exported.values());

function kindOf(s) {
  const f = s.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Variable) return 'constant';
  return 'other';
}

const hidden = (decl) => {
  const flags = ts.getCombinedModifierFlags(decl);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0 ||
    (decl.name !== undefined && ts.isPrivateIdentifier(decl.name));
};

/**
 * The public members of an exported class or interface, inherited ones included when they are
 * declared in this package (a base class it does not export, say), as [name, symbol, declaration]:
 * properties, methods, accessors, static members, and the constructors `new X(` shows.
 */
function membersOf(s, kind) {
  const out = [];
  const add = (m) => {
    const decls = (m.declarations ?? []).filter(ours);
    if (decls.length === 0 || decls.every(hidden) || m.name === 'prototype') return;
    out.push([`${decls[0].parent.name?.text ?? s.name}.${m.name}`, m, decls[0]]);
  };
  for (const m of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(s))) add(m);
  if (kind === 'class') {
    const staticSide = checker.getTypeOfSymbol(s);
    for (const m of checker.getPropertiesOfType(staticSide)) add(m);
    for (const sig of staticSide.getConstructSignatures()) {
      const d = sig.getDeclaration();
      if (d && ours(d) && !hidden(d)) out.push([`${d.parent.name?.text ?? s.name}.constructor`, sig, d]);
    }
  }
  return out;
}

const items = [...exported].map(([name, s]) => ({ name, s, kind: kindOf(s) }));
// declaration → [name, symbol or signature]: each member counted once however many classes inherit it.
const members = new Map();
for (const { s, kind } of items) {
  if (kind === 'class' || kind === 'interface') for (const [name, m, d] of membersOf(s, kind)) if (!members.has(d)) members.set(d, [name, m]);
}

test('doc comments on the exported API and its public members', () => {
  const top = items.filter((i) => i.kind !== 'other');
  const topMissing = top.filter((i) => !documented(i.s)).map((i) => `${i.name} (${i.kind})`);
  const memberMissing = [...members.values()].filter(([, m]) => !documented(m)).map(([name]) => name);
  const byKind = {};
  for (const i of top) {
    const k = (byKind[i.kind] ??= [0, 0]);
    k[1]++;
    if (documented(i.s)) k[0]++;
  }
  const pct = (have, all) => `${(100 * have / all).toFixed(1)}%`;
  const topHave = top.length - topMissing.length, memberHave = members.size - memberMissing.length;
  console.log(`  exported: ${topHave}/${top.length} documented (${pct(topHave, top.length)}); ` +
    Object.entries(byKind).map(([k, [h, n]]) => `${k} ${h}/${n}`).join(', '));
  console.log(`  public members: ${memberHave}/${members.size} documented (${pct(memberHave, members.size)})`);
  if (topMissing.length) console.log(`  exported without a doc comment: ${topMissing.join(', ')}`);
  if (memberMissing.length) console.log(`  members without a doc comment: ${memberMissing.join(', ')}`);
  assert.ok(top.length > 100 && members.size > 300, `too few declarations found (${top.length}, ${members.size}): is dist/index.d.ts built?`);
  assert.ok(topHave / top.length >= 0.95, `${pct(topHave, top.length)} of the exported declarations have a doc comment, at least 95% must; missing: ${topMissing.join(', ')}`);
  assert.ok(memberHave / members.size >= 0.9, `${pct(memberHave, members.size)} of the public members have a doc comment, at least 90% must; missing: ${memberMissing.join(', ')}`);
});

test('the main classes have an example, and their constructors a doc comment of their own', () => {
  const main = ['Conv2d', 'Linear', 'MaxPool2d', 'AvgPool2d', 'AdaptiveAvgPool2d', 'BatchNorm1d', 'BatchNorm2d', 'Sequential', 'Module',
    'CrossEntropyLoss', 'NLLLoss', 'MSELoss', 'BCEWithLogitsLoss', 'SGD', 'Adam', 'AdamW', 'StepLR', 'CosineAnnealingLR', 'Tensor'];
  const lacking = [];
  for (const name of [...main, 'fit', 'tensor']) {
    const s = exported.get(`sn.${name}`);
    assert.ok(s, `sn.${name} is not exported`);
    const text = ts.displayPartsToString(s.getDocumentationComment(checker));
    const tags = s.getJsDocTags(checker);
    if (!tags.some((t) => t.name === 'example') && !/```/.test(text)) lacking.push(`sn.${name}: no @example`);
  }
  for (const name of main) {
    const sigs = checker.getTypeOfSymbol(exported.get(`sn.${name}`)).getConstructSignatures();
    if (!sigs.some((sig) => sig.getDeclaration()) || !sigs.every(documented)) lacking.push(`sn.${name}: constructor without a doc comment`);
  }
  assert.equal(lacking, []);
});

/** The declarations of this package that a node's type annotations refer to. */
function referencedDeclarations(node, out = new Set()) {
  if (ts.isTypeReferenceNode(node) || ts.isTypeQueryNode(node)) {
    const name = ts.isTypeReferenceNode(node) ? node.typeName : node.exprName;
    const s = checker.getSymbolAtLocation(name);
    if (s) out.add(resolve(s));
  }
  // Hidden members (private, protected) are not part of the public signature.
  if ((ts.isClassElement(node) || ts.isTypeElement(node)) && hidden(node)) return out;
  ts.forEachChild(node, (child) => { referencedDeclarations(child, out); });
  return out;
}

test('every type in a public signature is exported', () => {
  const unexported = new Map();
  const visit = (decl, where) => {
    for (const ref of referencedDeclarations(decl)) {
      if (ref.flags & ts.SymbolFlags.TypeParameter || exportedSymbols.has(ref)) continue;
      // Global declarations (the WebAssembly names declared for projects without the DOM lib) are not module exports.
      const moduleLevel = (ref.declarations ?? []).filter((d) => ours(d) && !ts.findAncestor(d.parent, ts.isModuleDeclaration));
      if (moduleLevel.length === 0) continue;
      if (!unexported.has(ref.name)) unexported.set(ref.name, where);
    }
  };
  for (const { name, s } of items) for (const d of s.declarations ?? []) if (ours(d)) visit(d, name);
  // Members inherited from a base class that is not exported are public too.
  for (const [d, [name]] of members) visit(d, name);
  const list = [...unexported].map(([type, where]) => `${type} (in ${where})`);
  assert.equal(list, [], `types used in public signatures but not exported from simdnet: ${list.join(', ')}`);
});

test.run();
