// Re-exports every frame type of Parley v1, by area (spec/protocol.md).
export type * from './envelope.ts';
export type * from './session.ts';
export type * from './error.ts';
export type * from './accounts.ts';
export type * from './keys.ts';
export type * from './messages.ts';
export type * from './consent.ts';
export type * from './attachments.ts';
export type * from './groups.ts';
