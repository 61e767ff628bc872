import { createInterface } from 'node:readline/promises';

/** Asks a person at the terminal (on stderr, so stdout stays clean) and returns the line typed. */
export async function promptLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
