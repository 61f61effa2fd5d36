import type { CommandModule } from "yargs";
import { stringify } from "yaml";
import { loadImage } from "../../config/load.js";
import type { Io } from "../io.js";
import { setOption, type SetArgs } from "./options.js";

interface Args extends SetArgs {
  image: string;
  json?: boolean;
}

export function configCommand(io: Io): CommandModule<object, Args> {
  return {
    command: "config <image>",
    describe: "Print an image's fully resolved config, every default filled in",
    builder: (y) =>
      setOption(
        y
          .positional("image", { type: "string", demandOption: true, describe: "image name or path" })
          .option("json", { type: "boolean", default: false, describe: "print JSON instead of YAML" })
          .example("$0 config live-minimal", "the resolved config as YAML")
          .example("$0 config live-minimal --json --set arch=i386", "as JSON, for another architecture"),
      ) as never,
    handler: (a) => {
      const { config } = loadImage(a.image, { sets: a.set ?? [] });
      io.out(a.json ? JSON.stringify(config, null, 2) : stringify(config));
    },
  };
}
