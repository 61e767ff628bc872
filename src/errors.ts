/**
 * An error caused by the user's input or surroundings (a bad file, a missing tool, a refused login).
 * Front doors print its message, never its stack: the message must say what is wrong and how to fix it.
 */
export class MytError extends Error {
  override readonly name: string = 'MytError';
}

/** The command line itself is wrong: the CLI exits with 2. */
export class UsageError extends MytError {
  override readonly name = 'UsageError';
}

/** The message of anything thrown, for reports; non-Error values are stringified. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
