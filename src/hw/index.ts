/** The hardware side: chip models, the mapper (partition, placement, routing), energy and timing. */
export * from './chip-schema.ts';
export * from './power.ts';
export * from './placement.ts';
export * from './routing.ts';
export * from './mapper.ts';
export * from './map-svg.ts';
