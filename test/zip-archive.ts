// Zip archives laid out byte by byte (APPNOTE.TXT 4.3: local headers, the central directory, the end
// record, zip64's locator, record and extra field), whole or damaged in one place, for the tests of
// lib/weights/zip.ts and of the limits on what an archive may declare (test/safety.test.ts).
import { crc32, deflateRawSync } from 'node:zlib';

export interface Member {
  name: string;
  data: Buffer;
  method?: number;
  /** the uncompressed size written in the headers (default: the real one) */
  size?: number;
  /** write the sizes and offset as 0xffffffff with a zip64 extra field holding them (extraLength cuts it short) */
  zip64?: boolean;
  extraLength?: number;
}

function u16(v: number) { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; }
function u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }
function u64(v: number) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; }

/** An archive; `opts` damages the central directory entries or the end record, or adds a zip64 locator */
export function archive(members: Member[], opts: { dirOffsetDelta?: number; count?: number; badCentral?: boolean; zip64Locator?: 'good' | 'missing' | 'at-start' | 'past-2^63'; comment?: string; nameLengthDelta?: number } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const method = m.method ?? 0;
    const stored = method === 8 ? deflateRawSync(m.data) : m.data;
    const size = m.size ?? m.data.length;
    const name = Buffer.from(m.name);
    const crc = crc32(m.data);
    const local = Buffer.concat([u32(0x04034b50), u16(20), u16(0), u16(method), u16(0), u16(0), u32(crc), u32(stored.length), u32(size), u16(name.length), u16(0), name, stored]);
    const extra = m.zip64 ? Buffer.concat([u16(1), u16(m.extraLength ?? 24), u64(size), u64(stored.length), u64(offset)]).subarray(0, 4 + (m.extraLength ?? 24)) : Buffer.alloc(0);
    const big = (v: number) => (m.zip64 ? 0xffffffff : v);
    centrals.push(Buffer.concat([
      u32(opts.badCentral ? 0x02014b51 : 0x02014b50), u16(20), u16(20), u16(0), u16(method), u16(0), u16(0), u32(crc),
      u32(big(stored.length)), u32(big(size)), u16(name.length + (opts.nameLengthDelta ?? 0)), u16(extra.length), u16(0), u16(0), u16(0), u32(0), u32(big(offset)), name, extra,
    ]));
    locals.push(local);
    offset += local.length;
  }
  const dir = Buffer.concat(centrals);
  const count = opts.count ?? members.length;
  const comment = Buffer.from(opts.comment ?? '');
  const locator = opts.zip64Locator
    ? Buffer.concat([u32(0x07064b50), u32(0), opts.zip64Locator === 'past-2^63' ? Buffer.alloc(8, 0xff)
      : u64({ good: offset + dir.length, missing: 1 << 20, 'at-start': 0 }[opts.zip64Locator]), u32(1)])
    : Buffer.alloc(0);
  const record = opts.zip64Locator === 'good'
    ? Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(count), u64(count), u64(dir.length), u64(offset)])
    : Buffer.alloc(0);
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(count), u16(count), u32(opts.zip64Locator === 'good' ? 0xffffffff : dir.length),
    u32(opts.zip64Locator === 'good' ? 0xffffffff : offset + (opts.dirOffsetDelta ?? 0)), u16(comment.length), comment]);
  return Buffer.concat([...locals, dir, record, locator, end]);
}
