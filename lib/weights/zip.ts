// A small zip reader for weight archives (.pth zip format, .keras, .npz): reads the central directory
// from a file handle and each entry on demand, so a 233 MB checkpoint is never loaded whole.
// torch.save writes entries STORED and 64-byte aligned, which lets tensors be read straight from the
// file by offset (ZipEntry.dataOffset); DEFLATE entries (.npz, .keras) are inflated with node:zlib.
import { closeSync, fstatSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { DEFLATE_MAX_RATIO, MAX_ZIP_INFLATED_BYTES, MAX_ZIP_MEMBER_BYTES } from './limits.js';
import { openWeightsHandle, readExact, withWeightsHandle } from './read.js';
import { weightsError } from './types.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/** The first `length` bytes of a file (fewer if it is shorter) */
export function readHead(path: string, length: number): Buffer {
  return withWeightsHandle(path, (fd) => readExact(fd, length, 0));
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === LOCAL_SIGNATURE;
}

export class ZipFile {
  readonly path: string;
  readonly entries = new Map<string, ZipEntry>();
  private fd: number;
  private fileSize: number;
  /** bytes inflated so far (MAX_ZIP_INFLATED_BYTES) */
  private inflated = 0;

  constructor(path: string) {
    this.path = path;
    this.fd = openWeightsHandle(path);
    this.fileSize = fstatSync(this.fd).size;
    try {
      this.readCentralDirectory();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private fail(message: string): never {
    throw weightsError(this.path, message);
  }

  private readCentralDirectory(): void {
    // the end-of-central-directory record is in the last 22 + 65535 (comment) bytes
    const tailLength = Math.min(this.fileSize, 22 + 65535 + 20);
    const tail = readExact(this.fd, tailLength, this.fileSize - tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('expected a zip archive but found no end of central directory (truncated or not a zip file)');
    let count = tail.readUInt16LE(eocd + 10);
    let dirSize = tail.readUInt32LE(eocd + 12);
    let dirOffset = tail.readUInt32LE(eocd + 16);
    if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === ZIP64_EOCD_LOCATOR) {
      const zip64Offset = tail.readBigUInt64LE(eocd - 20 + 8);
      // where the locator says the record is: read only inside the file
      if (zip64Offset > BigInt(Math.max(0, this.fileSize - 56))) {
        this.fail(`expected the zip64 end of central directory record inside the file (${this.fileSize} bytes) but the locator puts it at ${zip64Offset}`);
      }
      const rec = readExact(this.fd, 56, Number(zip64Offset));
      if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD) this.fail('expected a zip64 end of central directory record but it is missing');
      count = Number(rec.readBigUInt64LE(32));
      dirSize = Number(rec.readBigUInt64LE(40));
      dirOffset = Number(rec.readBigUInt64LE(48));
    }
    if (dirOffset + dirSize > this.fileSize) this.fail(`expected the zip central directory inside the file (${this.fileSize} bytes) but it ends at ${dirOffset + dirSize}`);
    const dir = readExact(this.fd, dirSize, dirOffset);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL_SIGNATURE) this.fail(`expected ${count} zip central directory entries but entry ${i} is damaged`);
      const method = dir.readUInt16LE(p + 10);
      let compressedSize = dir.readUInt32LE(p + 20);
      let size = dir.readUInt32LE(p + 24);
      const nameLength = dir.readUInt16LE(p + 28);
      const extraLength = dir.readUInt16LE(p + 30);
      const commentLength = dir.readUInt16LE(p + 32);
      let localHeaderOffset = dir.readUInt32LE(p + 42);
      if (p + 46 + nameLength + extraLength + commentLength > dir.length) this.fail(`expected ${count} zip central directory entries but entry ${i} runs past the directory`);
      const name = dir.toString('utf8', p + 46, p + 46 + nameLength);
      // zip64 extended information: the 64-bit values present are those whose 32-bit field is 0xffffffff
      let e = p + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = dir.readUInt16LE(e);
        const length = dir.readUInt16LE(e + 2);
        if (id === 1) {
          let q = e + 4;
          const u64 = (): number => {
            if (q + 8 > Math.min(e + 4 + length, extraEnd)) this.fail(`expected zip64 sizes in the extra field of ${name} but it is too short`);
            const v = Number(dir.readBigUInt64LE(q));
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = u64();
          if (compressedSize === 0xffffffff) compressedSize = u64();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64();
        }
        e += 4 + length;
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      p = extraEnd + commentLength;
    }
  }

  /** Absolute file offset of an entry's (stored) bytes */
  dataOffset(entry: ZipEntry): number {
    const local = readExact(this.fd, 30, entry.localHeaderOffset);
    if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE) this.fail(`expected a zip local header for ${entry.name} at offset ${entry.localHeaderOffset} but it is damaged`);
    const offset = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (offset + entry.compressedSize > this.fileSize) {
      this.fail(`expected ${entry.compressedSize} bytes of ${entry.name} at offset ${offset} but the file has ${this.fileSize} bytes (truncated?)`);
    }
    return offset;
  }

  /** Read raw bytes at an absolute file offset (for tensors inside STORED entries) */
  readAt(fileOffset: number, length: number): Buffer {
    const buf = readExact(this.fd, length, fileOffset);
    if (buf.length !== length) this.fail(`expected ${length} bytes at offset ${fileOffset} but the file ends (truncated?)`);
    return buf;
  }

  /**
   * An entry's bytes. The declared size is checked before anything is read or inflated: against
   * `limit`, against what the compressed bytes can hold (DEFLATE_MAX_RATIO) and, across the archive,
   * against MAX_ZIP_INFLATED_BYTES; inflating stops at the declared size, so a member that lies about
   * it is refused having taken no more than it declared.
   */
  read(name: string, limit = MAX_ZIP_MEMBER_BYTES): Buffer {
    const entry = this.entries.get(name);
    if (!entry) this.fail(`expected an entry ${name} in the zip archive but it is missing`);
    if (entry.method !== 0 && entry.method !== 8) this.fail(`expected zip method stored (0) or deflate (8) for ${name} but found ${entry.method}`);
    if (entry.size > limit) this.fail(`expected ${name} to be at most ${limit} bytes but it declares ${entry.size} (the limit is in docs/safety.md)`);
    if (entry.method === 0 && entry.size !== entry.compressedSize) this.fail(`expected the stored entry ${name} to be as large as its data (${entry.compressedSize} bytes) but it declares ${entry.size}`);
    if (entry.method === 8 && entry.size > entry.compressedSize * DEFLATE_MAX_RATIO + 1024) {
      this.fail(`expected ${name} to inflate to at most ${DEFLATE_MAX_RATIO}x its ${entry.compressedSize} compressed bytes but it declares ${entry.size}`);
    }
    if (entry.method === 8 && this.inflated + entry.size > MAX_ZIP_INFLATED_BYTES) {
      this.fail(`expected the archive's members to inflate to at most ${MAX_ZIP_INFLATED_BYTES} bytes together but ${name} brings them to ${this.inflated + entry.size}`);
    }
    const raw = readExact(this.fd, entry.compressedSize, this.dataOffset(entry));
    if (entry.method === 0) return raw;
    let out: Buffer;
    try {
      // maxOutputLength: zlib stops once the declared size is exceeded (RangeError) instead of growing
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') this.fail(`expected ${name} to inflate to its declared ${entry.size} bytes but it inflates to more`);
      this.fail(`cannot inflate ${name}: ${(e as Error).message}`);
    }
    if (out.length !== entry.size) this.fail(`expected ${name} to inflate to its declared ${entry.size} bytes but it inflates to ${out.length} (damaged archive)`);
    this.inflated += out.length;
    return out;
  }
}
