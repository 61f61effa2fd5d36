// What lsblk says about a block device, and the rules that decide whether
// vmlive may overwrite it. Pure functions over lsblk's JSON, so the rules are
// tested against the shapes real lsblk versions print.
import { humanBytes } from "../steps/boot/machine-files.js";

/** The columns vmlive asks lsblk for (lsblk -o takes them comma-separated). */
export const LSBLK_COLUMNS = [
  "NAME",
  "PATH",
  "SIZE",
  "RM",
  "HOTPLUG",
  "TRAN",
  "MODEL",
  "MOUNTPOINTS",
  "TYPE",
  "PKNAME",
  "FSTYPE",
  "LABEL",
] as const;

export function lsblkArgv(device: string): string[] {
  return ["lsblk", "--json", "--bytes", "-o", LSBLK_COLUMNS.join(","), "--", device];
}

export interface BlockDevice {
  name: string;
  path: string;
  size: number;
  removable: boolean;
  hotplug: boolean;
  /** usb, sata, nvme, mmc ...; null for virtual devices (loop, virtio). */
  transport: string | null;
  model: string | null;
  mountpoints: string[];
  /** disk, part, loop, rom, lvm, crypt ... */
  type: string;
  parent: string | null;
  fstype: string | null;
  label: string | null;
  children: BlockDevice[];
}

type Raw = Record<string, unknown>;

// The shape of lsblk 2.37 and later (MOUNTPOINTS is new in 2.37): booleans,
// numbers with --bytes, null for an empty column, [null] for "not mounted".
function text(v: unknown): string | null {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : null;
}

function toDevice(r: Raw): BlockDevice {
  const name = text(r.name) ?? "";
  return {
    name,
    path: text(r.path) ?? `/dev/${name}`,
    size: typeof r.size === "number" ? r.size : 0,
    removable: r.rm === true,
    hotplug: r.hotplug === true,
    transport: text(r.tran),
    model: text(r.model),
    mountpoints: (Array.isArray(r.mountpoints) ? r.mountpoints : []).filter(
      (m): m is string => typeof m === "string" && m !== "",
    ),
    type: text(r.type) ?? "unknown",
    parent: text(r.pkname),
    fstype: text(r.fstype),
    label: text(r.label),
    children: Array.isArray(r.children) ? (r.children as Raw[]).map(toDevice) : [],
  };
}

/** The device `lsblk --json ... DEVICE` printed (the first top-level one). */
export function parseLsblk(json: string): BlockDevice {
  const parsed = JSON.parse(json) as { blockdevices?: Raw[] };
  const first = parsed.blockdevices?.[0];
  if (!first) throw new Error(`lsblk printed no block device: ${json.slice(0, 200)}`);
  return toDevice(first);
}

/** The device and everything below it (partitions, and LVM or LUKS devices on them). */
export function descendants(d: BlockDevice): BlockDevice[] {
  return [d, ...d.children.flatMap(descendants)];
}

/** Mount points that make a disk the running system's own: never overwritten, whatever the flags. */
export function isSystemMount(m: string): boolean {
  return m === "/" || m === "/boot" || m.startsWith("/boot/") || m === "/usr" || m === "[SWAP]";
}

export interface Refusal {
  reason: string;
  hint: string;
  /** --force overrides it (only "not removable" is a judgement call; the rest are facts). */
  forceable: boolean;
}

/** Why vmlive will not overwrite this device; empty when it may. */
export function refusals(d: BlockDevice): Refusal[] {
  if (d.type === "part")
    return [
      {
        reason: `${d.path} is a partition${d.parent ? ` of /dev/${d.parent}` : ""}, not a whole disk`,
        hint: `name the whole disk${d.parent ? `, /dev/${d.parent}` : ""}: the ISO brings its own partition table`,
        forceable: false,
      },
    ];
  if (d.type !== "disk" && d.type !== "loop")
    return [
      {
        reason: `${d.path} is a ${d.type} device, not a disk`,
        hint: "name a USB stick or SD card, such as /dev/sdb (see `lsblk -o NAME,MODEL,SIZE,TRAN`)",
        forceable: false,
      },
    ];
  const out: Refusal[] = [];
  const all = descendants(d);
  const system = all.filter((x) => x.mountpoints.some(isSystemMount));
  if (system.length)
    out.push({
      reason: `${d.path} holds the running system (${system.map((x) => `${x.path} on ${x.mountpoints.filter(isSystemMount).join(", ")}`).join("; ")})`,
      hint: "vmlive never overwrites the disk it runs from: name the USB stick",
      forceable: false,
    });
  const mounted = all.filter((x) => x.mountpoints.length && !system.includes(x));
  if (mounted.length)
    out.push({
      reason: `${d.path} is in use: ${mounted.map((x) => `${x.path} is mounted on ${x.mountpoints.join(", ")}`).join("; ")}`,
      hint: `unmount it first: ${mounted.map((x) => `umount ${x.path}`).join(" && ")}`,
      forceable: false,
    });
  if (d.size === 0)
    out.push({
      reason: `${d.path} has no medium (size 0)`,
      hint: "insert the card or stick, then run again",
      forceable: false,
    });
  if (!d.removable && !d.hotplug && d.transport !== "usb")
    out.push({
      reason: `${d.path} is not a removable disk (not removable, not hot-pluggable, transport ${d.transport ?? "none"})`,
      hint: "if you really mean this disk, add --force",
      forceable: true,
    });
  return out;
}

/** What the user sees before saying --yes: the disk and everything on it. */
export function describeDisk(d: BlockDevice): string[] {
  const traits = [
    d.model ?? "no model name",
    `${humanBytes(d.size)} (${d.size} bytes)`,
    d.transport ?? "no transport",
    d.removable ? "removable" : d.hotplug ? "hot-pluggable" : "fixed",
  ];
  const lines = [`${d.path}: ${traits.join(", ")}`];
  const parts = descendants(d).slice(1);
  if (!parts.length) lines.push("  no partitions on it");
  for (const p of parts) {
    const what = [p.type, p.fstype, p.label && `"${p.label}"`, humanBytes(p.size)].filter(Boolean);
    lines.push(`  ${p.path}: ${what.join(" ")}`);
  }
  return lines;
}
