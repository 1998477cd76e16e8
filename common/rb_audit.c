/*  rb_audit: the hash-chained audit log in the node's store; see rb_audit.h.
 *
 *  Appending encodes the record, hashes it after the previous hash and
 *  puts it under its seq: one put per record. The head is written once
 *  per transaction, which is what keeps the cost of auditing every
 *  delivery small when a commit holds thousands of them.
 */
#include "rb_audit.h"
#include <sodium.h>

#define S_FORMAT 1                  //  canonical record format
#define S_FIXED 38                  //  bytes before the five length-prefixed fields
#define S_CASE_BYTES 32             //  a pseudonym's 64 hex characters as bytes
#define S_MAX (S_FIXED + 5 + 16 + 16 + RB_NAME_MAX + S_CASE_BYTES + RB_AUDIT_WHO_MAX)
#define S_HEAD_SIZE (8 + RB_AUDIT_HASH_SIZE)

struct _rb_audit_t {
    rb_store_t *store;              //  not owned
    rb_clock_t *clock;              //  not owned; NULL: read only
    rb_table_t table;               //  "audit": seq -> record || hash; 0 -> head
    rb_audit_pos_t pos;             //  the chain's end in the open transaction
    rb_audit_pos_t stored;          //  the chain's end as committed
    rb_audit_pos_t staged;          //  the head written into the open transaction
    bool is_staged;                 //  staged holds something to commit
    bool old_head;                  //  the committed head is under the old key
};

static const uint8_t s_head_key [8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t s_old_head_key [8] = { 0 };

// ---------------------------------------------------------------------------
//  Canonical bytes

static uint8_t *
s_put_u32 (uint8_t *p, uint32_t v)
{
    p [0] = (uint8_t) (v >> 24);
    p [1] = (uint8_t) (v >> 16);
    p [2] = (uint8_t) (v >> 8);
    p [3] = (uint8_t) v;
    return p + 4;
}

static uint32_t
s_get_u32 (const uint8_t *p)
{
    return (uint32_t) p [0] << 24 | (uint32_t) p [1] << 16 | (uint32_t) p [2] << 8 | p [3];
}

static uint8_t *
s_put_field (uint8_t *p, const void *data, size_t size)
{
    *p++ = (uint8_t) size;
    memcpy (p, data, size);
    return p + size;
}

static bool
s_zero (const uint8_t *bytes, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (bytes [i])
            return false;
    return true;
}

//  The canonical bytes of rec into out (S_MAX bytes); returns their size.
static size_t
s_encode (const rb_audit_rec_t *rec, uint8_t *out)
{
    uint8_t *p = out;
    *p++ = S_FORMAT;
    *p++ = (uint8_t) rec->kind;
    rb_u64_put (p, rec->seq);
    rb_u64_put (p + 8, (uint64_t) rec->at_ms);
    rb_u64_put (p + 16, rec->stream_seq);
    p = s_put_u32 (p + 24, rec->event_kind);
    p = s_put_u32 (p, rec->code);
    p = s_put_u32 (p, rec->role);
    p = s_put_field (p, rec->event_id, s_zero (rec->event_id, 16)? 0: 16);
    p = s_put_field (p, rec->notification_id, s_zero (rec->notification_id, 16)? 0: 16);
    p = s_put_field (p, rec->peer, strnlen (rec->peer, RB_NAME_MAX));
    uint8_t bytes [S_CASE_BYTES];
    size_t size = 0;
    if (rb_wire_pseudonym_valid (rec->case_pseudonym))
        sodium_hex2bin (bytes, sizeof bytes, rec->case_pseudonym, RB_PSEUDONYM_LEN, NULL, &size, NULL);
    p = s_put_field (p, bytes, size);
    p = s_put_field (p, rec->who, strnlen (rec->who, RB_AUDIT_WHO_MAX));
    return (size_t) (p - out);
}

//  The next length-prefixed field, of one of the sizes allowed (max, or
//  exactly 0 or max when exact), into out; false when it does not fit.
static bool
s_get_field (const uint8_t **p, const uint8_t *end, void *out, size_t max, bool exact)
{
    if (*p >= end || **p > max || end - (*p + 1) < **p || (exact && **p && **p != max))
        return false;
    memcpy (out, *p + 1, **p);
    *p += 1 + **p;
    return true;
}

//  A length-prefixed text without a NUL in it.
static bool
s_get_text (const uint8_t **p, const uint8_t *end, char *out, size_t max)
{
    size_t size = *p < end? **p: 0;
    if (!s_get_field (p, end, out, max, false))
        return false;
    out [size] = '\0';
    return strlen (out) == size;
}

//  Decode a stored value (canonical bytes || hash) into rec; false, with
//  why, when it does not decode exactly.
static bool
s_decode (rb_val_t value, rb_audit_rec_t *rec, char *why, size_t size)
{
    memset (rec, 0, sizeof *rec);
    const uint8_t *p = value.data;
    if (value.size < S_FIXED + 5 + RB_AUDIT_HASH_SIZE) {
        snprintf (why, size, "%zu bytes is too short for a record", value.size);
        return false;
    }
    const uint8_t *end = p + value.size - RB_AUDIT_HASH_SIZE;
    if (p [0] != S_FORMAT || p [1] < 1 || p [1] > RB_AUDIT_KIND_MAX) {
        snprintf (why, size, "format %u, kind %u: not a record of format %d", p [0], p [1], S_FORMAT);
        return false;
    }
    rec->kind = (rb_audit_kind_t) p [1];
    rec->seq = rb_u64_get (p + 2);
    rec->at_ms = (int64_t) rb_u64_get (p + 10);
    rec->stream_seq = rb_u64_get (p + 18);
    rec->event_kind = s_get_u32 (p + 26);
    rec->code = s_get_u32 (p + 30);
    rec->role = s_get_u32 (p + 34);
    p += S_FIXED;
    uint8_t bytes [S_CASE_BYTES];
    bool ok = s_get_field (&p, end, rec->event_id, 16, true)
           && s_get_field (&p, end, rec->notification_id, 16, true)
           && s_get_text (&p, end, rec->peer, RB_NAME_MAX);
    const uint8_t *at_case = p;
    ok = ok && s_get_field (&p, end, bytes, S_CASE_BYTES, true)
            && s_get_text (&p, end, rec->who, RB_AUDIT_WHO_MAX) && p == end;
    if (!ok) {
        snprintf (why, size, "its fields and lengths do not add up to its %zu bytes", value.size);
        return false;
    }
    if (*at_case)
        sodium_bin2hex (rec->case_pseudonym, sizeof rec->case_pseudonym, bytes, S_CASE_BYTES);
    memcpy (rec->hash, end, RB_AUDIT_HASH_SIZE);
    return true;
}

//  BLAKE2b-256 of the previous hash and a record's canonical bytes.
static void
s_chain (const uint8_t prev [RB_AUDIT_HASH_SIZE], const uint8_t *bytes, size_t size,
         uint8_t out [RB_AUDIT_HASH_SIZE])
{
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, RB_AUDIT_HASH_SIZE);
    crypto_generichash_update (&state, prev, RB_AUDIT_HASH_SIZE);
    crypto_generichash_update (&state, bytes, size);
    crypto_generichash_final (&state, out, RB_AUDIT_HASH_SIZE);
}

// ---------------------------------------------------------------------------
//  Writing

//  The head, under its key or else under the old one (*old says which).
static rb_err_t
s_read_head (rb_audit_t *self, rb_txn_t *txn, rb_audit_pos_t *head, bool *found, bool *old)
{
    rb_val_t value;
    memset (head, 0, sizeof *head);
    rb_err_t rc = rb_txn_get (txn, self->table, (rb_val_t) { s_head_key, 8 }, &value);
    *old = rc == RB_ENOTFOUND;
    if (*old)
        rc = rb_txn_get (txn, self->table, (rb_val_t) { s_old_head_key, 8 }, &value);
    *found = rc == RB_OK;
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (!rc && value.size != S_HEAD_SIZE)
        return RB_ESTORE;
    if (!rc) {
        head->seq = rb_u64_get (value.data);
        memcpy (head->hash, (const uint8_t *) value.data + 8, RB_AUDIT_HASH_SIZE);
    }
    return rc;
}

rb_audit_t *
rb_audit_new (rb_store_t *store, rb_clock_t *clock, rb_err_t *err)
{
    rb_audit_t *self = calloc (1, sizeof *self);
    rb_err_t rc = self? RB_OK: RB_EINTERNAL;
    if (!rc && sodium_init () < 0)
        rc = RB_EINTERNAL;
    if (!rc) {
        self->store = store;
        self->clock = clock;
        rc = rb_store_table (store, "audit", &self->table);
    }
    rb_txn_t *txn = NULL;
    if (!rc)
        rc = rb_txn_begin (store, false, &txn);
    bool found;
    if (!rc)
        rc = s_read_head (self, txn, &self->stored, &found, &self->old_head);
    rb_txn_destroy (&txn);
    if (rc)
        rb_audit_destroy (&self);
    else
        self->pos = self->stored;
    if (err)
        *err = rc;
    return self;
}

void
rb_audit_destroy (rb_audit_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

rb_err_t
rb_audit_append (rb_audit_t *self, rb_txn_t *txn, rb_audit_rec_t *rec)
{
    if (!self->clock)
        return RB_EPRECONDITION;
    rec->seq = self->pos.seq + 1;
    rec->at_ms = rb_clock_now_ms (self->clock);
    uint8_t value [S_MAX + RB_AUDIT_HASH_SIZE], key [8];
    size_t size = s_encode (rec, value);
    s_chain (self->pos.hash, value, size, rec->hash);
    memcpy (value + size, rec->hash, RB_AUDIT_HASH_SIZE);
    rb_u64_put (key, rec->seq);
    //  A put, not an append: the head's key sorts after every record.
    rb_err_t rc = rb_txn_put (txn, self->table, (rb_val_t) { key, 8 },
                              (rb_val_t) { value, size + RB_AUDIT_HASH_SIZE });
    if (!rc) {
        self->pos.seq = rec->seq;
        memcpy (self->pos.hash, rec->hash, RB_AUDIT_HASH_SIZE);
    }
    return rc;
}

void
rb_audit_of_envelope (rb_audit_rec_t *rec, rb_audit_kind_t kind, const char *peer,
                      const Regiebus__Envelope *e)
{
    memset (rec, 0, sizeof *rec);
    rec->kind = kind;
    snprintf (rec->peer, sizeof rec->peer, "%s", peer);
    if (!e)
        return;
    rec->stream_seq = e->origin_seq;
    rec->event_kind = (uint32_t) e->kind;
    if (e->event_id.len == 16)
        memcpy (rec->event_id, e->event_id.data, 16);
    //  A dead letter's pseudonym may be anything: only a real one is kept.
    if (e->case_pseudonym && rb_wire_pseudonym_valid (e->case_pseudonym))
        memcpy (rec->case_pseudonym, e->case_pseudonym, RB_PSEUDONYM_LEN + 1);
}

rb_audit_pos_t
rb_audit_tell (rb_audit_t *self)
{
    return self->pos;
}

void
rb_audit_rewind (rb_audit_t *self, const rb_audit_pos_t *pos)
{
    self->pos = *pos;
}

rb_err_t
rb_audit_stage (rb_audit_t *self, rb_txn_t *txn)
{
    if (self->pos.seq == self->stored.seq)
        return RB_OK;           //  nothing appended, or all of it taken back
    uint8_t head [S_HEAD_SIZE];
    rb_u64_put (head, self->pos.seq);
    memcpy (head + 8, self->pos.hash, RB_AUDIT_HASH_SIZE);
    rb_err_t rc = rb_txn_put (txn, self->table, (rb_val_t) { s_head_key, 8 },
                              (rb_val_t) { head, S_HEAD_SIZE });
    if (!rc && self->old_head)
        rc = rb_txn_del (txn, self->table, (rb_val_t) { s_old_head_key, 8 });
    if (!rc) {
        self->staged = self->pos;
        self->is_staged = true;
    }
    return rc;
}

void
rb_audit_committed (rb_audit_t *self, bool ok)
{
    if (ok && self->is_staged) {
        self->stored = self->staged;
        self->old_head = false;
    }
    if (!ok)
        self->pos = self->stored;
    self->is_staged = false;
}

uint64_t
rb_audit_count (rb_audit_t *self)
{
    return self->stored.seq;
}

// ---------------------------------------------------------------------------
//  Reading

typedef struct {
    rb_audit_check_t *check;
    uint64_t expect;                //  the seq the next record must have
} s_walk_t;

static int
s_broken (rb_audit_check_t *check, rb_audit_problem_t problem, uint64_t seq, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_broken (rb_audit_check_t *check, rb_audit_problem_t problem, uint64_t seq, const char *format, ...)
{
    check->problem = problem;
    check->broken_seq = seq;
    va_list args;
    va_start (args, format);
    vsnprintf (check->detail, sizeof check->detail, format, args);
    va_end (args);
    return 1;
}

static int
s_verify_visit (rb_val_t key, rb_val_t value, void *arg)
{
    s_walk_t *w = arg;
    rb_audit_check_t *c = w->check;
    if (key.size == 8 && memcmp (key.data, s_head_key, 8) == 0)
        return 2;               //  the head: every record is behind
    if (key.size != 8)
        return s_broken (c, RB_AUDIT_BAD_ENCODING, w->expect, "a key of %zu bytes after record %llu",
                         key.size, (unsigned long long) c->head.seq);
    uint64_t seq = rb_u64_get (key.data);
    if (seq != w->expect)
        return s_broken (c, RB_AUDIT_GAP, w->expect, "record %llu is missing: the next one is %llu",
                         (unsigned long long) w->expect, (unsigned long long) seq);
    rb_audit_rec_t rec;
    char why [100];
    if (!s_decode (value, &rec, why, sizeof why))
        return s_broken (c, RB_AUDIT_BAD_ENCODING, seq, "record %llu does not decode: %s",
                         (unsigned long long) seq, why);
    if (rec.seq != seq)
        return s_broken (c, RB_AUDIT_BAD_ENCODING, seq, "record %llu says it is record %llu",
                         (unsigned long long) seq, (unsigned long long) rec.seq);
    uint8_t hash [RB_AUDIT_HASH_SIZE];
    s_chain (c->head.hash, value.data, value.size - RB_AUDIT_HASH_SIZE, hash);
    if (memcmp (hash, rec.hash, RB_AUDIT_HASH_SIZE) != 0)
        return s_broken (c, RB_AUDIT_HASH_MISMATCH, seq,
                         "record %llu: its hash is not BLAKE2b of the previous hash and its bytes",
                         (unsigned long long) seq);
    c->head.seq = seq;
    memcpy (c->head.hash, rec.hash, RB_AUDIT_HASH_SIZE);
    c->count++;
    w->expect++;
    return 0;
}

//  The chain walked whole: does the stored head end where it does?
static void
s_verify_head (rb_audit_check_t *c, const rb_audit_pos_t *head, bool found)
{
    unsigned long long last = c->head.seq;
    if (!found && last)
        s_broken (c, RB_AUDIT_HEAD_MISMATCH, last, "there is no head, and %llu records", last);
    else
    if (head->seq > last)
        s_broken (c, RB_AUDIT_TRUNCATED, last + 1,
                  "the head says %llu records, the chain ends at %llu: the tail is gone",
                  (unsigned long long) head->seq, last);
    else
    if (head->seq < last)
        s_broken (c, RB_AUDIT_HEAD_MISMATCH, head->seq + 1,
                  "records after the head: it says %llu, the chain goes on to %llu",
                  (unsigned long long) head->seq, last);
    else
    if (memcmp (head->hash, c->head.hash, RB_AUDIT_HASH_SIZE) != 0)
        s_broken (c, RB_AUDIT_HEAD_MISMATCH, last, "the head's hash is not record %llu's", last);
}

rb_err_t
rb_audit_verify (rb_audit_t *self, rb_txn_t *txn, rb_audit_check_t *check)
{
    memset (check, 0, sizeof *check);
    rb_audit_pos_t head;
    bool found, old;
    rb_err_t rc = s_read_head (self, txn, &head, &found, &old);
    if (rc == RB_ESTORE) {
        s_broken (check, RB_AUDIT_BAD_ENCODING, 0, "the head is not a seq and a hash");
        return RB_OK;
    }
    if (rc)
        return rc;
    s_walk_t walk = { check, 1 };
    uint8_t from [8];
    rb_u64_put (from, 1);
    rc = rb_txn_scan (txn, self->table, (rb_val_t) { from, 8 }, (rb_val_t) { NULL, 0 },
                      s_verify_visit, &walk);
    if (rc == 1)
        return RB_OK;           //  a broken record: check says which
    if (!rc || rc == 2)
        s_verify_head (check, &head, found);
    return rc == 2? RB_OK: rc;
}

typedef struct {
    rb_audit_visit_fn *visit;
    void *arg;
    size_t limit, count;
    rb_err_t rc;
} s_list_t;

static int
s_list_visit (rb_val_t key, rb_val_t value, void *arg)
{
    s_list_t *l = arg;
    rb_audit_rec_t rec;
    char why [100];
    if (l->limit && l->count == l->limit)
        return 1;
    if (key.size == 8 && memcmp (key.data, s_head_key, 8) == 0)
        return 1;               //  the head: every record is behind
    if (key.size != 8 || !s_decode (value, &rec, why, sizeof why)) {
        l->rc = RB_ESTORE;
        return 1;
    }
    l->count++;
    return l->visit (&rec, l->arg)? 1: 0;
}

rb_err_t
rb_audit_list (rb_audit_t *self, rb_txn_t *txn, uint64_t after, size_t limit,
               rb_audit_visit_fn *visit, void *arg)
{
    s_list_t l = { visit, arg, limit, 0, RB_OK };
    uint8_t from [8];
    rb_u64_put (from, after + 1);
    rb_err_t rc = rb_txn_scan (txn, self->table, (rb_val_t) { from, 8 }, (rb_val_t) { NULL, 0 },
                               s_list_visit, &l);
    return rc == 1? l.rc: rc;
}

void
rb_audit_to_wire (rb_audit_rec_t *rec, Regiebus__AuditRecord *out)
{
    static const uint8_t none [16] = { 0 };
    regiebus__audit_record__init (out);
    out->seq = rec->seq;
    out->at_ms = rec->at_ms;
    out->kind = (Regiebus__AuditKind) rec->kind;
    out->peer = rec->peer;
    out->stream_seq = rec->stream_seq;
    out->event_kind = (Regiebus__EventKind) rec->event_kind;
    out->code = (Regiebus__ErrorCode) rec->code;
    out->role = rec->role;
    out->event_id.data = rec->event_id;
    out->event_id.len = memcmp (rec->event_id, none, 16)? 16: 0;
    out->notification_id.data = rec->notification_id;
    out->notification_id.len = memcmp (rec->notification_id, none, 16)? 16: 0;
    out->case_pseudonym = rec->case_pseudonym;
    out->who = rec->who;
    out->hash.data = rec->hash;
    out->hash.len = RB_AUDIT_HASH_SIZE;
}

void
rb_audit_check_to_wire (rb_audit_check_t *check, Regiebus__AuditVerifyReply *out)
{
    regiebus__audit_verify_reply__init (out);
    out->problem = (Regiebus__AuditProblem) check->problem;
    out->count = check->count;
    out->head_seq = check->head.seq;
    out->head_hash.data = check->head.hash;
    out->head_hash.len = RB_AUDIT_HASH_SIZE;
    out->broken_seq = check->broken_seq;
    out->detail = check->detail;
}

void
rb_audit_page_destroy (rb_audit_page_t **page_p)
{
    if (page_p && *page_p) {
        rb_audit_page_t *page = *page_p;
        free (page->recs);
        free (page->items);
        free (page->list);
        free (page);
        *page_p = NULL;
    }
}

static int
s_page_visit (const rb_audit_rec_t *rec, void *arg)
{
    rb_audit_page_t *page = arg;
    if (page->reply.n_records == page->limit) {
        page->reply.more = true;
        return 1;
    }
    size_t i = page->reply.n_records++;
    page->recs [i] = *rec;
    rb_audit_to_wire (&page->recs [i], &page->items [i]);
    page->list [i] = &page->items [i];
    return 0;
}

rb_audit_page_t *
rb_audit_page (rb_audit_t *self, rb_txn_t *txn, uint64_t after, size_t limit, rb_err_t *err)
{
    rb_audit_page_t *page = calloc (1, sizeof *page);
    if (page) {
        regiebus__audit_list_reply__init (&page->reply);
        page->limit = limit;
        page->recs = calloc (limit, sizeof *page->recs);
        page->items = calloc (limit, sizeof *page->items);
        page->list = calloc (limit, sizeof *page->list);
        page->reply.records = page->list;
    }
    *err = page && page->recs && page->items && page->list? RB_OK: RB_EINTERNAL;
    if (!*err)
        *err = rb_audit_list (self, txn, after, 0, s_page_visit, page);
    if (*err)
        rb_audit_page_destroy (&page);
    return page;
}

const char *
rb_audit_kind_name (rb_audit_kind_t kind)
{
    static const char *names [] = { "?", "received", "delivered", "notice stored", "notice shown",
                                    "notice acknowledged" };
    return kind >= 1 && kind <= RB_AUDIT_KIND_MAX? names [kind]: names [0];
}

const char *
rb_audit_problem_name (rb_audit_problem_t problem)
{
    static const char *names [] = { "intact", "hash mismatch", "gap", "bad encoding", "truncated",
                                    "head mismatch" };
    return problem <= RB_AUDIT_HEAD_MISMATCH? names [problem]: "?";
}

char *
rb_audit_hex (const uint8_t hash [RB_AUDIT_HASH_SIZE], char out [65])
{
    sodium_bin2hex (out, 65, hash, RB_AUDIT_HASH_SIZE);
    return out;
}
