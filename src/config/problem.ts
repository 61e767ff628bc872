/** One thing wrong with the user's files, located so an editor can jump to it. */
export interface Problem {
  /** Path relative to the repository root, with '/' separators. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
  readonly message: string;
}

export interface Position {
  readonly line: number;
  readonly col: number;
}

export const START: Position = { line: 1, col: 1 };

export function problemAt(file: string, pos: Position, message: string): Problem {
  return { file, line: pos.line, col: pos.col, message };
}

/** Orders problems by file, then position, so output is stable whatever order checks ran in. */
export function byLocation(a: Problem, b: Problem): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col;
}
