import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { DECISION_PATH, type JsonObject } from '@portcullis/contracts';
import { LOG_MASK_ENTRYPOINT, TarReader } from '@portcullis/policy-runtime';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../config/control-plane.config';
import { BundleRejectedError, UnavailableError } from '../errors/domain.error';
import { OpaOutputMapper } from './opa-output.mapper';

/** What `opa build -t wasm` produced for one version. */
export interface CompiledBundle {
  /** `/policy.wasm` of the built bundle. */
  wasm: Buffer;
  /** `/data.json` of the built bundle, byte for byte (`{}` when the upload had no data). */
  data: Buffer;
  /**
   * The entrypoints the build asked for: `portcullis/decision`, and `portcullis/log_mask` when the
   * policy defines it. (opa may add more of its own, such as the upload's test rules.)
   */
  entrypoints: string[];
}

/**
 * Exactly what `opa build` prints when an `-e` entrypoint names no rule. The optional entrypoints
 * are requested after `portcullis/decision`, and opa reports the first undefined one only, so this
 * line for an optional entrypoint means the decision itself is defined.
 */
const undefinedEntrypoint = (entrypoint: string): string =>
  `entrypoint "${entrypoint}" does not refer to a rule or policy decision`;

/** The root directory name opa sees; it is stripped from every reported file name. */
const ROOT = 'bundle';
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;
/** Compiles are CPU-heavy child processes; more than this many at once only slows all of them. */
const MAX_CONCURRENT_COMPILES = 2;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** opa was stopped for exceeding a limit: its time or its output. */
class OpaLimitError extends Error {
  constructor(
    readonly limit: 'time' | 'output',
    message: string,
  ) {
    super(message);
  }
}

type Stage = BundleRejectedError['stage'];

/**
 * The only code that runs the `opa` binary or touches the file system for bundles. Each upload is
 * written to its own temp dir, then `opa check --strict`, `opa test` and `opa build -t wasm` run on
 * it (entrypoint `portcullis/decision`, plus `portcullis/log_mask` when the policy defines it),
 * all with the enforcer's capabilities file so a builtin the enforcer cannot evaluate is rejected
 * here. Problems become {@link BundleRejectedError} (422), and so does a stage that runs
 * past OPA_TIMEOUT_MS or prints more than 16 MiB (the bundle made it so); a missing binary
 * becomes {@link UnavailableError} (503). Never a shell: arguments go to execFile as a list.
 */
@Injectable()
export class OpaCompilerRepository {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(@Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig) {}

  async compile(modules: Record<string, string>, data: JsonObject): Promise<CompiledBundle> {
    await this.acquire();
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-bundle-'));
    try {
      return await this.compileIn(dir, modules, data);
    } finally {
      await rm(dir, { recursive: true, force: true });
      this.release();
    }
  }

  /** `opa version` answers: the readiness probe of the compiler. */
  async version(): Promise<string> {
    const r = await this.run(['version'], tmpdir(), 5000);
    if (r.code !== 0) throw new Error(`opa version exited ${r.code}`);
    return /^Version: (.+)$/m.exec(r.stdout)?.[1] ?? 'unknown';
  }

  private async compileIn(
    dir: string,
    modules: Record<string, string>,
    data: JsonObject,
  ): Promise<CompiledBundle> {
    const root = join(dir, ROOT);
    for (const [path, source] of Object.entries(modules)) {
      // Paths were validated (relative, no ..); joining under root cannot escape it.
      const file = join(root, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, source, { flag: 'wx' });
    }
    await writeFile(join(root, 'data.json'), JSON.stringify(data));
    const mapper = new OpaOutputMapper(ROOT, dir);
    const caps = ['--capabilities', this.config.opa.capabilitiesFile];

    const check = await this.stage('check', ['--strict', '--format', 'json', ...caps, ROOT], dir);
    if (check.code !== 0)
      throw new BundleRejectedError(mapper.checkErrors(check.stderr || check.stdout), 'check');

    const test = await this.stage('test', ['--format', 'json', ...caps, ROOT], dir);
    if (test.code !== 0)
      throw new BundleRejectedError(mapper.testFailures(test.stdout || test.stderr), 'test');

    const archive = join(dir, 'bundle.tar.gz');
    const build = (entrypoints: string[]): Promise<RunResult> =>
      this.stage(
        'build',
        ['-t', 'wasm', ...entrypoints.flatMap((e) => ['-e', e]), ...caps, '-o', archive, ROOT],
        dir,
      );
    // log_mask is optional. Rather than re-implement opa's notion of "defines a rule" (a rule in
    // any file of package portcullis, a package portcullis.log_mask, …), ask opa: build with it,
    // and if opa says exactly that it is undefined, build again without it. That failure comes
    // from the entrypoint check before compilation, so the retry costs milliseconds.
    let entrypoints = [DECISION_PATH, LOG_MASK_ENTRYPOINT];
    let built = await build(entrypoints);
    if (
      built.code !== 0 &&
      (built.stderr + built.stdout).includes(undefinedEntrypoint(LOG_MASK_ENTRYPOINT))
    ) {
      entrypoints = [DECISION_PATH];
      built = await build(entrypoints);
    }
    if (built.code !== 0)
      throw new BundleRejectedError(mapper.buildErrors(built.stderr || built.stdout), 'build');

    const files = TarReader.readGzip(await readFile(archive), MAX_ARCHIVE_BYTES);
    const wasm = files.get('/policy.wasm');
    if (!wasm) throw new Error('opa build produced no /policy.wasm');
    return { wasm, data: files.get('/data.json') ?? Buffer.from('{}'), entrypoints };
  }

  /**
   * One opa stage over the uploaded tree. Hitting the time or output limit is the bundle's doing
   * (a test that runs for minutes, a hundred thousand tests, a print() of megabytes), not the
   * server's, so it is a 422 naming the stage: retrying the same upload cannot succeed.
   */
  private async stage(stage: Stage, args: string[], dir: string): Promise<RunResult> {
    try {
      return await this.run([stage, ...args], dir);
    } catch (err) {
      if (!(err instanceof OpaLimitError)) throw err;
      throw new BundleRejectedError(
        [
          {
            code: err.limit === 'time' ? 'opa_timeout' : 'opa_output_too_large',
            file: null,
            row: null,
            col: null,
            message: err.message,
          },
        ],
        stage,
      );
    }
  }

  private run(
    args: string[],
    cwd: string,
    timeoutMs = this.config.opa.timeoutMs,
  ): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      execFile(
        this.config.opa.bin,
        args,
        {
          cwd,
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          // opa needs nothing from our environment, and must not see DATABASE_URL or the like.
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd },
          windowsHide: true,
        },
        (err, stdout, stderr) => {
          if (!err) return resolve({ code: 0, stdout, stderr });
          const e = err as NodeJS.ErrnoException & {
            code?: string | number;
            killed?: boolean;
            signal?: string;
          };
          if (e.code === 'ENOENT' || e.code === 'EACCES') {
            return reject(new UnavailableError('the policy compiler (opa) is not available'));
          }
          // Checked before `killed`: exceeding maxBuffer kills the child too.
          if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
            return reject(
              new OpaLimitError(
                'output',
                `opa ${args[0]} printed more than ${MAX_OUTPUT_BYTES} bytes and was stopped`,
              ),
            );
          }
          if (e.killed || e.signal) {
            return reject(
              new OpaLimitError('time', `opa ${args[0]} did not finish within ${timeoutMs} ms`),
            );
          }
          if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
          reject(new Error(`opa ${args[0]} failed: ${e.message}`));
        },
      );
    });
  }

  private async acquire(): Promise<void> {
    if (this.running < MAX_CONCURRENT_COMPILES) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
