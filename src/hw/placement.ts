/**
 * Placement: which physical core slot each mapped core occupies, on the 2D mesh of one chip and
 * across the chips of a board.
 *
 * Geometry (chip-schema ChipParams):
 * - a board is a chipsX × chipsY grid of identical chips;
 * - a chip is a tilesX × tilesY mesh of routers ("tiles"), each router shared by coresPerTile
 *   cores (Loihi: 4 cores per tile; TrueNorth: one core per router), `cores` of them usable;
 * - the routers of all chips form one global mesh, meshX = chipX·tilesX + tileX,
 *   meshY = chipY·tilesY + tileY, on which packets are routed X then Y (routing.ts).
 *
 * Rule (documented choice): the cores of the layers take consecutive stretches of one fixed
 * locality-preserving path of slots, in layer order; inside a layer the cores are ordered by the
 * output position their tile starts at (row, then column, then channel), a split layer's
 * partial-sum cores just before the accumulator cores of the same position, so that the relay
 * spikes of a partial sum travel a few cores, not the length of the layer. The path:
 *   - chips in boustrophedon (snake) order over the board: chip row 0 left to right, row 1 right
 *     to left, …;
 *   - inside a chip, routers in snake order: router row 0 left to right, row 1 right to left, …;
 *   - inside a router, its coresPerTile slots in order; a chip takes its first `cores` slots.
 * So neighbouring tiles of a layer, and the last tiles of a layer with the first of the next,
 * sit on the same or adjacent routers, and a layer's traffic to the next layer travels a
 * short way along the path. Chips are filled one after the other, so the chips used are the first
 * ceil(cores / cores per chip) of the path.
 */
import type { ChipParams } from './chip-schema.ts';

export interface Board {
  chipsX: number;
  chipsY: number;
}

/** Where one core sits. */
export interface Slot {
  chipX: number;
  chipY: number;
  /** router (tile) coordinates inside the chip's mesh */
  tileX: number;
  tileY: number;
  /** core slot inside the router, 0 … coresPerTile − 1 */
  slot: number;
  /** router coordinates on the board's global mesh */
  meshX: number;
  meshY: number;
}

/** Per-core placement, parallel arrays indexed by core id. */
export interface Placement {
  chipX: Int32Array;
  chipY: Int32Array;
  tileX: Int32Array;
  tileY: Int32Array;
  slot: Int32Array;
  meshX: Int32Array;
  meshY: Int32Array;
  /** chip index chipY·chipsX + chipX */
  chip: Int32Array;
  /** global router index meshY·meshWidth + meshX */
  router: Int32Array;
  meshWidth: number;
  meshHeight: number;
  chipsUsed: number;
  routersUsed: number;
}

/** Capacity of a board, cores. */
export function boardCores(chip: ChipParams, board: Board): number {
  return board.chipsX * board.chipsY * chip.chip.cores;
}

/** Slot i of the placement path (see the module comment). */
export function slotAt(chip: ChipParams, board: Board, i: number): Slot {
  const perChip = chip.chip.cores;
  const cpt = chip.chip.coresPerTile;
  const { tilesX, tilesY } = chip.chip;
  const chipIdx = Math.floor(i / perChip);
  const r = i - chipIdx * perChip;
  const chipY = Math.floor(chipIdx / board.chipsX);
  let chipX = chipIdx - chipY * board.chipsX;
  if (chipY % 2 === 1) chipX = board.chipsX - 1 - chipX;
  const router = Math.floor(r / cpt);
  const slot = r - router * cpt;
  const tileY = Math.floor(router / tilesX);
  let tileX = router - tileY * tilesX;
  if (tileY % 2 === 1) tileX = tilesX - 1 - tileX;
  if (chipY >= board.chipsY || tileY >= tilesY) throw new Error(`slot ${i} is beyond the board (${board.chipsX}x${board.chipsY} chips)`);
  return { chipX, chipY, tileX, tileY, slot, meshX: chipX * tilesX + tileX, meshY: chipY * tilesY + tileY };
}

/**
 * Places `count` cores along the path: core id goes to slot `slotOf[id]` (default: slot id); the
 * caller has checked that the board holds them.
 */
export function placeCores(chip: ChipParams, board: Board, count: number, slotOf?: Int32Array): Placement {
  const p: Placement = {
    chipX: new Int32Array(count),
    chipY: new Int32Array(count),
    tileX: new Int32Array(count),
    tileY: new Int32Array(count),
    slot: new Int32Array(count),
    meshX: new Int32Array(count),
    meshY: new Int32Array(count),
    chip: new Int32Array(count),
    router: new Int32Array(count),
    meshWidth: board.chipsX * chip.chip.tilesX,
    meshHeight: board.chipsY * chip.chip.tilesY,
    chipsUsed: 0,
    routersUsed: 0,
  };
  const chips = new Set<number>();
  const routers = new Set<number>();
  for (let i = 0; i < count; i++) {
    const s = slotAt(chip, board, slotOf ? slotOf[i] : i);
    p.chipX[i] = s.chipX;
    p.chipY[i] = s.chipY;
    p.tileX[i] = s.tileX;
    p.tileY[i] = s.tileY;
    p.slot[i] = s.slot;
    p.meshX[i] = s.meshX;
    p.meshY[i] = s.meshY;
    p.chip[i] = s.chipY * board.chipsX + s.chipX;
    p.router[i] = s.meshY * p.meshWidth + s.meshX;
    chips.add(p.chip[i]);
    routers.add(p.router[i]);
  }
  p.chipsUsed = chips.size;
  p.routersUsed = routers.size;
  return p;
}

/** The smallest n with an n × n board holding `cores` cores. */
export function smallestSquareBoard(chip: ChipParams, cores: number): Board {
  const chips = Math.max(1, Math.ceil(cores / chip.chip.cores));
  let n = Math.max(1, Math.ceil(Math.sqrt(chips)));
  while (n * n < chips) n++;
  return { chipsX: n, chipsY: n };
}
