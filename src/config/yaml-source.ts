import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair } from 'yaml';
import { START, type Position } from './problem.js';

/** Declarations are small; anything bigger is a mistake or an attack, refused before parsing. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Deeper flow nesting is refused before parsing: the parser would recurse until the stack runs out. */
const MAX_FLOW_DEPTH = 100;
/** yaml's guard against alias bombs ("billion laughs"): more alias expansions than this are refused. */
const MAX_ALIAS_COUNT = 100;

export type PathSegment = string | number;

/** One YAML document of a file, its plain value, and a way back from a value's path to its position. */
export interface SourceDocument {
  readonly value: unknown;
  /** Position of the value at `path`; with `key`, of the key naming it. Falls back to the nearest parent. */
  positionOf: (path: readonly PathSegment[], key?: boolean) => Position;
}

export type ParsedFile =
  | { readonly ok: true; readonly documents: SourceDocument[] }
  | { readonly ok: false; readonly position: Position; readonly message: string };

/** Decodes and parses a declaration file, refusing what is not small UTF-8 text of valid YAML. */
export function parseSource(bytes: Uint8Array): ParsedFile {
  if (bytes.length > MAX_FILE_BYTES) {
    return failure(START, `file is ${(bytes.length / 1024 / 1024).toFixed(1)} MiB; a declaration may be at most 1 MiB`);
  }
  let text: string;
  try {
    if (bytes.includes(0)) throw new Error('NUL byte');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return failure(START, 'not a text file: expected UTF-8 YAML, found binary data');
  }
  const deep = flowDepthProblem(text);
  if (deep !== undefined) return failure(deep, `nesting is deeper than ${MAX_FLOW_DEPTH} levels of [ ] or { }: not a declaration`);
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  if (!Array.isArray(docs)) return failure(START, 'file is empty');
  const where = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const documents: SourceDocument[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) return failure(where(error.pos[0]), `invalid YAML: ${firstLine(error.message)}`);
    if (doc.contents === null) continue; // an empty document between '---' markers
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const alias = err instanceof ReferenceError && /alias/i.test(err.message);
      const pos = doc.contents.range ? where(doc.contents.range[0]) : START;
      return failure(pos, alias ? 'too many YAML alias expansions (refused as a possible alias bomb)' : `invalid YAML: ${String(err)}`);
    }
    documents.push({ value, positionOf: (path, key = false) => where(offsetOf(doc, path, key)) });
  }
  if (documents.length === 0) return failure(START, 'file is empty: expected a MyT declaration (apiVersion, kind, metadata, spec)');
  return { ok: true, documents };
}

/**
 * Where '['/'{' nesting first passes MAX_FLOW_DEPTH. Brackets inside quoted strings count too, so
 * this over-estimates; no real declaration comes near the limit either way.
 */
export function flowDepthProblem(text: string): Position | undefined {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) [line, lineStart] = [line + 1, i + 1];
    else if (c === 91 || c === 123) {
      if (++depth > MAX_FLOW_DEPTH) return { line, col: i - lineStart + 1 };
    } else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
  return undefined;
}

function failure(position: Position, message: string): ParsedFile {
  return { ok: false, position, message };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Walks the node tree along `path`, remembering the deepest node found, and returns its start offset. */
function offsetOf(doc: Document, path: readonly PathSegment[], key: boolean): number {
  let node: Node | null | undefined = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  let keyOffset = offset;
  for (const segment of path) {
    let pair: Pair | undefined;
    let next: unknown;
    if (isMap(node)) {
      pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      next = pair?.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    } else {
      return offset;
    }
    if (pair === undefined && next === undefined) return offset;
    const keyNode = isPair(pair) && isScalar(pair.key) ? pair.key : undefined;
    keyOffset = keyNode?.range?.[0] ?? offset;
    node = next as Node | null;
    offset = node?.range?.[0] ?? keyOffset;
  }
  return key ? keyOffset : offset;
}
