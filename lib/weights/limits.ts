// Limits on what a weights file may make us allocate, set from the largest real files so that a small
// hostile file cannot take gigabytes (docs/safety.md lists them). Tensors themselves are bounded by the
// bytes that store them: a stored tensor is never larger than its storage (torch.ts), a zip member never
// larger than its declared size (zip.ts), an external ONNX range never larger than its file (onnx.ts).

/** data.pkl of a zip checkpoint, inflated or stored: torchvision's AlexNet pickle is 1.2 kB; state dicts
 * of models with thousands of tensors stay under a few MB */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** One inflated zip member (.npy of an .npz, model.weights.h5 of a .keras): the largest real ones are
 * fc6 as float64 (302 MB) and a seed .keras (250 MB) */
export const MAX_ZIP_MEMBER_BYTES = 512 * 1024 * 1024;

/** All members inflated from one archive together (a float64 .npz of the seed net is 499 MB) */
export const MAX_ZIP_INFLATED_BYTES = 1024 * 1024 * 1024;

/** DEFLATE's largest possible expansion (zlib's technical details: 1032:1); a member declaring more
 * than this times its compressed size lies about its size */
export const DEFLATE_MAX_RATIO = 1032;

/** JSON members of a .keras archive (config.json, metadata.json) */
export const MAX_JSON_MEMBER_BYTES = 16 * 1024 * 1024;

/** Nesting of a pickled value that describing it in a message may follow */
export const MAX_DESCRIBE_DEPTH = 4;
