import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'stepgate' },
      redact: { paths: ['password', '*.password', 'secret', '*.secret', 'req.headers.cookie'], censor: '[redacted]' },
    },
    destination,
  );
}
