import type { Position } from './problem.js';
import type { Platform } from './types/platform.generated.js';
import type { Space } from './types/space.generated.js';
import type { PathSegment } from './yaml-source.js';

export type { Platform, Space };

/** A schema-valid declaration and where it came from. */
export interface Declared<T> {
  /** Path relative to the repository root, with '/' separators. */
  readonly file: string;
  readonly doc: T;
  /** Position of a value in the file (see SourceDocument.positionOf). */
  positionOf: (path: readonly PathSegment[], key?: boolean) => Position;
}
