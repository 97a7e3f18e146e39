/**
 * The ANN memory map's descriptor layouts, shared by the WASM kernels (assembly/ann.ts) and the
 * host (src/ann/wasm.ts). Plain numeric constants so the file is valid AssemblyScript and valid
 * TypeScript alike: keep it that way (no AS-only types, no imports).
 *
 * The host lays out linear memory once per network (above `heapBase()`, nothing is allocated by
 * the WASM side): a CHW staging area, one channels-last activation buffer per layer output, one
 * 64-byte descriptor per layer, the conv block tables and the repacked weights. Every kernel takes
 * the byte address of its descriptor; fields are i32 (addresses and strides in bytes) unless noted.
 *
 * Activation buffers are H×W×Cp (Cp = C rounded up to a multiple of 4, the extra channels stay 0)
 * with a zero border of B pixels on every side, B = the largest `pad` of the convs that read the
 * buffer, so conv kernels never bounds-check. `origin` is the address of pixel (0, 0), channel 0;
 * `row` = (W + 2B)·Cp·4 and `pix` = Cp·4 are byte strides.
 */

/** every descriptor occupies this many i32 (64 bytes) */
export const DESC_INTS = 16;

// conv (dense and grouped): register-blocked over 4 output pixels × 8 (or 4) output channels
export const CONV_IN = 0;
export const CONV_IN_ROW = 1;
export const CONV_IN_PIX = 2;
export const CONV_OUT = 3;
export const CONV_OUT_ROW = 4;
export const CONV_OUT_PIX = 5;
export const CONV_OUT_H = 6;
export const CONV_OUT_W = 7;
export const CONV_STRIDE = 8;
export const CONV_K = 9;
export const CONV_PAD = 10;
/** number of output-channel blocks */
export const CONV_NBLK = 11;
/** address of the block table (BLK_INTS i32 per block) */
export const CONV_BLK = 12;
/** blocks per cache tile: the kernel sweeps all pixels for one tile of blocks at a time */
export const CONV_TILE = 13;
/** 0 linear, 1 leaky, 2 relu */
export const CONV_ACT = 14;
/** f32: negative-side slope of leaky */
export const CONV_SLOPE = 15;

/**
 * One conv output-channel block: its weights are bias[width] followed by
 * [ky][seg][j < segLen][width] (f32). Dense conv: one segment of k·Cp_in values per kernel row
 * (kx and input channel merged; the zero pad channels meet zero weights). Grouped conv: k
 * segments (one per kx) of the input channels the block's groups read, starting at IN_CH.
 */
export const BLK_INTS = 8;
export const BLK_W = 0;
/** byte offset of the block's first output channel inside an output pixel */
export const BLK_OUT_CH = 1;
/** 4 or 8 output channels */
export const BLK_WIDTH = 2;
/** byte offset of the block's first input channel inside an input pixel */
export const BLK_IN_CH = 3;
export const BLK_SEG_LEN = 4;
export const BLK_NSEG = 5;

// depthwise conv (groups = C_in = C_out): weights bias[Cp] then [ky][kx][Cp]
export const DW_IN = 0;
export const DW_IN_ROW = 1;
export const DW_IN_PIX = 2;
export const DW_OUT = 3;
export const DW_OUT_ROW = 4;
export const DW_OUT_PIX = 5;
export const DW_OUT_H = 6;
export const DW_OUT_W = 7;
export const DW_STRIDE = 8;
export const DW_K = 9;
export const DW_PAD = 10;
export const DW_CP = 11;
export const DW_W = 12;
export const DW_ACT = 13;
/** f32 */
export const DW_SLOPE = 14;

// maxpool (darknet: window cells outside the input are ignored)
export const POOL_IN = 0;
export const POOL_IN_ROW = 1;
export const POOL_IN_PIX = 2;
export const POOL_OUT = 3;
export const POOL_OUT_ROW = 4;
export const POOL_OUT_PIX = 5;
export const POOL_IN_H = 6;
export const POOL_IN_W = 7;
export const POOL_OUT_H = 8;
export const POOL_OUT_W = 9;
export const POOL_SIZE = 10;
export const POOL_STRIDE = 11;
export const POOL_PAD = 12;
export const POOL_CP = 13;

// copy N channels of every pixel (route = one copy per source, at the destination's channel offset)
export const COPY_SRC = 0;
export const COPY_SRC_ROW = 1;
export const COPY_SRC_PIX = 2;
export const COPY_DST = 3;
export const COPY_DST_ROW = 4;
export const COPY_DST_PIX = 5;
export const COPY_H = 6;
export const COPY_W = 7;
export const COPY_N = 8;

// nearest-neighbour upsample
export const UP_SRC = 0;
export const UP_SRC_ROW = 1;
export const UP_SRC_PIX = 2;
export const UP_DST = 3;
export const UP_DST_ROW = 4;
export const UP_DST_PIX = 5;
export const UP_OUT_H = 6;
export const UP_OUT_W = 7;
export const UP_STRIDE = 8;
export const UP_CP = 9;

// layout conversion between a channels-last buffer and a dense C×H×W f32 array
export const CVT_HWC = 0;
export const CVT_ROW = 1;
export const CVT_PIX = 2;
export const CVT_CHW = 3;
export const CVT_C = 4;
export const CVT_H = 5;
export const CVT_W = 6;
