// PyTorch checkpoints (.pth/.pt), both layouts torch.save writes:
//  - zip (torch >= 1.6): <archive>/data.pkl holds the pickled object, storages are the STORED entries
//    <archive>/data/<key>; a persistent id ('storage', torch.FloatStorage, key, location, numel) refers to them.
//  - legacy stream (_use_new_zipfile_serialization=False): pickles of the magic number, the protocol
//    version and sys_info, then the object, then the list of storage keys, then each storage as an
//    int64 element count followed by its raw bytes.
// Pickles are read by the restricted reader in pickle.ts, which executes nothing.
import { readFileSync } from 'node:fs';
import { PREPROCESS } from '../model/archs.js';
import { FLOAT_DTYPE_SIZE, gatherStrided, isContiguous, isFloatDtype, toFloat32, viewExtent } from './dtypes.js';
import { PickledTensor, PyGlobal, STORAGE_DTYPES, describePickled, unpickle } from './pickle.js';
import type { WeightSet, WeightTensor } from './types.js';
import { MAX_PICKLE_BYTES } from './limits.js';
import { weightsError } from './types.js';
import { ZipFile, isZip, readHead } from './zip.js';

/** torchvision.models.AlexNet module paths -> canonical layer names */
export const TORCHVISION_LAYERS: Record<string, string> = {
  'features.0': 'conv1', 'features.3': 'conv2', 'features.6': 'conv3', 'features.8': 'conv4', 'features.10': 'conv5',
  'classifier.1': 'fc6', 'classifier.4': 'fc7', 'classifier.6': 'fc8',
};

// torch/serialization.py MAGIC_NUMBER
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

interface StorageRef {
  key: string;
  dtype: string;
  numel: number;
  /** legacy storage views: element offset into the root storage */
  viewOffset: number;
}

/** Where a storage's bytes are: a stored zip entry or a range of the legacy file */
interface StorageLocation {
  /** absolute file offset of element 0 */
  fileOffset: number;
  /** bytes available */
  byteLength: number;
}

function storageFromPid(path: string, pid: unknown): StorageRef {
  // ('storage', storage_type, key, location, numel[, view_metadata])
  const type = Array.isArray(pid) && pid[1] instanceof PyGlobal && pid[1].module === 'torch' ? STORAGE_DTYPES[pid[1].name] : undefined;
  if (!Array.isArray(pid) || pid[0] !== 'storage' || !type || (typeof pid[2] !== 'string' && typeof pid[2] !== 'number')) {
    throw weightsError(path, `expected a ('storage', torch.*Storage, key, location, numel) persistent id but found ${describePickled(pid)}`);
  }
  const view = pid[5];
  const viewOffset = Array.isArray(view) ? Number(view[1]) : 0;
  if (!Number.isSafeInteger(viewOffset) || viewOffset < 0) throw weightsError(path, `expected a non-negative storage view offset but found ${describePickled(view)}`);
  return { key: String(pid[2]), dtype: type.dtype, numel: Number(pid[4]), viewOffset };
}

/** `{state_dict: ...}`, `{model: ...}` or the state dict itself, as name -> tensor */
function findStateDict(path: string, root: unknown): Map<string, PickledTensor> {
  const tensorsOf = (m: Map<unknown, unknown>): Map<string, PickledTensor> => {
    const out = new Map<string, PickledTensor>();
    for (const [k, v] of m) if (typeof k === 'string' && v instanceof PickledTensor) out.set(k, v);
    return out;
  };
  if (!(root instanceof Map)) throw weightsError(path, `expected a state dict (a dict of tensors) but the checkpoint holds ${Array.isArray(root) ? 'a list' : typeof root}`);
  for (const wrapper of ['state_dict', 'model', 'model_state_dict', 'net']) {
    const inner = root.get(wrapper);
    if (inner instanceof Map && tensorsOf(inner).size > 0) return tensorsOf(inner);
  }
  const direct = tensorsOf(root);
  if (direct.size > 0) return direct;
  const keys = [...root.keys()].map(String).slice(0, 10).join(', ');
  throw weightsError(path, `expected a state dict, or one under "state_dict" or "model", but found no tensors (keys: ${keys})`);
}

/** Strip DataParallel's `module.` and map torchvision's module paths to conv1..fc8 */
export function canonicalTorchName(key: string): { name: string; torchvision: boolean } {
  let k = key;
  while (k.startsWith('module.')) k = k.slice('module.'.length);
  const dot = k.lastIndexOf('.');
  const layer = TORCHVISION_LAYERS[k.slice(0, dot)];
  return layer ? { name: `${layer}${k.slice(dot)}`, torchvision: true } : { name: k, torchvision: false };
}

function buildTensors(
  path: string,
  state: Map<string, PickledTensor>,
  locate: (ref: StorageRef) => StorageLocation,
  readBytes: (fileOffset: number, length: number) => Uint8Array,
): { tensors: Map<string, WeightTensor>; torchvision: boolean } {
  const tensors = new Map<string, WeightTensor>();
  let torchvision = false;
  for (const [key, t] of state) {
    const ref = t.storage as StorageRef;
    if (!isFloatDtype(ref.dtype)) continue; // integer buffers (e.g. num_batches_tracked) are not weights
    const { name, torchvision: tv } = canonicalTorchName(key);
    torchvision ||= tv;
    const size = FLOAT_DTYPE_SIZE[ref.dtype];
    const loc = locate(ref);
    const offset = ref.viewOffset + t.offset;
    const valid = (v: number) => Number.isSafeInteger(v) && v >= 0;
    if (!valid(offset) || !t.shape.every(valid) || !t.stride.every(valid) || t.stride.length !== t.shape.length) {
      throw weightsError(path, `expected tensor ${key} to have non-negative integer sizes, strides and offset but found size [${t.shape.join(',')}] stride [${t.stride.join(',')}] offset ${offset}`);
    }
    // a tensor is never larger than the bytes that store it: a stride-0 (expanded) view could declare
    // 2^31 elements over one float and make us allocate gigabytes
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count * size > loc.byteLength) {
      throw weightsError(path, `expected tensor ${key} [${t.shape.join(',')}] to hold no more elements than its storage ${ref.key} (${Math.floor(loc.byteLength / size)}) but it has ${count} (an expanded or overlapping view)`);
    }
    const extent = viewExtent(offset, t.shape, t.stride);
    if (extent * size > loc.byteLength) {
      throw weightsError(path, `expected tensor ${key} [${t.shape.join(',')}] to fit its storage ${ref.key} (${loc.byteLength} bytes) but it needs ${extent * size}`);
    }
    if (ref.dtype === 'float32' && isContiguous(t.shape, t.stride)) {
      tensors.set(name, { shape: t.shape, file: { path, byteOffset: loc.fileOffset + offset * 4 } });
      continue;
    }
    const values = toFloat32(readBytes(loc.fileOffset + offset * size, (extent - offset) * size), ref.dtype);
    const data = isContiguous(t.shape, t.stride) ? values : gatherStrided(values, 0, t.shape, t.stride);
    tensors.set(name, { shape: t.shape, data });
  }
  return { tensors, torchvision };
}

/** `opened`: the archive as readWeights opened it to detect the format (its directory is not parsed again; the caller closes it) */
function readZipCheckpoint(path: string, opened?: ZipFile): WeightSet {
  const zip = opened ?? new ZipFile(path);
  try {
    const pklName = [...zip.entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
    if (!pklName) throw weightsError(path, 'expected a PyTorch zip checkpoint with <archive>/data.pkl but it is missing');
    const prefix = pklName.slice(0, -'data.pkl'.length);
    const pkl = zip.read(pklName, MAX_PICKLE_BYTES);
    const { value } = unpickle(pkl, 0, { path, persistentLoad: (pid) => storageFromPid(path, pid) });
    const state = findStateDict(path, value);
    const locations = new Map<string, StorageLocation>();
    const locate = (ref: StorageRef): StorageLocation => {
      let loc = locations.get(ref.key);
      if (!loc) {
        const entry = zip.entries.get(`${prefix}data/${ref.key}`);
        if (!entry) throw weightsError(path, `expected storage entry ${prefix}data/${ref.key} in the archive but it is missing (truncated file?)`);
        if (entry.method !== 0) throw weightsError(path, `expected storage ${entry.name} to be stored uncompressed but it uses zip method ${entry.method}`);
        loc = { fileOffset: zip.dataOffset(entry), byteLength: entry.size };
        locations.set(ref.key, loc);
      }
      return loc;
    };
    const { tensors, torchvision } = buildTensors(path, state, locate, (offset, length) => zip.readAt(offset, length));
    return {
      format: 'pytorch-zip', path, tensors, metadata: {},
      preprocess: torchvision ? PREPROCESS.torchvision : undefined,
    };
  } finally {
    if (!opened) zip.close();
  }
}

function readLegacyCheckpoint(path: string, data: Buffer): WeightSet {
  const magic = unpickle(data, 0, { path });
  if (magic.value !== LEGACY_MAGIC) throw weightsError(path, 'expected a PyTorch checkpoint (zip archive or legacy magic number) but found neither');
  const protocol = unpickle(data, magic.end, { path });
  if (protocol.value !== 1001) throw weightsError(path, `expected legacy checkpoint protocol 1001 but found ${String(protocol.value)}`);
  const sysInfo = unpickle(data, protocol.end, { path });
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
    throw weightsError(path, 'expected a little-endian checkpoint but it was saved big-endian');
  }
  const refs = new Map<string, StorageRef>();
  const main = unpickle(data, sysInfo.end, {
    path,
    persistentLoad: (pid) => {
      const ref = storageFromPid(path, pid);
      refs.set(ref.key, ref);
      return ref;
    },
  });
  const keys = unpickle(data, main.end, { path });
  if (!Array.isArray(keys.value)) throw weightsError(path, 'expected the list of storage keys after the legacy checkpoint object');
  const locations = new Map<string, StorageLocation>();
  let p = keys.end;
  for (const key of keys.value.map(String)) {
    const ref = refs.get(key);
    const size = ref ? (Object.values(STORAGE_DTYPES).find((d) => d.dtype === ref.dtype)?.size ?? 1) : 1;
    if (p + 8 > data.length) throw weightsError(path, `expected storage ${key} at offset ${p} but the file ends (truncated?)`);
    const count = Number(data.readBigInt64LE(p));
    if (count < 0) throw weightsError(path, `expected the element count of storage ${key} at offset ${p} but found ${count}`);
    const byteLength = count * size;
    if (p + 8 + byteLength > data.length) throw weightsError(path, `expected ${byteLength} bytes of storage ${key} at offset ${p + 8} but the file has ${data.length} bytes (truncated?)`);
    locations.set(key, { fileOffset: p + 8, byteLength });
    p += 8 + byteLength;
  }
  const state = findStateDict(path, main.value);
  const locate = (ref: StorageRef): StorageLocation => {
    const loc = locations.get(ref.key);
    if (!loc) throw weightsError(path, `expected storage ${ref.key} in the legacy checkpoint but it is missing`);
    return loc;
  };
  const { tensors, torchvision } = buildTensors(path, state, locate, (offset, length) => data.subarray(offset, offset + length));
  return {
    format: 'pytorch-legacy', path, tensors, metadata: {},
    preprocess: torchvision ? PREPROCESS.torchvision : undefined,
  };
}

/**
 * A .pth checkpoint; `zip`: the file's archive already opened (readWeights passes the one it detected the
 * format with, so the zip directory is parsed once per load; the caller closes it)
 */
export async function readTorch(path: string, zip?: ZipFile): Promise<WeightSet> {
  // zip checkpoints are read through a file handle (tensors stay on disk); only legacy ones are read whole
  if (zip) return readZipCheckpoint(path, zip);
  if (isZip(readHead(path, 4))) return readZipCheckpoint(path);
  const data = readFileSync(path);
  if (data[0] !== 0x80) throw weightsError(path, 'expected a PyTorch checkpoint (zip archive or pickle) but the file starts with neither');
  return readLegacyCheckpoint(path, data);
}
