import { flowDepthProblem } from '../config/yaml-source.js';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, Document, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';

/**
 * A SOPS document as sops sees it: ordered maps (the MAC covers order), lists, and typed scalars.
 * The scalar kinds are sops' own (str, int, float, bool); `null` values are kept but, as in sops,
 * neither encrypted nor covered by the MAC. Comments are dropped: sops would encrypt them, and a
 * comment in a secrets file is no place for anything that must stay readable.
 */
export type Leaf =
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' };
export type Tree = Leaf | { readonly kind: 'map'; readonly entries: readonly (readonly [string, Tree])[] } | { readonly kind: 'list'; readonly items: readonly Tree[] };
export type MapTree = Extract<Tree, { kind: 'map' }>;

export type SopsFormat = 'yaml' | 'json';

/** The format sops would pick for a file name: .json is JSON, .yaml/.yml YAML; others are not read here. */
export function formatOf(file: string): SopsFormat | undefined {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  return undefined;
}

/** Thrown for text that is not a YAML/JSON mapping; the message never quotes the file's content. */
export class TreeSyntaxError extends Error {}

const CORE_INT = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;

/** Parses YAML or JSON text into a tree, keeping key order and scalar kinds as sops would. */
export function parseTree(text: string, format: SopsFormat): MapTree {
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      // JSON.parse's message quotes the text around the fault, which may be a secret: keep the line only.
      const at = /position (\d+)/.exec((err as Error).message)?.[1];
      throw new TreeSyntaxError(at === undefined ? 'not valid JSON' : `not valid JSON at line ${text.slice(0, Number(at)).split('\n').length}`);
    }
  }
  // JSON is parsed by the YAML parser too: JSON.parse would move integer-like keys to the front,
  // and the MAC depends on the order written.
  const deep = flowDepthProblem(text);
  if (deep) throw new TreeSyntaxError(`nested more than 100 levels deep at line ${deep.line}`);
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) throw new TreeSyntaxError('not a YAML document');
  if (docs.length !== 1) throw new TreeSyntaxError(docs.length === 0 ? 'the file is empty' : 'several YAML documents in one file are not supported');
  const doc = docs[0]!;
  const error = doc.errors[0];
  if (error) throw new TreeSyntaxError(`not valid ${format === 'json' ? 'JSON' : 'YAML'} at line ${error.linePos?.[0].line ?? '?'} (${error.code})`);
  const tree = fromNode(doc.contents, doc, format, 0);
  if (tree.kind !== 'map') throw new TreeSyntaxError('the top level must be a mapping of keys to values');
  return tree;
}

function fromNode(node: unknown, doc: Document.Parsed, format: SopsFormat, depth: number): Tree {
  if (depth > 100) throw new TreeSyntaxError('nested more than 100 levels deep');
  // sops writes every value out in full, so a secrets file with aliases was edited by hand; refusing
  // them also rules out alias bombs (a few hundred bytes expanding without end).
  if (isAlias(node)) throw new TreeSyntaxError(`YAML aliases (*${node.source}) are not supported in secrets files: write the value out`);
  if (isMap(node)) {
    const entries: [string, Tree][] = [];
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') throw new TreeSyntaxError('a mapping key is not a plain value');
      entries.push([String(key), fromNode(pair.value, doc, format, depth + 1)]);
    }
    return { kind: 'map', entries };
  }
  if (isSeq(node)) return { kind: 'list', items: node.items.map((item) => fromNode(item, doc, format, depth + 1)) };
  if (node === null || node === undefined) return { kind: 'null' };
  if (!isScalar(node)) throw new TreeSyntaxError('unsupported YAML node');
  const value = node.value;
  if (value === null) return { kind: 'null' };
  if (typeof value === 'string') return { kind: 'str', value };
  if (typeof value === 'boolean') return { kind: 'bool', value };
  if (typeof value === 'number') {
    // sops' JSON store reads every number as float64; its YAML store keeps ints and floats apart.
    const tag = node.tag ?? '';
    const isInt = format === 'yaml' && (tag.endsWith(':int') || (!tag.endsWith(':float') && CORE_INT.test(node.source ?? '')));
    if (isInt) {
      if (!Number.isSafeInteger(value)) throw new TreeSyntaxError('an integer is too large to keep exactly: quote it to store it as text');
      return { kind: 'int', value };
    }
    return { kind: 'float', value };
  }
  throw new TreeSyntaxError(`unsupported value type ${typeof value}`);
}

/** The tree as plain JavaScript values (maps become objects, in order). */
export function toPlain(tree: Tree): unknown {
  switch (tree.kind) {
    case 'map': {
      const out: Record<string, unknown> = {};
      // defineProperty, not assignment: a key named __proto__ is a key, not the object's prototype.
      for (const [k, v] of tree.entries) Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
      return out;
    }
    case 'list':
      return tree.items.map(toPlain);
    case 'null':
      return null;
    default:
      return tree.value;
  }
}

/** Emits a tree as text in sops' layout: YAML with 4-space indents, or tab-indented JSON. */
export function emitTree(tree: MapTree, format: SopsFormat): string {
  if (format === 'json') return `${jsonOf(tree, '')}\n`;
  const doc = new Document();
  doc.contents = yamlNode(tree);
  return doc.toString({ indent: 4, indentSeq: true, lineWidth: 0 });
}

function yamlNode(tree: Tree): Node {
  switch (tree.kind) {
    case 'map': {
      const map = new YAMLMap();
      for (const [k, v] of tree.entries) map.add({ key: new Scalar(k), value: yamlNode(v) });
      return map;
    }
    case 'list': {
      const seq = new YAMLSeq();
      for (const item of tree.items) seq.add(yamlNode(item));
      return seq;
    }
    case 'null':
      return new Scalar(null);
    case 'float': {
      const s = new Scalar(tree.value);
      // Keep a float a float when read back: 3.0, not 3.
      if (Number.isInteger(tree.value)) s.minFractionDigits = 1;
      return s;
    }
    case 'str': {
      const s = new Scalar(tree.value);
      // Go's YAML reads an unquoted date as a timestamp, not text: quote anything that starts like one.
      if (/^\d{4}-\d\d?-\d\d?/.test(tree.value)) s.type = Scalar.QUOTE_DOUBLE;
      return s;
    }
    default:
      return new Scalar(tree.value);
  }
}

function jsonOf(tree: Tree, indent: string): string {
  const inner = `${indent}\t`;
  switch (tree.kind) {
    case 'map':
      if (tree.entries.length === 0) return '{}';
      return `{\n${tree.entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${jsonOf(v, inner)}`).join(',\n')}\n${indent}}`;
    case 'list':
      if (tree.items.length === 0) return '[]';
      return `[\n${tree.items.map((v) => `${inner}${jsonOf(v, inner)}`).join(',\n')}\n${indent}]`;
    case 'null':
      return 'null';
    case 'float':
    case 'int':
      if (!Number.isFinite(tree.value)) throw new TreeSyntaxError('JSON cannot hold infinity or NaN');
      return JSON.stringify(tree.value);
    default:
      return JSON.stringify(tree.value);
  }
}

/** A map's value under a key, if any. */
export function entry(tree: MapTree, key: string): Tree | undefined {
  return tree.entries.find(([k]) => k === key)?.[1];
}

/** Plain JavaScript data (from YAML the user wrote, or decrypted values) as a tree. */
export function fromPlain(value: unknown): Tree {
  if (value === null || value === undefined) return { kind: 'null' };
  if (typeof value === 'string') return { kind: 'str', value };
  if (typeof value === 'boolean') return { kind: 'bool', value };
  if (typeof value === 'number') return Number.isInteger(value) ? { kind: 'int', value } : { kind: 'float', value };
  if (Array.isArray(value)) return { kind: 'list', items: value.map(fromPlain) };
  if (typeof value === 'object') return { kind: 'map', entries: Object.entries(value).map(([k, v]) => [k, fromPlain(v)] as const) };
  throw new TreeSyntaxError(`unsupported value type ${typeof value}`);
}
