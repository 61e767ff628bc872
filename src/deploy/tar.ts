// A minimal POSIX ustar writer: a release (and the secret files) travel to the host as one tar
// stream on one SSH command's standard input, unpacked by the host's tar. Built in memory: secret
// files never touch a local disk.

export interface TarEntry {
  /** Relative, '/'-separated, no '..' (checked). */
  readonly path: string;
  readonly content: string | Uint8Array;
  /** Default 0o644. */
  readonly mode?: number;
  /** Owner kept only when the host's tar runs as root with --same-owner. Default 0. */
  readonly uid?: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, prefix: string, size: number, mode: number, uid: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(uid, 8), 108, 'ascii');
  h.write(octal(uid, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii'); // mtime 0: the same files give the same bytes
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Splits a path into ustar's prefix and name fields. */
function splitPath(path: string): [string, string] {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return [prefix, name];
  }
  throw new Error(`path too long for a tar archive: ${path}`);
}

/** A tar archive of `entries`, with their parent directories (mode 0755, or `dirMode`). */
export function tarArchive(entries: readonly TarEntry[], dirMode = 0o755): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const e of entries) {
    if (e.path === '' || e.path.startsWith('/') || e.path.split('/').some((s) => s === '..' || s === '.' || s === '')) throw new Error(`not a relative path: ${e.path}`);
    const segments = e.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      const [prefix, name] = splitPath(`${dir}/`);
      parts.push(header(name, prefix, 0, dirMode, 0, '5')); // folders stay root's
    }
    const body = typeof e.content === 'string' ? Buffer.from(e.content, 'utf8') : Buffer.from(e.content);
    const [prefix, name] = splitPath(e.path);
    parts.push(header(name, prefix, body.length, e.mode ?? 0o644, e.uid ?? 0, '0'), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
