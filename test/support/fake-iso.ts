// The smallest file that passes for an ISO 9660 image before booting: a
// primary volume descriptor saying how many 2048-byte sectors the volume has.
import { writeFileSync } from "node:fs";

export function fakeIso(file: string, sectors = 40, bytes = sectors * 2048): void {
  const b = Buffer.alloc(bytes);
  const pvd = 16 * 2048;
  b[pvd] = 1;
  b.write("CD001", pvd + 1, "latin1");
  // Both-endian fields: little-endian, then big-endian.
  b.writeUInt32LE(sectors, pvd + 80);
  b.writeUInt32BE(sectors, pvd + 84);
  b.writeUInt16LE(2048, pvd + 128);
  b.writeUInt16BE(2048, pvd + 130);
  writeFileSync(file, b);
}
