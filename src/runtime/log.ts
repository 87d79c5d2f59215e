import { pino, type DestinationStream, type Level, type Logger } from 'pino';

/** Fields a log line may carry beside its message: names from the spec and from Envoy, never payloads. */
export interface LogFields {
  readonly graph?: string;
  readonly node?: string;
  /** Envoy's x-request-id of the request the line is about. */
  readonly requestId?: string;
  /** An Envoy's node id. */
  readonly envoy?: string;
  readonly group?: string;
  readonly status?: number;
  readonly [field: string]: string | number | boolean | undefined;
}

export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** Switchyard's line shape: `level` by name, ISO `time`, `pid`, `msg`, and the line's fields. */
export function jsonLogger(destination: DestinationStream): Logger {
  return pino(
    {
      level: 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * One JSON object per line on stderr (pino): what long-running commands say
 * as they go, for people (`| npx pino-pretty`) and for log pipelines alike.
 * Synchronous writes: a line is out before a crash or an exit.
 */
export const logger = jsonLogger(pino.destination({ fd: 2, sync: true }));

export function setLogLevel(level: Level): void {
  logger.level = level;
}

/** A line at info level. */
export function log(message: string, fields: LogFields = {}): void {
  logger.info(fields, message);
}
