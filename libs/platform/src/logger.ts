export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON object per line on stdout. Callers pass structured fields, never raw requests,
 * tokens or credentials: the logger does not know what is secret, the caller does.
 */
export class Logger {
  constructor(
    private readonly component: string,
    private readonly level: LogLevel = (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info',
    private readonly sink: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  child(component: string): Logger {
    return new Logger(`${this.component}.${component}`, this.level, this.sink);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if ((ORDER[level] ?? 20) < (ORDER[this.level] ?? 20)) return;
    this.sink(
      JSON.stringify({
        time: new Date().toISOString(),
        level,
        component: this.component,
        msg,
        ...fields,
      }),
    );
  }
}

/** Message of an unknown thrown value, for logs and error records. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
