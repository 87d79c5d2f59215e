/** A line on stderr, timestamped: what long-running commands say as they go. */
export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}
