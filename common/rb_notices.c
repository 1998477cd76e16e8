/*  rb_notices: stored notifications, deduplicated and acknowledged; see rb_notices.h.
 *
 *  A notice is one LMDB value: a fixed record (state, times, who
 *  acknowledged, where it came from, on which case) followed by the packed
 *  Notification as it arrived. The fixed part is written in the machine's
 *  own layout, like LMDB's own files: a store moves between machines by
 *  backup and restore on the same architecture, never as raw bytes to
 *  another one. Its first byte is a version so a later layout can be told
 *  apart.
 *
 *  The counters (last number given, new, acknowledged) are one more value
 *  in the same table, under the key 0xff x 8, big-endian like the numbers:
 *  it sorts after every notice, so storing notices and counting them
 *  write the same rightmost leaf, one table fewer per commit than a table
 *  of their own. A store made before kept them in "notice_meta"; they are
 *  read from there while the key is absent and moved by the first write.
 *
 *  Every call works inside the caller's transaction and writes either all
 *  it has to write or nothing the caller keeps: a refusal is decided before
 *  the first put, and a storage error is returned for the caller to abort.
 */
#include "rb_notices.h"
#include "rb_text.h"
#include "rb_config.h"

#define S_VERSION 1
#define S_ID_KEY 17                     //  notification_id (16) + role (1)
#define S_COUNTS_SIZE 24                //  last number given, new, acknowledged: be64 each

struct _rb_notices_t {
    rb_table_t notices;                 //  "notice": seq be64 -> record + packed Notification;
                                        //  s_counts_key -> the counters
    rb_table_t ids;                     //  "notice_id": id + role -> seq be64
    rb_table_t legacy;                  //  "notice_meta": the counters of a store made
                                        //  before they moved into "notice"; read, then emptied
    char self_name [RB_NAME_MAX + 1];   //  recipients must be this node
};

//  A record's fixed part; the packed Notification follows it.
typedef struct {
    uint8_t version;                    //  S_VERSION
    uint8_t state;                      //  rb_notice_state_t
    uint8_t unused [6];                 //  zero
    int64_t received_at_ms;             //  when this node stored it
    int64_t acked_at_ms;                //  0 while new
    uint64_t origin_seq;                //  the envelope's place in its stream
    uint8_t event_id [16];              //  the envelope's event id
    char origin [RB_NAME_MAX + 1];      //  the envelope's origin node
    char acked_by [RB_NOTICE_BY_MAX + 1];   //  "" while new
    char case_pseudonym [RB_PSEUDONYM_LEN + 1]; //  the envelope's case
    char pad [6];                       //  zero
} s_record_t;

//  The counters, as one transaction reads and writes them.
typedef struct {
    uint64_t last;                      //  the last number given; the next notice gets last + 1
    uint64_t fresh;                     //  how many are new
    uint64_t acked;                     //  how many are acknowledged
    bool legacy;                        //  read from "notice_meta": delete them there on write
} s_counts_t;

//  The counters live in the notice table under a key that sorts after
//  every notice number (numbers run from 1 and stop below it), so they
//  sit on the rightmost leaf, where new notices go: a commit that stores
//  notices writes one leaf for both instead of a table of its own. The
//  same key is never a notice: walks stop at it and lookups refuse it.
static const uint8_t s_counts_key [8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
#define S_SEQ_LIMIT UINT64_MAX          //  the counters' key as a number: never a notice's


// ---------------------------------------------------------------------------
//  Life

rb_notices_t *
rb_notices_new (rb_store_t *store, const char *self_name)
{
    size_t len = self_name? strlen (self_name): 0;
    if (!store || len == 0 || len > RB_NAME_MAX)
        return NULL;
    rb_notices_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    memcpy (self->self_name, self_name, len + 1);
    if (rb_store_table (store, "notice", &self->notices)
    ||  rb_store_table (store, "notice_id", &self->ids)
    ||  rb_store_table (store, "notice_meta", &self->legacy))
        rb_notices_destroy (&self);
    return self;
}

void
rb_notices_destroy (rb_notices_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}


// ---------------------------------------------------------------------------
//  The counters

static const char *s_legacy_names [3] = { "next", "new", "acked" };

//  A store made before the counters moved kept them in "notice_meta",
//  one be64 each under "next", "new" and "acked" (absent: 0).
static rb_err_t
s_counts_legacy (rb_notices_t *self, rb_txn_t *txn, s_counts_t *counts)
{
    uint64_t *values [3] = { &counts->last, &counts->fresh, &counts->acked };
    for (int i = 0; i < 3; i++) {
        rb_val_t found;
        rb_err_t rc = rb_txn_get (txn, self->legacy, rb_val_str (s_legacy_names [i]), &found);
        if (rc == RB_ENOTFOUND)
            continue;
        if (rc)
            return rc;
        if (found.size != 8)
            return RB_ESTORE;
        *values [i] = rb_u64_get (found.data);
        counts->legacy = true;
    }
    return RB_OK;
}

//  The counters under their key, or else where an older store kept them.
static rb_err_t
s_counts_read (rb_notices_t *self, rb_txn_t *txn, s_counts_t *counts)
{
    memset (counts, 0, sizeof *counts);
    rb_val_t found;
    rb_err_t rc = rb_txn_get (txn, self->notices, (rb_val_t) { s_counts_key, 8 }, &found);
    if (rc == RB_ENOTFOUND)
        return s_counts_legacy (self, txn, counts);
    if (rc)
        return rc;
    if (found.size != S_COUNTS_SIZE)
        return RB_ESTORE;
    counts->last = rb_u64_get (found.data);
    counts->fresh = rb_u64_get ((const uint8_t *) found.data + 8);
    counts->acked = rb_u64_get ((const uint8_t *) found.data + 16);
    return RB_OK;
}

//  Under their key; the legacy entries go in the same transaction, so a
//  store never holds both.
static rb_err_t
s_counts_write (rb_notices_t *self, rb_txn_t *txn, const s_counts_t *counts)
{
    uint8_t value [S_COUNTS_SIZE];
    rb_u64_put (value, counts->last);
    rb_u64_put (value + 8, counts->fresh);
    rb_u64_put (value + 16, counts->acked);
    rb_err_t rc = rb_txn_put (txn, self->notices, (rb_val_t) { s_counts_key, 8 },
                              (rb_val_t) { value, S_COUNTS_SIZE });
    for (int i = 0; i < 3 && !rc && counts->legacy; i++)
        rc = rb_txn_del (txn, self->legacy, rb_val_str (s_legacy_names [i]));
    return rc;
}


// ---------------------------------------------------------------------------
//  Checks

static bool
s_date_valid (int32_t date)
{
    int y = date / 10000, m = date / 100 % 100, d = date % 100;
    static const int days [] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 || d > days [m - 1])
        return false;
    return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

//  The envelope's fields this module keeps. The link has checked them
//  already (rb_wire_envelope_check); checking again keeps a record from
//  ever holding what a listing could not show.
static rb_err_t
s_check_envelope (const Regiebus__Envelope *e, rb_refusal_t *r)
{
    if (!e)
        return rb_refuse (r, RB_EMISSING, "envelope", "the envelope is missing");
    size_t len = e->origin? strlen (e->origin): 0;
    if (len == 0 || len > RB_NAME_MAX)
        return rb_refuse (r, RB_EINVALID, "origin", "origin must be 1-%d characters", RB_NAME_MAX);
    if (e->event_id.len != 16)
        return rb_refuse (r, RB_EINVALID, "event_id", "event_id must be 16 bytes");
    if (!rb_wire_pseudonym_valid (e->case_pseudonym))
        return rb_refuse (r, RB_EINVALID, "case_pseudonym",
                          "case_pseudonym must be 64 lowercase hex characters");
    return RB_OK;
}

static rb_err_t
s_check (rb_notices_t *self, const Regiebus__Notification *n, rb_refusal_t *r)
{
    if (!n)
        return rb_refuse (r, RB_EMISSING, "notification", "the notification is missing");
    if (n->notification_id.len != 16)
        return rb_refuse (r, RB_EINVALID, "notification_id", "notification_id must be 16 bytes");
    if (!n->recipient)
        return rb_refuse (r, RB_EMISSING, "recipient", "recipient is missing");
    const char *node = n->recipient->node? n->recipient->node: "";
    if (strcmp (node, self->self_name) != 0)
        return rb_refuse (r, RB_EINVALID, "recipient.node", "recipient.node '%.*s' is not this node",
                          RB_NAME_MAX, node);
    if (n->recipient->role < 1 || n->recipient->role > RB_NOTICE_ROLE_MAX)
        return rb_refuse (r, RB_EINVALID, "recipient.role", "recipient.role %d is not a known role",
                          (int) n->recipient->role);
    if (n->subject == 0)
        return rb_refuse (r, RB_EMISSING, "subject", "subject is missing");
    if (!rb_wire_kind_known (n->subject))
        return rb_refuse (r, RB_EKIND, "subject", "subject %d is not a known event kind",
                          (int) n->subject);
    if (n->expected_by && !s_date_valid (n->expected_by))
        return rb_refuse (r, RB_EINVALID, "expected_by", "expected_by %d is not a YYYYMMDD date",
                          (int) n->expected_by);
    if (n->n_also_sent_to > RB_NOTICE_ALSO_MAX)
        return rb_refuse (r, RB_ETOOLARGE, "also_sent_to", "also_sent_to has %zu actors, at most %d",
                          n->n_also_sent_to, RB_NOTICE_ALSO_MAX);
    for (size_t i = 0; i < n->n_also_sent_to; i++)
        if (!n->also_sent_to [i])
            return rb_refuse (r, RB_EMISSING, "also_sent_to", "also_sent_to[%zu] is missing", i);
    //  Node names, contacts, codes and labels: none is longer than a contact.
    return rb_wire_strings_check (&n->base, RB_TEXT_MAX, r);
}


// ---------------------------------------------------------------------------
//  Storing

rb_err_t
rb_notices_store (rb_notices_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                  const Regiebus__Notification *n, int64_t now_ms, uint64_t *seq_out,
                  bool *duplicate, rb_refusal_t *r)
{
    *duplicate = false;
    rb_err_t rc = s_check (self, n, r);
    if (!rc)
        rc = s_check_envelope (e, r);
    if (rc)
        return rc;

    //  Seen before for this role: the same notice.
    uint8_t id [S_ID_KEY];
    memcpy (id, n->notification_id.data, 16);
    id [16] = (uint8_t) n->recipient->role;
    rb_val_t found;
    rc = rb_txn_get (txn, self->ids, (rb_val_t) { id, sizeof id }, &found);
    if (rc == RB_OK && found.size == 8) {
        *seq_out = rb_u64_get (found.data);
        *duplicate = true;
        return RB_OK;
    }
    if (rc != RB_ENOTFOUND)
        return rb_refuse (r, rc? rc: RB_ESTORE, NULL, "cannot read the notification index");

    s_counts_t counts;
    rc = s_counts_read (self, txn, &counts);
    if (rc)
        return rb_refuse (r, rc, NULL, "cannot read the notification counters");
    if (counts.last >= S_SEQ_LIMIT - 1)
        return rb_refuse (r, RB_EFULL, "seq", "the notice numbers are used up (the last was %llu)",
                          (unsigned long long) counts.last);
    uint64_t seq = ++counts.last;
    counts.fresh++;

    s_record_t record = { .version = S_VERSION, .state = RB_NOTICE_NEW,
                          .received_at_ms = now_ms, .origin_seq = e->origin_seq };
    memcpy (record.event_id, e->event_id.data, 16);
    snprintf (record.origin, sizeof record.origin, "%s", e->origin);
    snprintf (record.case_pseudonym, sizeof record.case_pseudonym, "%s", e->case_pseudonym);
    size_t packed_size = regiebus__notification__get_packed_size (n);
    uint8_t *value = malloc (sizeof record + packed_size);
    if (!value)
        return rb_refuse (r, RB_EINTERNAL, NULL, "out of memory");
    memcpy (value, &record, sizeof record);
    regiebus__notification__pack (n, value + sizeof record);

    uint8_t key [8];
    rb_u64_put (key, seq);
    rc = rb_txn_put (txn, self->notices, (rb_val_t) { key, 8 },
                     (rb_val_t) { value, sizeof record + packed_size });
    free (value);
    if (!rc)
        rc = rb_txn_put (txn, self->ids, (rb_val_t) { id, sizeof id }, (rb_val_t) { key, 8 });
    if (!rc)
        rc = s_counts_write (self, txn, &counts);
    if (rc)
        return rb_refuse (r, rc, NULL, "cannot store the notification");
    *seq_out = seq;
    return RB_OK;
}


// ---------------------------------------------------------------------------
//  Reading

//  Copy a stored value's fixed part; RB_ESTORE when it is not one of ours.
static rb_err_t
s_record (rb_val_t value, s_record_t *record)
{
    if (value.size < sizeof *record)
        return RB_ESTORE;
    memcpy (record, value.data, sizeof *record);
    if (record->version != S_VERSION
    || (record->state != RB_NOTICE_NEW && record->state != RB_NOTICE_ACKNOWLEDGED))
        return RB_ESTORE;
    record->origin [sizeof record->origin - 1] = 0;
    record->acked_by [sizeof record->acked_by - 1] = 0;
    record->case_pseudonym [sizeof record->case_pseudonym - 1] = 0;
    return RB_OK;
}

//  Show one stored value to visit with its notification decoded, then
//  free it. *result gets visit's return. RB_ESTORE for a damaged record.
static rb_err_t
s_visit_value (uint64_t seq, rb_val_t value, rb_notice_visit_fn *visit, void *arg, int *result)
{
    s_record_t record;
    if (s_record (value, &record))
        return RB_ESTORE;
    Regiebus__Notification *n = regiebus__notification__unpack (
        NULL, value.size - sizeof record, (const uint8_t *) value.data + sizeof record);
    if (!n)
        return RB_ESTORE;
    rb_notice_t notice = { .seq = seq, .state = (rb_notice_state_t) record.state,
                           .received_at_ms = record.received_at_ms,
                           .acked_at_ms = record.acked_at_ms,
                           .origin_seq = record.origin_seq, .notification = n };
    memcpy (notice.event_id, record.event_id, sizeof notice.event_id);
    memcpy (notice.acked_by, record.acked_by, sizeof notice.acked_by);
    memcpy (notice.origin, record.origin, sizeof notice.origin);
    memcpy (notice.case_pseudonym, record.case_pseudonym, sizeof notice.case_pseudonym);
    *result = visit (&notice, arg);
    rb_wire_free (&n);
    return RB_OK;
}

//  One walk over the notice table, shared by list and unacked_before.
typedef struct {
    bool only_new;                      //  skip acknowledged ones
    bool bounded;                       //  only those received before before_ms
    int64_t before_ms;                  //  the bound, when bounded
    size_t limit;                       //  most to visit, 0 for all
    size_t count;                       //  visited so far
    rb_notice_visit_fn *visit;          //  the caller's callback
    void *arg;                          //  and its argument
    rb_err_t rc;                        //  RB_ESTORE when a record was damaged
} s_scan_t;

//  Returns 1 to stop the walk: limit reached, the counters (every notice
//  is before them), visit said stop, or damage.
static int
s_scan (rb_val_t key, rb_val_t value, void *arg)
{
    s_scan_t *scan = arg;
    if (scan->limit && scan->count == scan->limit)
        return 1;
    if (key.size == 8 && memcmp (key.data, s_counts_key, 8) == 0)
        return 1;
    s_record_t record;
    if (key.size != 8 || s_record (value, &record)) {
        scan->rc = RB_ESTORE;
        return 1;
    }
    if (scan->only_new && record.state != RB_NOTICE_NEW)
        return 0;
    if (scan->bounded && record.received_at_ms >= scan->before_ms)
        return 0;
    scan->count++;
    int result = 0;
    scan->rc = s_visit_value (rb_u64_get (key.data), value, scan->visit, scan->arg, &result);
    return scan->rc || result? 1: 0;
}

static rb_err_t
s_walk (rb_notices_t *self, rb_txn_t *txn, uint64_t after, s_scan_t *scan)
{
    if (after == UINT64_MAX)
        return RB_OK;
    uint8_t from [8];
    rb_u64_put (from, after + 1);
    rb_err_t rc = rb_txn_scan (txn, self->notices, (rb_val_t) { from, 8 }, (rb_val_t) { NULL, 0 },
                               s_scan, scan);
    if (scan->rc)
        return scan->rc;
    return rc == 1? RB_OK: rc;
}

rb_err_t
rb_notices_list (rb_notices_t *self, rb_txn_t *txn, uint64_t after_seq, bool only_new,
                 size_t limit, rb_notice_visit_fn *visit, void *arg)
{
    s_scan_t scan = { .only_new = only_new, .limit = limit, .visit = visit, .arg = arg };
    return s_walk (self, txn, after_seq, &scan);
}

rb_err_t
rb_notices_unacked_before (rb_notices_t *self, rb_txn_t *txn, int64_t received_before_ms,
                           rb_notice_visit_fn *visit, void *arg)
{
    s_scan_t scan = { .only_new = true, .bounded = true, .before_ms = received_before_ms,
                      .visit = visit, .arg = arg };
    return s_walk (self, txn, 0, &scan);
}

//  Notice seq's stored value; RB_ENOTFOUND for none, and for the
//  counters' key, which is no notice's number.
static rb_err_t
s_lookup (rb_notices_t *self, rb_txn_t *txn, uint64_t seq, rb_val_t *value)
{
    if (seq == S_SEQ_LIMIT)
        return RB_ENOTFOUND;
    uint8_t key [8];
    rb_u64_put (key, seq);
    return rb_txn_get (txn, self->notices, (rb_val_t) { key, 8 }, value);
}

rb_err_t
rb_notices_get (rb_notices_t *self, rb_txn_t *txn, uint64_t seq, rb_notice_visit_fn *visit, void *arg)
{
    rb_val_t value;
    rb_err_t rc = s_lookup (self, txn, seq, &value);
    if (rc)
        return rc;
    int result = 0;
    return s_visit_value (seq, value, visit, arg, &result);
}

rb_err_t
rb_notices_counts (rb_notices_t *self, rb_txn_t *txn, uint64_t *new_count, uint64_t *acked_count)
{
    s_counts_t counts;
    rb_err_t rc = s_counts_read (self, txn, &counts);
    *new_count = rc? 0: counts.fresh;
    *acked_count = rc? 0: counts.acked;
    return rc;
}


// ---------------------------------------------------------------------------
//  Acknowledging

rb_err_t
rb_notices_ack (rb_notices_t *self, rb_txn_t *txn, uint64_t seq, const char *by, int64_t now_ms,
                rb_refusal_t *r)
{
    if (rb_text_id_check (by, RB_NOTICE_BY_MAX, "._@-", "by", r))
        return r->code;
    rb_val_t value;
    rb_err_t rc = s_lookup (self, txn, seq, &value);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (r, RB_ENOTFOUND, "seq", "no notification %llu", (unsigned long long) seq);
    s_record_t record;
    if (!rc)
        rc = s_record (value, &record);
    if (rc)
        return rb_refuse (r, rc, NULL, "cannot read notification %llu", (unsigned long long) seq);
    if (record.state == RB_NOTICE_ACKNOWLEDGED)
        return rb_refuse (r, RB_EPRECONDITION, "seq",
                          "notification %llu was already acknowledged by %s at %lld",
                          (unsigned long long) seq, record.acked_by, (long long) record.acked_at_ms);
    s_counts_t counts;
    rc = s_counts_read (self, txn, &counts);
    if (rc)
        return rb_refuse (r, rc, NULL, "cannot read the notification counters");
    counts.fresh = counts.fresh? counts.fresh - 1: 0;
    counts.acked++;

    //  The value points into the map: copy it before writing over it.
    uint8_t *copy = malloc (value.size);
    if (!copy)
        return rb_refuse (r, RB_EINTERNAL, NULL, "out of memory");
    record.state = RB_NOTICE_ACKNOWLEDGED;
    record.acked_at_ms = now_ms;
    snprintf (record.acked_by, sizeof record.acked_by, "%s", by);
    memcpy (copy, value.data, value.size);
    memcpy (copy, &record, sizeof record);
    uint8_t key [8];
    rb_u64_put (key, seq);
    rc = rb_txn_put (txn, self->notices, (rb_val_t) { key, 8 }, (rb_val_t) { copy, value.size });
    free (copy);
    if (!rc)
        rc = s_counts_write (self, txn, &counts);
    return rc? rb_refuse (r, rc, NULL, "cannot record the acknowledgement"): RB_OK;
}
