/**
 * Bulk input as a stream of provider records, one at a time, whatever the size: NDJSON split on newlines
 * with a cap on each line's length (an over-long line is reported, not buffered), or CSV with a header row
 * of dotted envelope paths (`nhsNumber,data.name.family,data.name.given.0,...`), typed by the record
 * type's JSON Schema. Each item carries its line number, so a bad line can be named.
 */
import { parse } from 'csv-parse';
import type { Readable } from 'node:stream';

export const MAX_LINE_BYTES = 1_048_576;

export type BulkItem = { line: number; record: unknown } | { line: number; error: string };

/** NDJSON lines, each parsed; blank lines skipped; a line over MAX_LINE_BYTES is an error item. */
export async function* ndjsonRecords(stream: Readable, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<BulkItem> {
  let buffered: Buffer[] = [];
  let size = 0;
  let line = 0;
  let overLong = false;
  const finish = function* (bytes: Buffer): Generator<BulkItem> {
    line++;
    if (overLong) {
      yield { line, error: `line is longer than ${maxLineBytes} bytes` };
      return;
    }
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    try {
      yield { line, record: JSON.parse(text) as unknown };
    } catch {
      yield { line, error: 'line is not valid JSON' };
    }
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      // The line's last piece counts too: a long line may end in a chunk of its own.
      if (size + piece.length > maxLineBytes) overLong = true;
      if (!overLong) buffered.push(piece);
      yield* finish(Buffer.concat(buffered));
      buffered = [];
      size = 0;
      overLong = false;
      start = newline + 1;
    }
    const rest = chunk.subarray(start);
    size += rest.length;
    if (size > maxLineBytes) {
      overLong = true;
      buffered = [];
    } else if (rest.length > 0) {
      buffered.push(Buffer.from(rest));
    }
  }
  if (size > 0 || overLong) yield* finish(Buffer.concat(buffered));
}

type SchemaNode = { type?: string | string[]; properties?: Record<string, SchemaNode>; items?: SchemaNode };

/** The JSON Schema type at a dotted path ("data.name.given.0"), following properties and items. */
function typeAt(schema: SchemaNode | undefined, parts: string[]): string | undefined {
  let node = schema;
  for (const part of parts) {
    node = /^\d+$/.test(part) ? node?.items : node?.properties?.[part];
    if (!node) return undefined;
  }
  return Array.isArray(node?.type) ? node.type[0] : node?.type;
}

function typed(value: string, type: string | undefined): unknown {
  if (type === 'integer' || type === 'number') return value.trim() === '' ? value : Number(value);
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

/** Sets obj at a dotted path, making arrays for numeric parts. */
function setPath(target: Record<string, unknown>, parts: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) {
      node[part] = value;
      return;
    }
    node[part] ??= /^\d+$/.test(parts[i + 1]) ? [] : {};
    node = node[part] as Record<string, unknown>;
  });
}

/**
 * CSV rows as records of one type: `type` is set from the query, empty cells are left out, and values are
 * typed by the envelope schema or, under `data.`, the record type's schema.
 */
export async function* csvRecords(stream: Readable, type: string, envelopeSchema: object, dataSchema: object): AsyncGenerator<BulkItem> {
  const parser = stream.pipe(parse({ columns: true, skip_empty_lines: true, bom: true, max_record_size: MAX_LINE_BYTES, relax_column_count: false }));
  let line = 1;
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      line++;
      const record: Record<string, unknown> = { type };
      for (const [column, value] of Object.entries(row)) {
        if (value === '') continue;
        const parts = column.trim().split('.');
        const schemaType = parts[0] === 'data' ? typeAt(dataSchema as SchemaNode, parts.slice(1)) : typeAt(envelopeSchema as SchemaNode, parts);
        setPath(record, parts, typed(value, schemaType));
      }
      yield { line, record };
    }
  } catch (err) {
    // A CSV that cannot be read on (wrong column count, unclosed quote) ends here, naming where.
    yield { line: line + 1, error: `CSV cannot be read: ${(err as Error).message.replace(/\s+/g, ' ').slice(0, 200)}` };
  }
}
