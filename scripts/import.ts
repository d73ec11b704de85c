/**
 * npm run import -- <file.ndjson | file.csv> [--url http://127.0.0.1:8080] [--type resident] [--token T]
 *
 * An integrator's first load: streams the file to POST /v1/records/bulk (never reading it whole), shows
 * how much has been sent, then prints the job's counts and each rejected line's issue. Exit code 1 when
 * any line was rejected, 2 on a usage or connection error. The token comes from --token or CRG_TOKEN
 * (with the embedded defaults: npm run -s token -- --role provider --org <ODS>).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { parseArgs } from 'node:util';

interface Job {
  id: string;
  state: string;
  linesRead: number;
  accepted: number;
  rejected: number;
  outcome?: { issue: { expression?: string[]; diagnostics?: string }[] };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string', default: 'http://127.0.0.1:8080' }, type: { type: 'string' }, token: { type: 'string' } },
  });
  const file = positionals[0];
  const token = values.token ?? process.env.CRG_TOKEN;
  if (!file || !token) {
    console.error('usage: npm run import -- <file.ndjson|file.csv> [--url URL] [--type TYPE] [--token T | CRG_TOKEN=T]');
    return 2;
  }
  const csv = path.extname(file).toLowerCase() === '.csv';
  if (csv && !values.type) {
    console.error('a CSV file needs --type <record type>');
    return 2;
  }
  const total = fs.statSync(file).size;
  let sent = 0;
  const progress = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      if (process.stderr.isTTY) {
        const width = 30;
        const filled = Math.round((sent / Math.max(total, 1)) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round((sent / Math.max(total, 1)) * 100)}% of ${total} bytes`);
      }
      done(null, chunk);
    },
  });
  const body = Readable.toWeb(fs.createReadStream(file).pipe(progress)) as ReadableStream;
  const query = csv ? `?type=${encodeURIComponent(values.type!)}` : '';
  const res = await fetch(`${values.url}/v1/records/bulk${query}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': csv ? 'text/csv' : 'application/x-ndjson' },
    body,
    duplex: 'half',
  } as RequestInit);
  if (process.stderr.isTTY) process.stderr.write('\n');
  const answer = (await res.json()) as Job & { issue?: { diagnostics?: string }[] };
  if (res.status !== 202) {
    console.error(`refused (${res.status}): ${(answer.issue ?? []).map((i) => i.diagnostics).join('; ')}`);
    return 2;
  }
  console.log(`job ${answer.id}: ${answer.state}; ${answer.linesRead} lines read, ${answer.accepted} accepted, ${answer.rejected} rejected`);
  for (const found of answer.outcome?.issue ?? []) console.log(`  ${found.expression?.[0] ?? ''}: ${found.diagnostics ?? ''}`);
  return answer.rejected > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`import failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
