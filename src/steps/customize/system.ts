// Host name, locale and time zone of the image.
import { VerificationError } from "../../errors.js";
import type { BuildContext } from "../../pipeline/context.js";
import { builtinLocale } from "./apt.js";
import { inChroot, readInRootfs, testInRootfs, writeInRootfs } from "./exec.js";

export function hostsText(hostname: string): string {
  return [
    "127.0.0.1\tlocalhost",
    `127.0.1.1\t${hostname}`,
    "",
    "# The following lines are desirable for IPv6 capable hosts",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    "",
  ].join("\n");
}

/**
 * /etc/locale.gen with `locale`'s line enabled. `supported` is
 * /usr/share/i18n/SUPPORTED ("en_US.UTF-8 UTF-8"); undefined when the locale is not in it.
 */
export function enableLocale(localeGen: string, supported: string, locale: string): string | undefined {
  const line = supported
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.split(/\s+/)[0] === locale);
  if (!line) return undefined;
  const lines = localeGen.split("\n");
  if (lines.some((l) => l.trim() === line)) return localeGen;
  const i = lines.findIndex((l) => l.replace(/^#\s*/, "").trim() === line);
  if (i >= 0) lines[i] = line;
  else lines.splice(lines.at(-1) === "" ? -1 : lines.length, 0, line);
  return lines.join("\n");
}

export async function configureSystem(ctx: BuildContext): Promise<void> {
  const c = ctx.image.config;
  ctx.log.say(`host name ${c.hostname}, locale ${c.locale}, time zone ${c.timezone}`);
  await writeInRootfs(ctx, "/etc/hostname", `${c.hostname}\n`);
  await writeInRootfs(ctx, "/etc/hosts", hostsText(c.hostname));

  if (!builtinLocale(c.locale)) {
    const supported = await readInRootfs(ctx, "/usr/share/i18n/SUPPORTED");
    const gen = (await readInRootfs(ctx, "/etc/locale.gen")) ?? "";
    const next = supported === undefined ? undefined : enableLocale(gen, supported, c.locale);
    if (next === undefined)
      throw new VerificationError(
        `locale: ${c.locale} is not in the image's /usr/share/i18n/SUPPORTED`,
        "use a name as that file spells it, e.g. en_US.UTF-8 or de_DE.UTF-8",
      );
    if (next !== gen) await writeInRootfs(ctx, "/etc/locale.gen", next);
    await inChroot(ctx, ["locale-gen"]);
  }
  await writeInRootfs(ctx, "/etc/default/locale", `LANG=${c.locale}\n`);

  const zone = `/usr/share/zoneinfo/${c.timezone}`;
  if (await testInRootfs(ctx, "-f", zone)) {
    await inChroot(ctx, ["ln", "-sfn", zone, "/etc/localtime"]);
  } else if (c.timezone !== "Etc/UTC") {
    throw new VerificationError(
      `timezone: ${c.timezone} does not exist in the image (no ${zone})`,
      "use a name under /usr/share/zoneinfo such as Europe/Berlin or Etc/UTC",
    );
  }
  // Without tzdata (minbase), no /etc/localtime means UTC to glibc and systemd.
  await writeInRootfs(ctx, "/etc/timezone", `${c.timezone}\n`);
}
