import type { BundleProblem } from '../errors/domain.error';

/**
 * Turns what the opa CLI prints into {@link BundleProblem}s located in the files as the author
 * uploaded them. `root` is the directory name opa was given (files are reported as
 * `<root>/<path>`); it and any absolute temp prefix are stripped so no server path leaks.
 */
export class OpaOutputMapper {
  constructor(
    private readonly root: string,
    private readonly tempDir: string,
  ) {}

  /** `opa check --format json` prints `{"errors":[{code,message,location:{file,row,col}}]}`. */
  checkErrors(output: string): BundleProblem[] {
    const parsed = parseJson(output);
    const errors = (parsed as { errors?: unknown } | undefined)?.errors;
    if (!Array.isArray(errors) || errors.length === 0)
      return [this.unparsed('opa_check_failed', output)];
    const problems = errors.map((e: unknown) => this.fromOpaError(e));
    return dedupe(problems);
  }

  /** `opa test --format json` prints one result per test; a failing or erroring test rejects. */
  testFailures(output: string): BundleProblem[] {
    const parsed = parseJson(output);
    if (!Array.isArray(parsed)) return [this.unparsed('opa_test_failed', output)];
    const problems: BundleProblem[] = [];
    for (const raw of parsed as unknown[]) {
      const t = raw as {
        location?: { file?: unknown; row?: unknown; col?: unknown };
        package?: unknown;
        name?: unknown;
        fail?: unknown;
        error?: { message?: unknown; code?: unknown } | null;
      };
      const name = `${str(t.package) ?? 'data'}.${str(t.name) ?? '?'}`;
      const loc = this.location(t.location);
      if (t.error) {
        problems.push({
          code: 'opa_test_error',
          ...loc,
          message: `test ${name} errored: ${this.clean(str(t.error.message) ?? 'unknown error')}`,
        });
      } else if (t.fail === true) {
        problems.push({ code: 'opa_test_failed', ...loc, message: `test ${name} failed` });
      }
    }
    return problems.length > 0 ? problems : [this.unparsed('opa_test_failed', output)];
  }

  /**
   * `opa build` only prints text: `error: N errors occurred:\n<file>:<row>: <code>: <message>`.
   * Most problems are caught by `opa check` first; what remains is mostly the entrypoint.
   */
  buildErrors(output: string): BundleProblem[] {
    const text = this.clean(output);
    const problems: BundleProblem[] = [];
    const located = /([^\s:]+\.rego):(\d+): ([a-z_]+): (.+)/g;
    for (const m of text.matchAll(located)) {
      problems.push({ code: m[3], file: m[1], row: Number(m[2]), col: null, message: m[4].trim() });
    }
    if (problems.length > 0) return problems;
    const entrypoint = /entrypoint "([^"]+)" does not refer to a rule or policy decision/.exec(
      text,
    );
    if (entrypoint) {
      return [
        {
          code: 'entrypoint_undefined',
          file: null,
          row: null,
          col: null,
          message: `no module defines ${entrypoint[1].replace(/\//g, '.')} (package portcullis, rule decision)`,
        },
      ];
    }
    return [this.unparsed('opa_build_failed', output)];
  }

  /** Removes the temp dir and the bundle root from paths inside free text. */
  clean(text: string): string {
    return text
      .split(`${this.tempDir}/`)
      .join('')
      .split(`${this.root}/`)
      .join('')
      .replace(/^error: /, '')
      .trim();
  }

  /** A reported file name, relative to the uploaded tree. */
  file(reported: string): string {
    let f = reported;
    if (f.startsWith(`${this.tempDir}/`)) f = f.slice(this.tempDir.length + 1);
    if (f.startsWith('./')) f = f.slice(2);
    if (f.startsWith(`${this.root}/`)) f = f.slice(this.root.length + 1);
    return f;
  }

  private fromOpaError(raw: unknown): BundleProblem {
    const e = raw as {
      code?: unknown;
      message?: unknown;
      location?: { file?: unknown; row?: unknown; col?: unknown };
    };
    return {
      code: str(e.code) ?? 'opa_error',
      ...this.location(e.location),
      message: this.clean(str(e.message) ?? 'unknown error'),
    };
  }

  private location(
    loc: { file?: unknown; row?: unknown; col?: unknown } | undefined,
  ): Pick<BundleProblem, 'file' | 'row' | 'col'> {
    const file = str(loc?.file);
    return {
      file: file ? this.file(file) : null,
      row: typeof loc?.row === 'number' ? loc.row : null,
      col: typeof loc?.col === 'number' ? loc.col : null,
    };
  }

  private unparsed(code: string, output: string): BundleProblem {
    const first =
      this.clean(output)
        .split('\n')
        .find((l) => l.trim() !== '') ?? 'opa failed without output';
    return { code, file: null, row: null, col: null, message: first.slice(0, 1000) };
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** OPA's parser often reports one syntax error twice with a longer hint; keep the most helpful one. */
function dedupe(problems: BundleProblem[]): BundleProblem[] {
  const out: BundleProblem[] = [];
  for (const p of problems) {
    const same = out.findIndex(
      (q) => q.code === p.code && q.file === p.file && q.row === p.row && q.col === p.col,
    );
    if (same === -1) out.push(p);
    else if (p.message.length > out[same].message.length && p.message.startsWith(out[same].message))
      out[same] = p;
  }
  return out;
}
