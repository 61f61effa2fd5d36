import type { CommandModule } from "yargs";
import path from "node:path";
import { loadImage } from "../../config/load.js";
import { ConfigError } from "../../errors.js";
import { imagesDir, listImageNames } from "../../images/locate.js";
import type { Io } from "../io.js";

export function listCommand(io: Io): CommandModule {
  return {
    command: "list",
    describe: "List the images under images/ with their descriptions",
    builder: (y) =>
      y.example("$0 list", "").example("VMLIVE_IMAGES=~/my-images $0 list", "another images folder"),
    handler: () => {
      const names = listImageNames();
      if (!names.length) {
        io.out(
          `no images under ${path.relative(process.cwd(), imagesDir()) || "."}/ (an image is a folder with an image.yaml)`,
        );
        return;
      }
      const rows = names.map((n) => {
        try {
          const c = loadImage(n).config;
          return [n, `${c.suite}/${c.arch}`, c.description];
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          return [n, "?", `(invalid: see \`vmlive check ${n}\`)`];
        }
      });
      const w0 = Math.max(...rows.map((r) => r[0]!.length));
      const w1 = Math.max(...rows.map((r) => r[1]!.length));
      for (const [n, sa, d] of rows) io.out(`${n!.padEnd(w0)}  ${sa!.padEnd(w1)}  ${d}`);
    },
  };
}
