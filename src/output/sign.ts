// `--sign KEYID`: a detached, ASCII-armoured GPG signature of SHA256SUMS
// (SHA256SUMS.sign, the name debian-cd uses), so a download can be checked
// with `gpg --verify SHA256SUMS.sign SHA256SUMS` and then `sha256sum -c`.
import path from "node:path";
import { UsageError, VerificationError } from "../errors.js";
import { run } from "../process/run.js";

export const SIGNATURE_FILE = "SHA256SUMS.sign";

/** Before the build: the key must be a usable secret key here, else the build would fail at its very end. */
export async function checkSigningKey(key: string): Promise<void> {
  if (!/^[A-Za-z0-9@._+<>-]+$/.test(key) || key.startsWith("-"))
    throw new UsageError(`--sign "${key}" is not a key ID, fingerprint or e-mail address`);
  const r = await run(["gpg", "--batch", "--list-secret-keys", "--with-colons", "--", key], {
    check: false,
    timeoutMs: 60_000,
  }).catch((e: unknown) => {
    throw new UsageError(
      `--sign needs gpg: ${e instanceof Error ? e.message : String(e)}`,
      "sudo apt-get install gnupg",
    );
  });
  if (r.exitCode !== 0 || !r.stdout.split("\n").some((l) => l.startsWith("sec:")))
    throw new UsageError(
      `--sign ${key}: gpg has no secret key for it${process.env.GNUPGHOME ? ` in ${process.env.GNUPGHOME}` : ""}`,
      "list keys with `gpg --list-secret-keys`; import one with `gpg --import KEYFILE`",
    );
}

/** Sign dir/SHA256SUMS with `key`, then check the signature as a downloader would. Returns the file's path. */
export async function signChecksums(dir: string, key: string, signal?: AbortSignal): Promise<string> {
  const sums = path.join(dir, "SHA256SUMS");
  const sig = path.join(dir, SIGNATURE_FILE);
  const opts = { signal, timeoutMs: 5 * 60_000 };
  await run(
    ["gpg", "--batch", "--yes", "--armor", "--local-user", key, "--output", sig, "--detach-sign", "--", sums],
    opts,
  );
  const v = await run(["gpg", "--batch", "--status-fd", "1", "--verify", "--", sig, sums], {
    ...opts,
    check: false,
  });
  if (v.exitCode !== 0 || !/^\[GNUPG:\] VALIDSIG /m.test(v.stdout))
    throw new VerificationError(
      `the signature gpg made of ${sums} does not verify`,
      v.stderr.trim() || undefined,
    );
  return sig;
}
