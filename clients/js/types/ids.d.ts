/** A UUID v7: 48 bits of Unix milliseconds, then random bits; monotonic within one millisecond. */
export function uuidv7(): string;
