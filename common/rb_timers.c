/*  rb_timers: durable timers, visited in due order; see rb_timers.h.
 *
 *  Two tables hold each timer. "timer_due" is keyed by the due time
 *  (big-endian, so keys sort by time) followed by the id, and holds the
 *  payload: the due timers are the first keys of that table, and the walk
 *  stops at the first one that is not due. "timer_id" maps the id to its
 *  due time, so cancelling or moving a timer finds its key in "timer_due"
 *  without a scan. Ids hold no zero byte, so a key followed by one zero
 *  byte is the smallest key after it: that is where a page goes on.
 *
 *  The visitor may fire timers while a visit runs, and LMDB does not
 *  promise what an open cursor sees after its table is written through
 *  another. So the walk copies a chunk of due timers, closes its cursor,
 *  shows them, and opens a new cursor after the last one for the next
 *  chunk: one cursor descent per chunk, never a write under a cursor.
 */
#include "rb_timers.h"
#include "rb_text.h"
#include <stdlib.h>
#include <string.h>

#define S_ID_MARKS "._-/:"              //  what an id may hold besides letters and digits
#define S_KEY_MAX (8 + RB_TIMER_ID_MAX) //  due be64 + id
#define S_CHUNK 64                      //  timers copied per cursor walk

struct _rb_timers_t {
    rb_table_t due;                     //  "timer_due": due be64 + id -> payload
    rb_table_t ids;                     //  "timer_id": id -> due be64
};


// ---------------------------------------------------------------------------
//  Life

rb_timers_t *
rb_timers_new (rb_store_t *store)
{
    if (!store)
        return NULL;
    rb_timers_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (rb_store_table (store, RB_TIMERS_TABLE_DUE, &self->due)
    ||  rb_store_table (store, RB_TIMERS_TABLE_IDS, &self->ids))
        rb_timers_destroy (&self);
    return self;
}

rb_timers_t *
rb_timers_new_on (rb_table_t due, rb_table_t ids)
{
    rb_timers_t *self = calloc (1, sizeof *self);
    if (self) {
        self->due = due;
        self->ids = ids;
    }
    return self;
}

void
rb_timers_destroy (rb_timers_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}


// ---------------------------------------------------------------------------
//  Keys and checks

static rb_err_t
s_check_id (const char *id, rb_refusal_t *r)
{
    if (!rb_text_id_valid (id, RB_TIMER_ID_MAX, S_ID_MARKS))
        return rb_refuse (r, RB_EINVALID, "id", "id must be 1-%d of letters, digits and %s",
                          RB_TIMER_ID_MAX, S_ID_MARKS);
    return RB_OK;
}

//  The "timer_due" key of id at due_ms into key; returns its size.
static size_t
s_due_key (uint8_t key [S_KEY_MAX], int64_t due_ms, const char *id)
{
    size_t len = strlen (id);
    rb_u64_put (key, (uint64_t) due_ms);
    memcpy (key + 8, id, len);
    return 8 + len;
}

//  Read id's due time from "timer_id": RB_OK, RB_ENOTFOUND or RB_ESTORE.
static rb_err_t
s_due_of (rb_timers_t *self, rb_txn_t *txn, const char *id, int64_t *due_ms)
{
    rb_val_t found;
    rb_err_t rc = rb_txn_get (txn, self->ids, rb_val_str (id), &found);
    if (rc)
        return rc;
    if (found.size != 8)
        return RB_ESTORE;
    *due_ms = (int64_t) rb_u64_get (found.data);
    return *due_ms > 0? RB_OK: RB_ESTORE;
}

//  Delete both records of id due at due_ms.
static rb_err_t
s_delete (rb_timers_t *self, rb_txn_t *txn, const char *id, int64_t due_ms)
{
    uint8_t key [S_KEY_MAX];
    size_t size = s_due_key (key, due_ms, id);
    rb_err_t rc = rb_txn_del (txn, self->due, (rb_val_t) { key, size });
    if (!rc)
        rc = rb_txn_del (txn, self->ids, rb_val_str (id));
    return rc;
}


// ---------------------------------------------------------------------------
//  Setting, cancelling, firing

rb_err_t
rb_timers_set (rb_timers_t *self, rb_txn_t *txn, const char *id, int64_t due_ms,
               const void *payload, size_t size, rb_refusal_t *r)
{
    rb_err_t rc = s_check_id (id, r);
    if (rc)
        return rc;
    if (due_ms <= 0)
        return rb_refuse (r, RB_EINVALID, "due_ms", "due_ms must be positive, not %lld",
                          (long long) due_ms);
    if (size > RB_TIMER_PAYLOAD_MAX)
        return rb_refuse (r, RB_ETOOLARGE, "payload", "payload has %zu bytes, at most %d",
                          size, RB_TIMER_PAYLOAD_MAX);
    if (size && !payload)
        return rb_refuse (r, RB_EMISSING, "payload", "payload of %zu bytes is missing", size);
    int64_t old_ms = 0;
    rc = s_due_of (self, txn, id, &old_ms);
    if (rc && rc != RB_ENOTFOUND)
        return rb_refuse (r, rc, NULL, "cannot read timer '%s'", id);

    //  The old key goes only when the due time moved: at the same due
    //  time the put has replaced its payload already.
    uint8_t key [S_KEY_MAX], due [8];
    size_t key_size = s_due_key (key, due_ms, id);
    rb_u64_put (due, (uint64_t) due_ms);
    static const uint8_t empty [1];
    rb_val_t value = { size? payload: empty, size };
    rc = rb_txn_put (txn, self->due, (rb_val_t) { key, key_size }, value);
    if (!rc && old_ms && old_ms != due_ms) {
        uint8_t old [S_KEY_MAX];
        size_t old_size = s_due_key (old, old_ms, id);
        rc = rb_txn_del (txn, self->due, (rb_val_t) { old, old_size });
    }
    if (!rc)
        rc = rb_txn_put (txn, self->ids, rb_val_str (id), (rb_val_t) { due, 8 });
    return rc? rb_refuse (r, rc, NULL, "cannot store timer '%s'", id): RB_OK;
}

rb_err_t
rb_timers_cancel (rb_timers_t *self, rb_txn_t *txn, const char *id, bool *cancelled,
                  rb_refusal_t *r)
{
    if (cancelled)
        *cancelled = false;
    rb_err_t rc = s_check_id (id, r);
    if (rc)
        return rc;
    int64_t due_ms = 0;
    rc = s_due_of (self, txn, id, &due_ms);
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (!rc)
        rc = s_delete (self, txn, id, due_ms);
    if (rc)
        return rb_refuse (r, rc, NULL, "cannot remove timer '%s'", id);
    if (cancelled)
        *cancelled = true;
    return RB_OK;
}

rb_err_t
rb_timers_fire (rb_timers_t *self, rb_txn_t *txn, const char *id, rb_refusal_t *r)
{
    bool cancelled = false;
    rb_err_t rc = rb_timers_cancel (self, txn, id, &cancelled, r);
    if (!rc && !cancelled)
        return rb_refuse (r, RB_ENOTFOUND, "id", "timer '%s' is not set (fired or cancelled)", id);
    return rc;
}


// ---------------------------------------------------------------------------
//  Reading

rb_err_t
rb_timers_get (rb_timers_t *self, rb_txn_t *txn, const char *id, rb_timer_t *timer)
{
    rb_refusal_t ignored;
    if (s_check_id (id, &ignored))
        return RB_EINVALID;
    int64_t due_ms = 0;
    rb_err_t rc = s_due_of (self, txn, id, &due_ms);
    if (rc)
        return rc;
    uint8_t key [S_KEY_MAX];
    size_t key_size = s_due_key (key, due_ms, id);
    rb_val_t value;
    rc = rb_txn_get (txn, self->due, (rb_val_t) { key, key_size }, &value);
    if (rc == RB_ENOTFOUND || (!rc && value.size > RB_TIMER_PAYLOAD_MAX))
        return RB_ESTORE;               //  the two tables disagree
    if (rc)
        return rc;
    memset (timer, 0, sizeof *timer);
    memcpy (timer->id, id, strlen (id));
    timer->due_ms = due_ms;
    timer->payload = value.data;
    timer->payload_size = value.size;
    return RB_OK;
}

//  One due timer, copied out of the store for its visit.
typedef struct {
    uint8_t key [S_KEY_MAX + 1];        //  its "timer_due" key, room for the zero after it
    size_t key_size;                    //  9..S_KEY_MAX
    uint8_t payload [RB_TIMER_PAYLOAD_MAX];
    size_t payload_size;
} s_entry_t;

//  One cursor walk: copies up to want due timers.
typedef struct {
    int64_t now_ms;                     //  due at or before this
    size_t want;                        //  most to copy, 1..S_CHUNK
    size_t count;                       //  copied
    bool past_due;                      //  met a timer not due yet: nothing more to find
    rb_err_t rc;                        //  RB_ESTORE when a record was damaged
    s_entry_t *entries;                 //  S_CHUNK of them
} s_chunk_t;

//  Returns 1 to stop the walk: chunk full, a timer not due, or damage.
static int
s_collect (rb_val_t key, rb_val_t value, void *arg)
{
    s_chunk_t *chunk = arg;
    if (key.size <= 8 || key.size > S_KEY_MAX || value.size > RB_TIMER_PAYLOAD_MAX) {
        chunk->rc = RB_ESTORE;
        return 1;
    }
    if ((int64_t) rb_u64_get (key.data) > chunk->now_ms) {
        chunk->past_due = true;
        return 1;
    }
    s_entry_t *entry = &chunk->entries [chunk->count++];
    memcpy (entry->key, key.data, key.size);
    entry->key_size = key.size;
    if (value.size)
        memcpy (entry->payload, value.data, value.size);
    entry->payload_size = value.size;
    return chunk->count == chunk->want? 1: 0;
}

//  Show one copied timer to visit; returns visit's answer.
static int
s_show (const s_entry_t *entry, rb_timer_visit_fn *visit, void *arg)
{
    rb_timer_t timer = { .due_ms = (int64_t) rb_u64_get (entry->key),
                         .payload = entry->payload, .payload_size = entry->payload_size };
    memcpy (timer.id, entry->key + 8, entry->key_size - 8);
    return visit (&timer, arg);
}

//  Copy the next chunk of due timers from key from (size 0: the start).
static rb_err_t
s_next_chunk (rb_timers_t *self, rb_txn_t *txn, const uint8_t *from, size_t from_size,
              s_chunk_t *chunk)
{
    chunk->count = 0;
    rb_err_t rc = rb_txn_scan (txn, self->due, (rb_val_t) { from, from_size },
                               (rb_val_t) { NULL, 0 }, s_collect, chunk);
    if (chunk->rc)
        return chunk->rc;
    return rc == 1? RB_OK: rc;
}

rb_err_t
rb_timers_due (rb_timers_t *self, rb_txn_t *txn, int64_t now_ms, const rb_timer_t *after,
               size_t limit, rb_timer_visit_fn *visit, void *arg)
{
    //  Where to start: nothing (the first key), or just after `after`.
    uint8_t from [S_KEY_MAX + 1];
    size_t from_size = 0;
    if (after) {
        size_t len = strnlen (after->id, RB_TIMER_ID_MAX);
        if (len == 0 || after->due_ms <= 0)
            return RB_EINVALID;
        rb_u64_put (from, (uint64_t) after->due_ms);
        memcpy (from + 8, after->id, len);
        from [8 + len] = 0;
        from_size = 8 + len + 1;
    }
    s_chunk_t chunk = { .now_ms = now_ms, .entries = malloc (S_CHUNK * sizeof (s_entry_t)) };
    if (!chunk.entries)
        return RB_EINTERNAL;
    size_t visited = 0;
    rb_err_t rc = RB_OK;
    bool stop = false;
    while (!rc && !stop) {
        size_t left = limit? limit - visited: S_CHUNK;
        chunk.want = left < S_CHUNK? left: S_CHUNK;
        rc = s_next_chunk (self, txn, from, from_size, &chunk);
        for (size_t i = 0; !rc && !stop && i < chunk.count; i++)
            stop = s_show (&chunk.entries [i], visit, arg) != 0;
        visited += chunk.count;
        //  The table ended, a timer is not due yet, or the limit is reached.
        if (chunk.past_due || chunk.count < chunk.want || (limit && visited == limit))
            stop = true;
        else if (chunk.count) {
            const s_entry_t *last = &chunk.entries [chunk.count - 1];
            memcpy (from, last->key, last->key_size);
            from [last->key_size] = 0;
            from_size = last->key_size + 1;
        }
    }
    free (chunk.entries);
    return rc;
}
