/** One line of answer from the person at the terminal (stdin), after a question on stderr. */
import { createInterface } from 'node:readline/promises';

export async function ask(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await prompt.question(question);
  } finally {
    prompt.close();
  }
}
