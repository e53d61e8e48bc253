// The layer types a model file may name. Every built-in layer registers itself here from its own
// file (its type name, the fields of its spec, how to build one from them), as tfjs registers
// kernels: io/architecture.ts reads specs through this table without importing any layer, and
// layers never import io. This module imports nothing, so anything can import it.

/** What a spec field holds; io/architecture.ts checks a value of each kind (ranges are the constructor's to check). */
export type FieldKind = 'int' | 'intOrNull' | 'number' | 'numberOrNull' | 'bool' | 'string' | 'size2' | 'convPadding' | 'layers';

/** A spec's fields once their kinds were checked; a 'layers' field holds the child layers, built. */
// The values build() receives have passed their FieldKind checks.
export type LayerConfig = Record<string, any>;

/** A registered layer type. */
export interface LayerType<M extends object = object> {
  /** The name in specs and files, e.g. 'Conv2d': spelt out, since minifiers rename classes. */
  readonly typeName: string;
  /** The exact class: an instance of a subclass is not of this type (it may behave differently). */
  readonly ctor: abstract new (...args: never[]) => M;
  /** The spec's fields and their kinds, in the order a spec lists them. */
  readonly fields: Readonly<Record<string, FieldKind>>;
  /**
   * A layer's spec fields (its constructor arguments; a 'layers' field holds its child modules).
   * Default: the layer's own `config()`.
   */
  config?(layer: M): Record<string, unknown>;
  /** A new layer from checked fields. */
  build(c: LayerConfig): M;
  /**
   * How many state-dict values a layer with these fields holds (default none; children are
   * counted on their own), so that a spec asking for far more than its file holds is refused
   * before anything is allocated.
   */
  stateValues?(c: LayerConfig): number;
}

const byName = new Map<string, LayerType>();
const byPrototype = new Map<object, LayerType>();

/**
 * The registered type names, in alphabetical order: what a spec's "type" may be. A live binding,
 * replaced (frozen) at each registration.
 */
export let LAYER_TYPES: readonly string[] = Object.freeze([]);

/**
 * Adds a layer type; internal, not part of the public API. Each built-in layer's file calls this
 * once when it is loaded; a name or a class registered twice is refused (two classes under one
 * name could not be told apart in a file).
 */
export function registerLayer<M extends object>(type: LayerType<M>): void {
  if (byName.has(type.typeName)) throw new Error(`registerLayer: a layer type named '${type.typeName}' is registered already`);
  if (byPrototype.has(type.ctor.prototype)) {
    throw new Error(`registerLayer: the class of '${type.typeName}' is registered already, as '${byPrototype.get(type.ctor.prototype)!.typeName}'`);
  }
  byName.set(type.typeName, type as unknown as LayerType);
  byPrototype.set(type.ctor.prototype, type as unknown as LayerType);
  LAYER_TYPES = Object.freeze([...byName.keys()].sort());
}

/** The registered type of that name, or undefined (a Map: "__proto__" or "constructor" find nothing). */
export function layerTypeNamed(name: string): LayerType | undefined {
  return byName.get(name);
}

/** @internal The registered type of exactly this layer's class, or undefined for a custom module or a subclass. */
export function layerTypeFor(layer: unknown): LayerType | undefined {
  if (typeof layer !== 'object' || layer === null) return undefined;
  return byPrototype.get(Object.getPrototypeOf(layer));
}

/**
 * The registered type name of a layer ('Conv2d', 'Sequential', ...), or null for a custom module
 * or a subclass of a built-in one. Unlike constructor.name it survives minification.
 */
export function layerTypeOf(layer: unknown): string | null {
  return layerTypeFor(layer)?.typeName ?? null;
}
