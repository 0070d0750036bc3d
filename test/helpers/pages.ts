// Damage PostgreSQL relation files the way failing disks and broken copies do, for tests that
// must catch it: page layout per PostgreSQL's bufpage.h / itemid.h / htup_details.h (8 KiB pages,
// 24-byte page header, 4-byte line pointers: lp_off 15 bits, lp_flags 2, lp_len 15), and
// in-place edits of one member of an uncompressed tar (512-byte ustar headers, as barman writes).
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

export const PAGE = 8192;

function lineOffset(buf: Buffer, page: number, item: number): number {
  const lp = buf.readUInt32LE(page * PAGE + 24 + 4 * (item - 1));
  return lp & 0x7fff;
}

/** Pages [from, to) become all zeros: PostgreSQL reads them as new, empty pages, without an error. */
export function zeroPages(buf: Buffer, from: number, to = buf.length / PAGE): void {
  buf.fill(0, from * PAGE, Math.min(to * PAGE, buf.length));
}

/** The heap tuple at (page, item) claims its data starts 8 bytes later than it does (t_hoff). */
export function breakTupleHeader(buf: Buffer, page: number, item: number): void {
  const at = page * PAGE + lineOffset(buf, page, item) + 22;
  buf[at] = buf[at] + 8;
}

/** Two neighbouring items of a B-tree page swap places: the page's key order is violated. */
export function swapItems(buf: Buffer, page: number, a: number, b: number): void {
  const pa = page * PAGE + 24 + 4 * (a - 1);
  const pb = page * PAGE + 24 + 4 * (b - 1);
  const va = buf.readUInt32LE(pa);
  buf.writeUInt32LE(buf.readUInt32LE(pb), pa);
  buf.writeUInt32LE(va, pb);
}

/** Members of a tar file: name, offset of the data, size. */
export function tarMembers(path: string): { name: string; offset: number; size: number }[] {
  const fd = openSync(path, 'r');
  const out: { name: string; offset: number; size: number }[] = [];
  try {
    const header = Buffer.alloc(512);
    for (let pos = 0; readSync(fd, header, 0, 512, pos) === 512 && header[0] !== 0;) {
      const str = (from: number, len: number) =>
        header
          .subarray(from, from + len)
          .toString('latin1')
          .replace(/\0.*$/s, '');
      const prefix = str(345, 155);
      const name = (prefix ? `${prefix}/` : '') + str(0, 100);
      const size = parseInt(str(124, 12).trim() || '0', 8);
      out.push({ name, offset: pos + 512, size });
      pos += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Rewrites one member's bytes in place (same size), e.g. a relation file inside a base backup's data.tar. */
export function editTarMember(path: string, member: string, edit: (data: Buffer) => void): void {
  const m = tarMembers(path).find((x) => x.name === member || x.name.endsWith(`/${member}`));
  if (!m) throw new Error(`${member} is not in ${path}`);
  const fd = openSync(path, 'r+');
  try {
    const data = Buffer.alloc(m.size);
    readSync(fd, data, 0, m.size, m.offset);
    edit(data);
    if (data.length !== m.size) throw new Error('editTarMember: the edit must keep the size');
    writeSync(fd, data, 0, m.size, m.offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * Renames one member of a tar in place (ustar name field, 100 bytes; header checksum recomputed), so
 * the file it held is missing once the tar is extracted: a relation file gone from a base backup.
 */
export function renameTarMember(path: string, member: string, newName: string): void {
  const m = tarMembers(path).find((x) => x.name === member || x.name.endsWith(`/${member}`));
  if (!m) throw new Error(`${member} is not in ${path}`);
  const fd = openSync(path, 'r+');
  try {
    const header = Buffer.alloc(512);
    readSync(fd, header, 0, 512, m.offset - 512);
    const name = header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
    const renamed = name.slice(0, name.length - member.length) + newName;
    if (!name.endsWith(member) || Buffer.byteLength(renamed, 'latin1') > 100)
      throw new Error(`cannot rename ${name} to ${renamed} in place`);
    header.fill(0, 0, 100).write(renamed, 0, 'latin1');
    // The checksum: the sum of the header's bytes with its own field (148, 8 bytes) read as spaces.
    header.fill(0x20, 148, 156);
    const sum = header.reduce((a, b) => a + b, 0);
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    writeSync(fd, header, 0, 512, m.offset - 512);
  } finally {
    closeSync(fd);
  }
}
