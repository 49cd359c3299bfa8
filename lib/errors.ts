// The one error type of alexnet-cli: a message meant for the user (one line, naming the file and what
// was expected versus found) and a `code` that says what kind of failure it is. bin/ prints the message
// and exits with exitCodeFor(err); library users switch on `code`.
//
// Codes: ERR_INPUT (bad input, the default), ERR_USAGE (bad options), ERR_WEIGHTS, ERR_SHAPE, ERR_IMAGE,
// ERR_LABELS, ERR_DOWNLOAD, ERR_CHECKSUM, ERR_WRITE (an output file could not be written; the previous one is
// left as it was), ERR_ADDON, ERR_CUDA (the addon's own, set in native/).

export class AlexnetError extends Error {
  code: string;
  constructor(message: string, code = 'ERR_INPUT') {
    super(message);
    this.code = code;
  }
}

/** Bad usage: exit code 2 */
export const usageError = (message: string): AlexnetError => new AlexnetError(message, 'ERR_USAGE');

/** 2 for bad usage (ours, and Node's ERR_INVALID_ARG_VALUE), 1 for everything else */
export function exitCodeFor(err: unknown): number {
  const code = (err as { code?: string })?.code;
  return code === 'ERR_USAGE' || code === 'ERR_INVALID_ARG_VALUE' ? 2 : 1;
}
