/**
 * npm run dead-letters -- list | replay <id> | replay --all   [--url http://127.0.0.1:8080] [--token T]
 *
 * Operators: see the submissions the SCR refused (`rejected`) or that ran out of attempts (`failed`), and
 * queue them again, through the operator API (GET /v1/admin/dead-letters, POST .../{id}/replay). Prints a
 * table. The token (an operator's) comes from --token, else GATEWAY_TOKEN, else CRG_TOKEN (as `npm run
 * import` uses); with the embedded defaults: npm run -s token -- --role operator.
 * Exit code 0 when everything asked for was done, 1 when the gateway refused or a replay failed, 2 on a
 * usage or connection error.
 */
import { parseArgs } from 'node:util';

interface DeadLetter {
  id: string;
  state: string;
  attempts: number;
  updatedAt: string;
  records: string[];
  lastError?: { issue?: { diagnostics?: string; code?: string }[] };
}

class Usage extends Error {}

const USAGE = 'usage: npm run dead-letters -- list | replay <id> | replay --all  [--url URL] [--token T | GATEWAY_TOKEN=T]';

/** Fixed-width columns; the last column is not padded. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function lastError(d: DeadLetter): string {
  const first = d.lastError?.issue?.[0];
  const text = first?.diagnostics ?? first?.code ?? '';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The OperationOutcome's diagnostics, or the status when the answer has none. */
async function refusal(res: Response): Promise<string> {
  const body = (await res.json().catch(() => undefined)) as { issue?: { diagnostics?: string }[] } | undefined;
  const why = (body?.issue ?? []).map((i) => i.diagnostics).filter(Boolean).join('; ');
  return `HTTP ${res.status}${why ? `: ${why}` : ''}`;
}

class Api {
  constructor(private readonly url: string, private readonly token: string) {}

  request(method: 'GET' | 'POST', path: string): Promise<Response> {
    return fetch(`${this.url.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
  }
}

async function list(api: Api): Promise<DeadLetter[] | string> {
  const res = await api.request('GET', '/v1/admin/dead-letters?limit=1000');
  if (res.status !== 200) return refusal(res);
  return ((await res.json()) as { deadLetters: DeadLetter[] }).deadLetters;
}

async function replay(api: Api, id: string): Promise<{ ok: boolean; result: string }> {
  const res = await api.request('POST', `/v1/admin/dead-letters/${encodeURIComponent(id)}/replay`);
  if (res.status === 202) return { ok: true, result: `queued again (${((await res.json()) as { state: string }).state})` };
  return { ok: false, result: await refusal(res) };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      token: { type: 'string' },
      all: { type: 'boolean', default: false },
    },
  });
  const token = (values.token ?? process.env.GATEWAY_TOKEN ?? process.env.CRG_TOKEN ?? '').replace(/^Bearer\s+/i, '');
  if (!token) throw new Usage('an operator token is needed: --token T or GATEWAY_TOKEN');
  const api = new Api(values.url ?? 'http://127.0.0.1:8080', token);
  const [command, id, ...extra] = positionals;

  if (command === 'list' && !id && !values.all) {
    const found = await list(api);
    if (typeof found === 'string') {
      console.error(`listing dead letters refused: ${found}`);
      return 1;
    }
    if (found.length === 0) {
      console.log('no dead letters');
      return 0;
    }
    console.log(table(
      ['ID', 'STATE', 'ATTEMPTS', 'UPDATED', 'RECORDS', 'LAST ERROR'],
      found.map((d) => [d.id, d.state, String(d.attempts), d.updatedAt, d.records.join(','), lastError(d)]),
    ));
    console.log(`${found.length} dead letter(s)`);
    return 0;
  }

  if (command === 'replay' && extra.length === 0 && (id ? !values.all : values.all)) {
    let ids: string[];
    if (id) ids = [id];
    else {
      const found = await list(api);
      if (typeof found === 'string') {
        console.error(`listing dead letters refused: ${found}`);
        return 1;
      }
      ids = found.map((d) => d.id);
    }
    if (ids.length === 0) {
      console.log('no dead letters to replay');
      return 0;
    }
    const rows: string[][] = [];
    let failed = 0;
    for (const each of ids) {
      const { ok, result } = await replay(api, each);
      if (!ok) failed++;
      rows.push([each, ok ? 'replayed' : 'FAILED', result]);
    }
    console.log(table(['ID', 'REPLAY', 'RESULT'], rows));
    console.log(`${ids.length - failed} replayed, ${failed} failed`);
    return failed > 0 ? 1 : 0;
  }

  throw new Usage(USAGE);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof Usage || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(err.message === USAGE ? USAGE : `dead-letters: ${err.message}\n${USAGE}`);
    } else {
      // fetch failed: the gateway is not reachable at --url
      const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
      console.error(`dead-letters failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
    }
    process.exit(2);
  },
);
