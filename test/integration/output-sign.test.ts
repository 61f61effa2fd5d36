// --sign with a real gpg and a throwaway key: the signature verifies, and a
// key that is not there stops the build before it starts.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { CommandError, UsageError } from "../../src/errors.js";
import { checkSigningKey, signChecksums, SIGNATURE_FILE } from "../../src/output/sign.js";
import { tempDir } from "../support/tmp.js";

const EMAIL = "nightly@vmlive.test";

beforeAll(async () => {
  const home = tempDir("vmlive-gnupg-");
  chmodSync(home, 0o700);
  process.env.GNUPGHOME = home;
  await execa("gpg", [
    "--batch",
    "--passphrase",
    "",
    "--quick-gen-key",
    `vmlive nightly <${EMAIL}>`,
    "ed25519",
    "sign",
    "never",
  ]);
});

describe("signing SHA256SUMS", () => {
  it("makes SHA256SUMS.sign that gpg --verify accepts, and that fails for a changed file", async () => {
    const dir = tempDir("vmlive-sign-");
    const sums = path.join(dir, "SHA256SUMS");
    writeFileSync(sums, "0123  live.iso\n");
    await checkSigningKey(EMAIL);
    const sig = await signChecksums(dir, EMAIL);
    expect(sig).toBe(path.join(dir, SIGNATURE_FILE));
    expect(readFileSync(sig, "utf8")).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    await execa("gpg", ["--batch", "--verify", sig, sums]);
    writeFileSync(sums, "4567  live.iso\n");
    await expect(execa("gpg", ["--batch", "--verify", sig, sums])).rejects.toThrow(/BAD signature/);
  });

  it("refuses a key gpg does not have, and a word that is not a key", async () => {
    const err = await checkSigningKey("nobody@vmlive.test").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain("gpg has no secret key for it");
    expect((err as UsageError).hint).toContain("gpg --import");
    await expect(checkSigningKey("--homedir=/tmp")).rejects.toThrow(/is not a key ID/);
  });

  it("fails, naming gpg, when there is nothing to sign", async () => {
    const dir = tempDir("vmlive-sign-");
    const err = await signChecksums(dir, EMAIL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).argv).toContain("--detach-sign");
  });
});
