import { Readable } from 'node:stream';
import { ndjsonRecords, type BulkItem } from '../../src/ingest/bulk/lines';

async function items(chunks: string[], maxLineBytes: number): Promise<BulkItem[]> {
  const out: BulkItem[] = [];
  for await (const item of ndjsonRecords(Readable.from(chunks.map((c) => Buffer.from(c))), maxLineBytes)) out.push(item);
  return out;
}

describe('NDJSON lines', () => {
  it('reports a line over the cap whose end arrives in a later chunk than its start', async () => {
    // 8 bytes in the first chunk (under the cap of 10), the other 8 and the newline in the second.
    expect(await items(['{"a":"12', '345678"}\n{"b":1}\n'], 10)).toEqual([
      { line: 1, error: 'line is longer than 10 bytes' },
      { line: 2, record: { b: 1 } },
    ]);
  });

  it('reads a line split across chunks that stays under the cap', async () => {
    expect(await items(['{"a":', '1}\n'], 10)).toEqual([{ line: 1, record: { a: 1 } }]);
  });
});
