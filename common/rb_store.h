/*  rb_store: a node's one LMDB environment, its named tables and transactions.
 *
 *  Every piece of durable state lives here: outboxes, inbound sequence
 *  state, received events, idempotency keys, clock offset. Tables are LMDB
 *  named databases opened once at start. Transactions are wrapped so that
 *  mdb_txn_abort lives in exactly one place: rb_txn_destroy aborts anything
 *  not committed. LMDB's own codes never leave this module: MDB_MAP_FULL
 *  becomes RB_EFULL, MDB_NOTFOUND RB_ENOTFOUND, the rest RB_ESTORE, and
 *  rb_store_errmsg() keeps LMDB's text for the log.
 *
 *  Rules (LMDB's caveats): one write transaction at a time, and it belongs
 *  to the node's single thread; keep read transactions short; never use the
 *  environment after fork. Child transactions (rb_txn_child) let one request
 *  fail inside a group commit without touching the others.
 */
#ifndef RB_STORE_H
#define RB_STORE_H

#include "rb_error.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _rb_store_t rb_store_t;
typedef struct _rb_txn_t rb_txn_t;
typedef unsigned int rb_table_t;

//  A key or value: bytes and length. Values read point into the map and
//  stay valid until the transaction ends.
typedef struct {
    const void *data;
    size_t size;
} rb_val_t;

//  Open or create the environment in dir (created if missing) with a map of
//  map_size_mb. Returns NULL and fills refusal on failure.
rb_store_t *rb_store_new (const char *dir, uint64_t map_size_mb, rb_refusal_t *refusal);

//  Open an existing environment in dir only to read it, beside the node
//  that may be running on it (LMDB's readers do not block its writer):
//  for offline tools. Tables must exist (RB_ENOTFOUND otherwise), and
//  every transaction must be read-only.
rb_store_t *rb_store_open_readonly (const char *dir, rb_refusal_t *refusal);

//  Close the environment and null the caller's pointer.
void rb_store_destroy (rb_store_t **self_p);

//  Open (creating) a named table; in a read-only store it must exist.
//  Call at start, before other transactions.
rb_err_t rb_store_table (rb_store_t *self, const char *name, rb_table_t *table);

//  LMDB's text for the last storage error seen on this store.
const char *rb_store_errmsg (rb_store_t *self);

//  Bytes in use (high-water page count times page size) and the map size.
void rb_store_usage (rb_store_t *self, uint64_t *used, uint64_t *map);

//  Begin a transaction; write=false for read-only.
rb_err_t rb_txn_begin (rb_store_t *store, bool write, rb_txn_t **txn_p);

//  Begin a child of an open write transaction: its writes join the parent
//  on commit and vanish on destroy.
rb_err_t rb_txn_child (rb_txn_t *parent, rb_txn_t **txn_p);

//  Commit and free; *txn_p is NULL afterwards whether or not it succeeded.
rb_err_t rb_txn_commit (rb_txn_t **txn_p);

//  Abort if not committed, free, null the caller's pointer. Idempotent.
void rb_txn_destroy (rb_txn_t **txn_p);

rb_err_t rb_txn_get (rb_txn_t *txn, rb_table_t t, rb_val_t key, rb_val_t *value);
rb_err_t rb_txn_put (rb_txn_t *txn, rb_table_t t, rb_val_t key, rb_val_t value);
//  Put a key that sorts after every key in the table (a log's next
//  entry): LMDB then fills pages instead of splitting them in half, which
//  halves the pages a sequential table writes. RB_ESTORE when it does not
//  sort last.
rb_err_t rb_txn_append (rb_txn_t *txn, rb_table_t t, rb_val_t key, rb_val_t value);
//  Deleting a missing key is not an error.
rb_err_t rb_txn_del (rb_txn_t *txn, rb_table_t t, rb_val_t key);

//  Visit keys >= from in order, while callback returns 0 and keys begin
//  with prefix (prefix may be {NULL,0}). A non-zero callback return stops
//  the walk and is returned as-is.
typedef int (rb_visit_fn) (rb_val_t key, rb_val_t value, void *arg);
rb_err_t rb_txn_scan (rb_txn_t *txn, rb_table_t t, rb_val_t from, rb_val_t prefix,
                      rb_visit_fn *visit, void *arg);

//  Helpers for big-endian u64 keys and values, which sort numerically.
void rb_u64_put (uint8_t out [8], uint64_t v);
uint64_t rb_u64_get (const void *in);
rb_val_t rb_val_str (const char *s);

#endif
