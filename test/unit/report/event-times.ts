// Event times for renderer tests: seconds after a fixed start.
export const T0 = Date.parse("2026-12-01T10:55:00.000Z");

/** The ISO time `s` seconds after T0. */
export const at = (s: number) => new Date(T0 + s * 1000).toISOString();
