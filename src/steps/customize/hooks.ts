// The image's hook scripts, in order. The environment is the one documented
// in hooks/show-env.sh: keep the two in step.
import path from "node:path";
import { CommandError } from "../../errors.js";
import { findHook } from "../../images/files.js";
import type { BuildContext, HookRecord } from "../../pipeline/context.js";
import { inChroot, labelledSink, LONG, onMachine, writeOnMachine } from "./exec.js";

/** Where chroot hooks and the config JSON are copied inside the image (removed by finish). */
export const CHROOT_HOOK_DIR = "/tmp/vmlive-hooks";

/** "03-show-env.sh": the index keeps the order and tells same-named hooks apart. */
export const hookFileName = (index: number, rel: string) =>
  `${String(index + 1).padStart(2, "0")}-${path.posix.basename(rel)}`;

/** The documented hook environment (see hooks/show-env.sh), plus the image's `env:`. */
export function hookEnv(
  ctx: BuildContext,
  hookPath: string,
  where: "chroot" | "builder",
): Record<string, string> {
  const c = ctx.image.config;
  return {
    ...c.env,
    VMLIVE_IMAGE: ctx.image.name,
    VMLIVE_SUITE: c.suite,
    VMLIVE_ARCH: c.arch,
    VMLIVE_HOOK: hookPath,
    VMLIVE_WHERE: where,
    VMLIVE_ROOTFS: where === "chroot" ? "/" : ctx.work.rootfs,
    VMLIVE_CONFIG_JSON:
      where === "chroot" ? `${CHROOT_HOOK_DIR}/config.json` : `${ctx.work.input}/config.json`,
  };
}

/** Upload the hooks and the resolved config to work.input; copy them into the image for chroot hooks. */
async function uploadHooks(ctx: BuildContext): Promise<string[]> {
  const { hooks } = ctx.image.config;
  const dir = `${ctx.work.input}/hooks`;
  await onMachine(ctx, ["rm", "-rf", "--one-file-system", dir], { quiet: true });
  await onMachine(ctx, ["mkdir", "-p", dir], { quiet: true });
  await writeOnMachine(
    ctx,
    `${ctx.work.input}/config.json`,
    JSON.stringify(ctx.image.config, null, 2) + "\n",
  );
  const files: string[] = [];
  for (const [i, h] of hooks.entries()) {
    const found = findHook(ctx.image, h.path);
    if (!found.ok) throw new Error(`hooks.${i}.path: ${found.message}`);
    const dest = `${dir}/${hookFileName(i, h.path)}`;
    await ctx.machine.upload(found.path, dest, { signal: ctx.signal });
    files.push(dest);
  }
  await onMachine(ctx, ["chmod", "0755", ...files], { quiet: true });
  if (hooks.some((h) => h.where === "chroot")) {
    const inImage = `${ctx.work.rootfs}${CHROOT_HOOK_DIR}`;
    await onMachine(ctx, ["rm", "-rf", "--one-file-system", inImage], { quiet: true });
    await onMachine(ctx, ["mkdir", "-m", "0700", "-p", inImage], { quiet: true });
    await onMachine(ctx, ["cp", "-a", "--", `${dir}/.`, `${inImage}/`], { quiet: true });
    await onMachine(ctx, ["cp", "--", `${ctx.work.input}/config.json`, `${inImage}/config.json`], {
      quiet: true,
    });
  }
  return files;
}

export async function runHooks(ctx: BuildContext): Promise<void> {
  const { hooks } = ctx.image.config;
  ctx.state.hooks = [];
  if (hooks.length === 0) return;
  await uploadHooks(ctx);
  for (const [i, h] of hooks.entries()) {
    const name = hookFileName(i, h.path);
    const label = `hook ${i + 1}/${hooks.length} ${h.path}`;
    ctx.log.say(`${label} (${h.where})`);
    const out = labelledSink(ctx.log.output, `hook ${i + 1}`);
    const env = hookEnv(ctx, h.path, h.where);
    const opts = { ...LONG, env, output: out.sink, check: false };
    const started = Date.now();
    const site = h.where === "chroot" ? "chroot" : ctx.machine.site;
    const what = `hook ${i + 1} of ${hooks.length} (hooks.${i}: ${h.path}, where: ${h.where})`;
    const r = await (
      h.where === "chroot"
        ? inChroot(ctx, [`${CHROOT_HOOK_DIR}/${name}`], opts)
        : onMachine(ctx, [`${ctx.work.input}/hooks/${name}`], { ...opts, cwd: ctx.work.input })
    ).catch((e: unknown) => {
      // A hook stopped by the watchdog or the timeout: named as the config names it, not by its uploaded copy.
      if (e instanceof CommandError && e.detail.cause && !ctx.signal.aborted)
        throw new CommandError([h.path], site, {
          ...e.detail,
          cause: `${what}: ${e.detail.cause}`,
          tail: out.tail(),
          logPath: ctx.log.file,
        });
      throw e;
    });
    const record: HookRecord = {
      path: h.path,
      where: h.where,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      exitCode: r.exitCode,
    };
    ctx.state.hooks.push(record);
    if (r.exitCode !== 0)
      throw new CommandError([h.path], site, {
        exitCode: r.exitCode,
        signal: r.signal,
        cause: `${what} failed with ${r.signal ? `signal ${r.signal}` : `exit code ${r.exitCode}`}`,
        tail: out.tail(),
        logPath: ctx.log.file,
      });
  }
}
