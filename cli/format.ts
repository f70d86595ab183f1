import { Writable } from 'node:stream';
/** What the CLI prints: numbers, tables and a progress line. */

export const fmt = (n: number) => n.toLocaleString('en-US');

export function bar(done: number, total: number, width = 24): string {
  const filled = total ? Math.min(width, Math.round((width * done) / total)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** A plain text table: columns padded to their widest cell; number columns aligned right. */
export function table(rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = cells[0].map((_, i) => {
    const body = cells.slice(1).map((r) => r[i] ?? '');
    return body.some((c) => /^-?[\d,]+(\.\d+)?$/.test(c)) && body.every((c) => /^-?[\d,]+(\.\d+)?$/.test(c) || c === 'NULL');
  });
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * A progress line on stderr: rewritten in place on a terminal, otherwise one line every 5 s (and
 * the last one), so that logs stay readable. Silent when `quiet` (JSON output).
 */
export function progressLine(err: NodeJS.WritableStream, quiet = false): (line: string, final?: boolean) => void {
  const tty = Boolean((err as NodeJS.WriteStream).isTTY);
  let last = 0;
  return (line, final = false) => {
    if (quiet) return;
    if (tty) err.write(`\r${line}${final ? '\n' : ''}`);
    else if (final || Date.now() - last > 5000) {
      err.write(`${line}\n`);
      last = Date.now();
    }
  };
}

/** A stream that drops what is written (a command's text output when it prints JSON). */
export function nullStream(): NodeJS.WritableStream {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}
