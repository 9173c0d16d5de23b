// The provider store's public surface: the interface (types.ts) and the SQLite engine.
export type * from './types.ts';
export { openSqliteStore, SqliteStore } from './sqlite/store.ts';
export { MIGRATIONS, migrate, type Migration } from './sqlite/migrations.ts';
export { MAX_WRITES_PER_BATCH, WriteBatcher, writeBatcherOf } from './batcher.ts';
