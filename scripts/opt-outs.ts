/**
 * npm run opt-outs -- <file> [--remove] [--url http://127.0.0.1:8080] [--token T]
 *
 * Loads the National Data Opt-out list an operator holds (one NHS number a line; blank lines and lines
 * starting with # are skipped; a CSV's first column is read) into the gateway, through
 * POST /v1/admin/opt-outs (or .../remove with --remove) in chunks, so every change is checked and audited.
 * Prints counts only, never a number. Exit code 1 when the gateway refused a chunk (its bad lines are
 * named by line number), 2 on a usage or connection error. Token from --token or CRG_TOKEN (an operator:
 * npm run -s token -- --role operator).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const CHUNK = 10_000;

interface Answer {
  received?: number;
  added?: number;
  removed?: number;
  total?: number;
  issue?: { expression?: string[]; diagnostics?: string }[];
}

function numbersOf(file: string): { value: string; line: number }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((text, i) => ({ value: text.split(',')[0].trim().replace(/^"|"$/g, ''), line: i + 1 }))
    .filter(({ value }) => value !== '' && !value.startsWith('#') && !/^nhs/i.test(value));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string', default: 'http://127.0.0.1:8080' }, token: { type: 'string' }, remove: { type: 'boolean', default: false } },
  });
  const file = positionals[0];
  const token = values.token ?? process.env.CRG_TOKEN;
  if (!file || !token) {
    console.error('usage: npm run opt-outs -- <file> [--remove] [--url URL] [--token T | CRG_TOKEN=T]');
    return 2;
  }
  const numbers = numbersOf(file);
  const endpoint = `${values.url}/v1/admin/opt-outs${values.remove ? '/remove' : ''}`;
  let changed = 0;
  let total = 0;
  let refused = false;
  for (let start = 0; start < numbers.length; start += CHUNK) {
    const chunk = numbers.slice(start, start + CHUNK);
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ nhsNumbers: chunk.map((n) => n.value) }),
    });
    const answer = (await res.json()) as Answer;
    if (res.status !== 200) {
      refused = true;
      console.log(`lines ${chunk[0].line} to ${chunk[chunk.length - 1].line} refused (${res.status}):`);
      for (const found of answer.issue ?? []) {
        // nhsNumbers[i] -> the file's line number, so the operator can find it without the number being printed.
        const index = /\[(\d+)\]/.exec(found.expression?.[0] ?? '')?.[1];
        console.log(`  ${index !== undefined ? `line ${chunk[Number(index)].line}` : 'request'}: ${found.diagnostics ?? ''}`);
      }
      continue;
    }
    changed += answer.added ?? answer.removed ?? 0;
    total = answer.total ?? total;
  }
  console.log(`${numbers.length} NHS numbers read, ${changed} ${values.remove ? 'removed' : 'added'}; ${total} opt-outs registered`);
  return refused ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`opt-outs failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
