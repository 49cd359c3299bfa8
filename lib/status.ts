// Status lines and progress bars on stderr: what a command is doing while the user waits. `--quiet`
// turns them off; errors and warnings are not status and always print.
let quiet = false;

export function setQuiet(value: boolean): void {
  quiet = value;
}

export function isQuiet(): boolean {
  return quiet;
}

/** One line on stderr ("loading weights ..."), unless --quiet */
export function status(line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

/** Whether to draw a progress bar: stderr is a terminal and not --quiet */
export function showProgress(stream: { isTTY?: boolean } = process.stderr): boolean {
  return !quiet && stream.isTTY === true;
}
