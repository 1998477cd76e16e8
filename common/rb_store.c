/*  rb_store: LMDB environment, tables and transactions; see rb_store.h. */
#include "rb_store.h"
#include "rb_log.h"
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct _rb_store_t {
    MDB_env *env;           //  the environment
    bool readonly;          //  opened by rb_store_open_readonly
    char errmsg [256];      //  last storage error, for logs
};

struct _rb_txn_t {
    rb_store_t *store;      //  owning store
    MDB_txn *txn;           //  the LMDB transaction, NULL once ended
};

static rb_err_t
s_fail (rb_store_t *self, int rc, const char *what)
{
    if (rc == MDB_NOTFOUND)
        return RB_ENOTFOUND;
    snprintf (self->errmsg, sizeof self->errmsg, "%s: %s", what, mdb_strerror (rc));
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
        return RB_EFULL;
    rb_log_error ("msg=\"store error\" op=%s error=\"%s\"", what, mdb_strerror (rc));
    return RB_ESTORE;
}

rb_store_t *
rb_store_new (const char *dir, uint64_t map_size_mb, rb_refusal_t *r)
{
    if (mkdir (dir, 0700) && errno != EEXIST) {
        rb_refuse (r, RB_ESTORE, "node/data_dir", "store: cannot create %s: %s", dir, strerror (errno));
        return NULL;
    }
    rb_store_t *self = calloc (1, sizeof *self);
    if (!self) {
        rb_refuse (r, RB_EINTERNAL, NULL, "store: out of memory");
        return NULL;
    }
    int rc = mdb_env_create (&self->env);
    if (!rc)
        rc = mdb_env_set_maxdbs (self->env, 32);
    if (!rc)
        rc = mdb_env_set_mapsize (self->env, (size_t) map_size_mb << 20);
    if (!rc)
        rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0600);
    if (rc) {
        rb_refuse (r, RB_ESTORE, "node/data_dir", "store: cannot open LMDB in %s: %s", dir, mdb_strerror (rc));
        rb_store_destroy (&self);
    }
    return self;
}

rb_store_t *
rb_store_open_readonly (const char *dir, rb_refusal_t *r)
{
    rb_store_t *self = calloc (1, sizeof *self);
    if (!self) {
        rb_refuse (r, RB_EINTERNAL, NULL, "store: out of memory");
        return NULL;
    }
    self->readonly = true;
    //  No map size: LMDB takes the one the environment was made with.
    int rc = mdb_env_create (&self->env);
    if (!rc)
        rc = mdb_env_set_maxdbs (self->env, 32);
    if (!rc)
        rc = mdb_env_open (self->env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc) {
        rb_refuse (r, RB_ESTORE, "store", "store: cannot open LMDB in %s: %s", dir, mdb_strerror (rc));
        rb_store_destroy (&self);
    }
    return self;
}

void
rb_store_destroy (rb_store_t **self_p)
{
    if (self_p && *self_p) {
        rb_store_t *self = *self_p;
        if (self->env)
            mdb_env_close (self->env);
        free (self);
        *self_p = NULL;
    }
}

rb_err_t
rb_store_table (rb_store_t *self, const char *name, rb_table_t *table)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, self->readonly? MDB_RDONLY: 0, &txn);
    if (rc)
        return s_fail (self, rc, "txn_begin");
    MDB_dbi dbi;
    rc = mdb_dbi_open (txn, name, self->readonly? 0: MDB_CREATE, &dbi);
    if (rc) {
        mdb_txn_abort (txn);
        return s_fail (self, rc, "dbi_open");
    }
    rc = mdb_txn_commit (txn);
    if (rc)
        return s_fail (self, rc, "dbi_commit");
    *table = dbi;
    return RB_OK;
}

const char *
rb_store_errmsg (rb_store_t *self)
{
    return self->errmsg;
}

void
rb_store_usage (rb_store_t *self, uint64_t *used, uint64_t *map)
{
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &stat);
    *used = (uint64_t) (info.me_last_pgno + 1) * stat.ms_psize;
    *map = info.me_mapsize;
}

static rb_err_t
s_begin (rb_store_t *store, MDB_txn *parent, bool write, rb_txn_t **txn_p)
{
    rb_txn_t *self = calloc (1, sizeof *self);
    if (!self)
        return RB_EINTERNAL;
    self->store = store;
    int rc = mdb_txn_begin (store->env, parent, write? 0: MDB_RDONLY, &self->txn);
    if (rc) {
        free (self);
        return s_fail (store, rc, "txn_begin");
    }
    *txn_p = self;
    return RB_OK;
}

rb_err_t
rb_txn_begin (rb_store_t *store, bool write, rb_txn_t **txn_p)
{
    return s_begin (store, NULL, write, txn_p);
}

rb_err_t
rb_txn_child (rb_txn_t *parent, rb_txn_t **txn_p)
{
    return s_begin (parent->store, parent->txn, true, txn_p);
}

rb_err_t
rb_txn_commit (rb_txn_t **txn_p)
{
    rb_txn_t *self = *txn_p;
    int rc = mdb_txn_commit (self->txn);
    self->txn = NULL;
    rb_err_t err = rc? s_fail (self->store, rc, "commit"): RB_OK;
    free (self);
    *txn_p = NULL;
    return err;
}

void
rb_txn_destroy (rb_txn_t **txn_p)
{
    if (txn_p && *txn_p) {
        if ((*txn_p)->txn)
            mdb_txn_abort ((*txn_p)->txn);
        free (*txn_p);
        *txn_p = NULL;
    }
}

rb_err_t
rb_txn_get (rb_txn_t *txn, rb_table_t t, rb_val_t key, rb_val_t *value)
{
    MDB_val k = { key.size, (void *) key.data }, v;
    int rc = mdb_get (txn->txn, t, &k, &v);
    if (rc)
        return s_fail (txn->store, rc, "get");
    value->data = v.mv_data;
    value->size = v.mv_size;
    return RB_OK;
}

rb_err_t
rb_txn_put (rb_txn_t *txn, rb_table_t t, rb_val_t key, rb_val_t value)
{
    MDB_val k = { key.size, (void *) key.data }, v = { value.size, (void *) value.data };
    int rc = mdb_put (txn->txn, t, &k, &v, 0);
    return rc? s_fail (txn->store, rc, "put"): RB_OK;
}

rb_err_t
rb_txn_append (rb_txn_t *txn, rb_table_t t, rb_val_t key, rb_val_t value)
{
    MDB_val k = { key.size, (void *) key.data }, v = { value.size, (void *) value.data };
    int rc = mdb_put (txn->txn, t, &k, &v, MDB_APPEND);
    return rc? s_fail (txn->store, rc, "append"): RB_OK;
}

rb_err_t
rb_txn_del (rb_txn_t *txn, rb_table_t t, rb_val_t key)
{
    MDB_val k = { key.size, (void *) key.data };
    int rc = mdb_del (txn->txn, t, &k, NULL);
    return (rc && rc != MDB_NOTFOUND)? s_fail (txn->store, rc, "del"): RB_OK;
}

rb_err_t
rb_txn_scan (rb_txn_t *txn, rb_table_t t, rb_val_t from, rb_val_t prefix,
             rb_visit_fn *visit, void *arg)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (txn->txn, t, &cursor);
    if (rc)
        return s_fail (txn->store, rc, "cursor_open");
    MDB_val k = { from.size, (void *) from.data }, v;
    rc = mdb_cursor_get (cursor, &k, &v, from.size? MDB_SET_RANGE: MDB_FIRST);
    int result = 0;
    while (rc == 0) {
        if (prefix.size && (k.mv_size < prefix.size || memcmp (k.mv_data, prefix.data, prefix.size)))
            break;
        result = visit ((rb_val_t) { k.mv_data, k.mv_size }, (rb_val_t) { v.mv_data, v.mv_size }, arg);
        if (result)
            break;
        rc = mdb_cursor_get (cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    if (result)
        return (rb_err_t) result;
    return (rc && rc != MDB_NOTFOUND)? s_fail (txn->store, rc, "cursor_get"): RB_OK;
}

void
rb_u64_put (uint8_t out [8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out [i] = (uint8_t) v;
}

uint64_t
rb_u64_get (const void *in)
{
    const uint8_t *p = in;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p [i];
    return v;
}

rb_val_t
rb_val_str (const char *s)
{
    return (rb_val_t) { s, strlen (s) };
}
