/*  rb_notices: stored notifications, deduplicated and acknowledged; see rb_notices.h. */
#include "rb_notices.h"
#include "rb_config.h"
#include <ctype.h>

#define S_VERSION 1

struct _rb_notices_t {
    rb_table_t notices;                 //  "notice": seq -> record
    rb_table_t ids;                     //  "notice_id": id + role -> seq
    rb_table_t meta;                    //  "notice_meta": next, new, acked
    char self_name [RB_NAME_MAX + 1];   //  recipients must be this node
};

//  A record's fixed part; the packed Notification follows it.
typedef struct {
    uint8_t version;
    uint8_t state;
    uint8_t unused [6];
    int64_t received_at_ms;
    int64_t acked_at_ms;
    uint64_t origin_seq;
    uint8_t event_id [16];
    char origin [64];
    char acked_by [RB_NOTICE_BY_MAX + 1];
    char case_pseudonym [65];
    char pad [6];
} s_record_t;

rb_notices_t *
rb_notices_new (rb_store_t *store, const char *self_name)
{
    rb_notices_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->self_name, sizeof self->self_name, "%s", self_name);
    if (rb_store_table (store, "notice", &self->notices)
    ||  rb_store_table (store, "notice_id", &self->ids)
    ||  rb_store_table (store, "notice_meta", &self->meta))
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

static uint64_t
s_meta (rb_notices_t *self, rb_txn_t *txn, const char *name, rb_err_t *rc)
{
    rb_val_t value;
    rb_err_t got = rb_txn_get (txn, self->meta, rb_val_str (name), &value);
    if (got == RB_OK && value.size == 8)
        return rb_u64_get (value.data);
    if (got != RB_ENOTFOUND)
        *rc = got? got: RB_ESTORE;
    return 0;
}

static rb_err_t
s_meta_put (rb_notices_t *self, rb_txn_t *txn, const char *name, uint64_t value)
{
    uint8_t bytes [8];
    rb_u64_put (bytes, value);
    return rb_txn_put (txn, self->meta, rb_val_str (name), (rb_val_t) { bytes, 8 });
}

static bool
s_date_valid (int32_t date)
{
    int y = date / 10000, m = date / 100 % 100, d = date % 100;
    static const int days [] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 || d > days [m - 1])
        return false;
    return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

static rb_err_t
s_check (rb_notices_t *self, const Regiebus__Notification *n, rb_refusal_t *r)
{
    if (n->notification_id.len != 16)
        return rb_refuse (r, RB_EINVALID, "notification_id", "notification_id must be 16 bytes");
    if (!n->recipient)
        return rb_refuse (r, RB_EMISSING, "recipient", "recipient is missing");
    if (strcmp (n->recipient->node, self->self_name) != 0)
        return rb_refuse (r, RB_EINVALID, "recipient.node", "recipient.node '%s' is not this node",
                          n->recipient->node);
    if (n->recipient->role < 1 || n->recipient->role > 8)
        return rb_refuse (r, RB_EINVALID, "recipient.role", "recipient.role %d is not a known role",
                          (int) n->recipient->role);
    if (n->subject == 0)
        return rb_refuse (r, RB_EMISSING, "subject", "subject is missing");
    if (n->expected_by && !s_date_valid (n->expected_by))
        return rb_refuse (r, RB_EINVALID, "expected_by", "expected_by %d is not a YYYYMMDD date",
                          (int) n->expected_by);
    if (n->n_also_sent_to > RB_NOTICE_ALSO_MAX)
        return rb_refuse (r, RB_ETOOLARGE, "also_sent_to", "also_sent_to has more than %d actors",
                          RB_NOTICE_ALSO_MAX);
    return RB_OK;
}

rb_err_t
rb_notices_store (rb_notices_t *self, rb_txn_t *txn, const Regiebus__Envelope *e,
                  const Regiebus__Notification *n, int64_t now_ms, uint64_t *seq_out,
                  bool *duplicate, rb_refusal_t *r)
{
    *duplicate = false;
    if (s_check (self, n, r))
        return r->code;
    uint8_t id [17];
    memcpy (id, n->notification_id.data, 16);
    id [16] = (uint8_t) n->recipient->role;
    rb_val_t found;
    rb_err_t rc = rb_txn_get (txn, self->ids, (rb_val_t) { id, 17 }, &found);
    if (rc == RB_OK && found.size == 8) {
        *seq_out = rb_u64_get (found.data);
        *duplicate = true;
        return RB_OK;
    }
    if (rc != RB_ENOTFOUND)
        return rb_refuse (r, rc? rc: RB_ESTORE, "", "cannot read notifications");
    rc = RB_OK;
    uint64_t seq = s_meta (self, txn, "next", &rc) + 1;
    uint64_t fresh = s_meta (self, txn, "new", &rc);
    size_t packed_size = regiebus__notification__get_packed_size (n);
    uint8_t *value = calloc (1, sizeof (s_record_t) + packed_size);
    if (rc || !value) {
        free (value);
        return rb_refuse (r, rc? rc: RB_EINTERNAL, "", "cannot read notifications");
    }
    s_record_t record = { .version = S_VERSION, .state = RB_NOTICE_NEW, .received_at_ms = now_ms,
                          .origin_seq = e->origin_seq };
    if (e->event_id.len == 16)
        memcpy (record.event_id, e->event_id.data, 16);
    snprintf (record.origin, sizeof record.origin, "%s", e->origin);
    snprintf (record.case_pseudonym, sizeof record.case_pseudonym, "%s", e->case_pseudonym);
    memcpy (value, &record, sizeof record);
    regiebus__notification__pack (n, value + sizeof record);
    uint8_t key [8];
    rb_u64_put (key, seq);
    rc = rb_txn_put (txn, self->notices, (rb_val_t) { key, 8 },
                     (rb_val_t) { value, sizeof record + packed_size });
    free (value);
    if (!rc)
        rc = rb_txn_put (txn, self->ids, (rb_val_t) { id, 17 }, (rb_val_t) { key, 8 });
    if (!rc)
        rc = s_meta_put (self, txn, "next", seq);
    if (!rc)
        rc = s_meta_put (self, txn, "new", fresh + 1);
    if (rc)
        return rb_refuse (r, rc, "", "cannot store the notification");
    *seq_out = seq;
    return RB_OK;
}

//  Turn a stored value into a notice with its notification decoded, call
//  visit, free. Returns visit's result, or RB_ESTORE for a damaged record.
static int
s_visit_value (uint64_t seq, rb_val_t value, rb_notice_visit_fn *visit, void *arg)
{
    s_record_t record;
    if (value.size < sizeof record)
        return RB_ESTORE;
    memcpy (&record, value.data, sizeof record);
    Regiebus__Notification *n = regiebus__notification__unpack (
        NULL, value.size - sizeof record, (const uint8_t *) value.data + sizeof record);
    if (record.version != S_VERSION || !n) {
        rb_wire_free (&n);
        return RB_ESTORE;
    }
    rb_notice_t notice = { .seq = seq, .state = (rb_notice_state_t) record.state,
                           .received_at_ms = record.received_at_ms, .acked_at_ms = record.acked_at_ms,
                           .origin_seq = record.origin_seq, .notification = n };
    memcpy (notice.event_id, record.event_id, 16);
    memcpy (notice.acked_by, record.acked_by, sizeof notice.acked_by);
    memcpy (notice.origin, record.origin, sizeof notice.origin);
    memcpy (notice.case_pseudonym, record.case_pseudonym, sizeof notice.case_pseudonym);
    int result = visit (&notice, arg);
    rb_wire_free (&n);
    return result;
}

typedef struct {
    bool only_new;
    int64_t before_ms;          //  0: no time bound
    size_t limit, count;
    rb_notice_visit_fn *visit;
    void *arg;
    int stopped;                //  visit's non-zero result
} s_scan_t;

//  Stops the scan with 1 (limit) or -1 (visit's own stop, kept in stopped).
static int
s_scan (rb_val_t key, rb_val_t value, void *arg)
{
    s_scan_t *scan = arg;
    if (scan->limit && scan->count == scan->limit)
        return 1;
    uint8_t state = value.size >= sizeof (s_record_t)? ((const uint8_t *) value.data) [1]: 0;
    if (scan->only_new && state != RB_NOTICE_NEW)
        return 0;
    if (scan->before_ms) {
        s_record_t record;
        if (value.size < sizeof record)
            return 0;
        memcpy (&record, value.data, sizeof record);
        if (record.received_at_ms >= scan->before_ms)
            return 0;
    }
    scan->count++;
    int result = s_visit_value (rb_u64_get (key.data), value, scan->visit, scan->arg);
    if (result) {
        scan->stopped = result;
        return 1;
    }
    return 0;
}

static rb_err_t
s_walk (rb_notices_t *self, rb_txn_t *txn, uint64_t after, s_scan_t *scan)
{
    uint8_t from [8];
    rb_u64_put (from, after + 1);
    rb_err_t rc = rb_txn_scan (txn, self->notices, (rb_val_t) { from, 8 }, (rb_val_t) { NULL, 0 },
                               s_scan, scan);
    if (scan->stopped == RB_ESTORE)
        return RB_ESTORE;
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
rb_notices_unacked_before (rb_notices_t *self, rb_txn_t *txn, int64_t before_ms,
                           rb_notice_visit_fn *visit, void *arg)
{
    s_scan_t scan = { .only_new = true, .before_ms = before_ms, .visit = visit, .arg = arg };
    return s_walk (self, txn, 0, &scan);
}

rb_err_t
rb_notices_get (rb_notices_t *self, rb_txn_t *txn, uint64_t seq, rb_notice_visit_fn *visit, void *arg)
{
    uint8_t key [8];
    rb_u64_put (key, seq);
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->notices, (rb_val_t) { key, 8 }, &value);
    if (rc)
        return rc;
    int result = s_visit_value (seq, value, visit, arg);
    return result == RB_ESTORE? RB_ESTORE: RB_OK;
}

static bool
s_by_valid (const char *by)
{
    size_t len = by? strlen (by): 0;
    if (len == 0 || len > RB_NOTICE_BY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(isalnum ((unsigned char) by [i]) || strchr ("._@-", by [i])))
            return false;
    return true;
}

rb_err_t
rb_notices_ack (rb_notices_t *self, rb_txn_t *txn, uint64_t seq, const char *by, int64_t now_ms,
                rb_refusal_t *r)
{
    if (!s_by_valid (by))
        return rb_refuse (r, RB_EINVALID, "by", "by must be 1-%d of letters, digits and . _ @ -",
                          RB_NOTICE_BY_MAX);
    uint8_t key [8];
    rb_u64_put (key, seq);
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->notices, (rb_val_t) { key, 8 }, &value);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (r, RB_ENOTFOUND, "seq", "no notification %llu", (unsigned long long) seq);
    if (rc || value.size < sizeof (s_record_t))
        return rb_refuse (r, rc? rc: RB_ESTORE, "", "cannot read notification %llu", (unsigned long long) seq);
    s_record_t record;
    memcpy (&record, value.data, sizeof record);
    if (record.state == RB_NOTICE_ACKNOWLEDGED)
        return rb_refuse (r, RB_EPRECONDITION, "seq", "notification %llu was acknowledged by %s at %lld",
                          (unsigned long long) seq, record.acked_by, (long long) record.acked_at_ms);
    uint8_t *copy = malloc (value.size);
    if (!copy)
        return rb_refuse (r, RB_EINTERNAL, "", "out of memory");
    record.state = RB_NOTICE_ACKNOWLEDGED;
    record.acked_at_ms = now_ms;
    snprintf (record.acked_by, sizeof record.acked_by, "%s", by);
    memcpy (copy, value.data, value.size);
    memcpy (copy, &record, sizeof record);
    rc = rb_txn_put (txn, self->notices, (rb_val_t) { key, 8 }, (rb_val_t) { copy, value.size });
    free (copy);
    uint64_t fresh = 0, acked = 0;
    if (!rc)
        rc = rb_notices_counts (self, txn, &fresh, &acked);
    if (!rc)
        rc = s_meta_put (self, txn, "new", fresh? fresh - 1: 0);
    if (!rc)
        rc = s_meta_put (self, txn, "acked", acked + 1);
    return rc? rb_refuse (r, rc, "", "cannot record the acknowledgement"): RB_OK;
}

rb_err_t
rb_notices_counts (rb_notices_t *self, rb_txn_t *txn, uint64_t *new_count, uint64_t *acked_count)
{
    rb_err_t rc = RB_OK;
    *new_count = s_meta (self, txn, "new", &rc);
    *acked_count = s_meta (self, txn, "acked", &rc);
    return rc;
}
