// `--git URL --ref REF`: build the images of a git repository at a given
// branch, tag or commit (Koji builds from an SCM URL the same way). The
// repository is cloned into a temporary folder that goes away afterwards;
// the commit it resolved to is recorded in every build's report.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CommandError, UsageError } from "../errors.js";
import { run } from "../process/run.js";

export interface GitSource {
  url: string;
  ref: string;
  /** The full commit hash REF resolved to. */
  commit: string;
}

export interface GitCheckout extends AsyncDisposable {
  /** The working tree: images/, hooks/ and vm/ are looked up here. */
  dir: string;
  source: GitSource;
}

export interface CheckoutOptions {
  url: string;
  /** Branch, tag or commit; default HEAD (the remote's default branch). */
  ref?: string;
  signal?: AbortSignal;
  say?: (message: string) => void;
}

export async function checkoutGit(o: CheckoutOptions): Promise<GitCheckout> {
  const ref = o.ref ?? "HEAD";
  // Neither may be taken for an option by git.
  if (o.url.startsWith("-")) throw new UsageError(`--git "${o.url}" is not a repository URL or path`);
  if (ref.startsWith("-") || /\s/.test(ref))
    throw new UsageError(`--ref "${ref}" is not a branch, tag or commit`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "vmlive-git-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  const git = (args: string[]) =>
    run(["git", "-C", dir, ...args], { signal: o.signal, timeoutMs: 30 * 60_000, idleTimeoutMs: 5 * 60_000 });
  try {
    o.say?.(`cloning ${o.url} (${ref})`);
    // A full clone: REF may be any commit, not only a branch tip.
    await run(["git", "clone", "--quiet", "--no-checkout", "--", o.url, dir], {
      signal: o.signal,
      timeoutMs: 30 * 60_000,
      idleTimeoutMs: 5 * 60_000,
    });
    const commit = await resolve(git, ref, o.url);
    await git(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit]);
    o.say?.(`building ${o.url} at ${commit.slice(0, 12)} (${ref})`);
    return { dir, source: { url: o.url, ref, commit }, [Symbol.asyncDispose]: remove };
  } catch (e) {
    await remove();
    if (e instanceof CommandError && e.argv.includes("clone"))
      throw new UsageError(
        `git could not clone ${o.url}: ${e.detail.tail?.trim().split("\n").at(-1) ?? e.message}`,
        "give a URL or path of a git repository that this machine can read",
      );
    throw e;
  }
}

/** REF as a commit: remote branches and tags first (a clone has no local branch but the default one). */
async function resolve(
  git: (args: string[]) => ReturnType<typeof run>,
  ref: string,
  url: string,
): Promise<string> {
  for (const candidate of [`origin/${ref}`, ref]) {
    const r = await git([
      "rev-parse",
      "--verify",
      "--quiet",
      "--end-of-options",
      `${candidate}^{commit}`,
    ]).catch(() => undefined);
    const commit = r?.stdout.trim();
    if (commit) return commit;
  }
  throw new UsageError(`--ref ${ref}: ${url} has no branch, tag or commit of that name`);
}
