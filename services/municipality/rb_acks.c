/*  rb_acks: the watch on acknowledgements; see rb_acks.h.
 *
 *  Design. One record per watched copy (or per acknowledgement of a copy
 *  that was not watched), named by what names a copy: the notification
 *  id's first 8 bytes (the time its cause was made), then 8 bytes of a
 *  digest of the id and the recipient. Keys that sort by time put one
 *  commit's new watches on one leaf page, where a digest alone put each
 *  on its own. The timer's id is "ack/" and the key in hex, so a fired
 *  timer finds its record without a payload, and the timers sort the same way.
 *  The state moves one way: waiting, reminded, escalated, acknowledged
 *  (acknowledged may come from any of the others).
 */
#include "rb_acks.h"
#include "rb_wire.h"
#include <sodium.h>
#include <string.h>

#define S_VERSION 1
#define S_KEY 16                        //  the record's key: id time ‖ BLAKE2b, 8 bytes each
#define S_FIXED (4 + 8 + 8 + 64)        //  version..role, two times, the case
#define S_MINUTE_MS 60000LL
#define S_YEAR_MS (365LL * 24 * 3600 * 1000)

struct _rb_acks_t {
    rb_table_t table;                   //  "ack_watch"
    rb_timers_t *timers;                //  the node's timers, borrowed
};

//  One record, decoded.
typedef struct {
    rb_ack_state_t state;
    uint8_t reminders;                  //  reminders sent
    rb_actor_t recipient;               //  whose copy
    int64_t sent_at_ms;                 //  0 for an unwatched copy
    int64_t acked_at_ms;                //  0 until acknowledged
    char case_pseudonym [65];
    const uint8_t *copy;                //  the packed copy, into the store
    size_t copy_size;
} s_record_t;


// ---------------------------------------------------------------------------
//  Keys and records

static void
s_key (const uint8_t *notification_id, const rb_actor_t *recipient, uint8_t key [S_KEY])
{
    crypto_generichash_state state;
    uint8_t role = (uint8_t) recipient->role, digest [16];
    crypto_generichash_init (&state, NULL, 0, sizeof digest);
    crypto_generichash_update (&state, notification_id, 16);
    crypto_generichash_update (&state, &role, 1);
    crypto_generichash_update (&state, (const uint8_t *) recipient->node, strlen (recipient->node));
    crypto_generichash_final (&state, digest, sizeof digest);
    memcpy (key, notification_id, 8);
    memcpy (key + 8, digest, 8);
}

static void
s_timer_id (const uint8_t key [S_KEY], char id [RB_TIMER_ID_MAX + 1])
{
    char hex [2 * S_KEY + 1];
    sodium_bin2hex (hex, sizeof hex, key, S_KEY);
    snprintf (id, RB_TIMER_ID_MAX + 1, "%s%s", RB_ACKS_TIMER_PREFIX, hex);
}

static int64_t
s_i64_get (const uint8_t *in)
{
    return (int64_t) rb_u64_get (in);
}

static rb_err_t
s_record_get (rb_acks_t *self, rb_txn_t *txn, const uint8_t key [S_KEY], s_record_t *r)
{
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->table, (rb_val_t) { (void *) key, S_KEY }, &value);
    if (rc)
        return rc;
    const uint8_t *v = value.data;
    if (value.size < S_FIXED + 2 || v [0] != S_VERSION || v [1] < RB_ACK_WAITING
    ||  v [1] > RB_ACK_ACKED)
        return RB_ESTORE;
    size_t node_len = v [S_FIXED];
    if (node_len == 0 || node_len > RB_NAME_MAX || value.size < S_FIXED + 1 + node_len)
        return RB_ESTORE;
    memset (r, 0, sizeof *r);
    r->state = (rb_ack_state_t) v [1];
    r->reminders = v [2];
    r->recipient.role = (rb_role_t) v [3];
    r->sent_at_ms = s_i64_get (v + 4);
    r->acked_at_ms = s_i64_get (v + 12);
    memcpy (r->case_pseudonym, v + 20, 64);
    memcpy (r->recipient.node, v + S_FIXED + 1, node_len);
    r->copy = v + S_FIXED + 1 + node_len;
    r->copy_size = value.size - S_FIXED - 1 - node_len;
    return RB_OK;
}

static rb_err_t
s_record_put (rb_acks_t *self, rb_txn_t *txn, const uint8_t key [S_KEY], const s_record_t *r)
{
    size_t node_len = strlen (r->recipient.node);
    size_t size = S_FIXED + 1 + node_len + r->copy_size;
    uint8_t *v = malloc (size);
    if (!v)
        return RB_EINTERNAL;
    v [0] = S_VERSION;
    v [1] = (uint8_t) r->state;
    v [2] = r->reminders;
    v [3] = (uint8_t) r->recipient.role;
    rb_u64_put (v + 4, (uint64_t) r->sent_at_ms);
    rb_u64_put (v + 12, (uint64_t) r->acked_at_ms);
    memcpy (v + 20, r->case_pseudonym, 64);
    v [S_FIXED] = (uint8_t) node_len;
    memcpy (v + S_FIXED + 1, r->recipient.node, node_len);
    if (r->copy_size)
        memcpy (v + S_FIXED + 1 + node_len, r->copy, r->copy_size);
    rb_err_t rc = rb_txn_put (txn, self->table, (rb_val_t) { (void *) key, S_KEY },
                              (rb_val_t) { v, size });
    free (v);
    return rc;
}


// ---------------------------------------------------------------------------
//  Instances and policy

rb_acks_t *
rb_acks_new_on (rb_table_t table, rb_timers_t *timers)
{
    rb_acks_t *self = calloc (1, sizeof *self);
    if (self) {
        self->table = table;
        self->timers = timers;
    }
    return self;
}

rb_acks_t *
rb_acks_new (rb_store_t *store, rb_timers_t *timers)
{
    rb_table_t table;
    if (rb_store_table (store, RB_ACKS_TABLE, &table))
        return NULL;
    return rb_acks_new_on (table, timers);
}

void
rb_acks_destroy (rb_acks_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

rb_err_t
rb_acks_policy_check (const rb_acks_policy_t *p, rb_refusal_t *refusal)
{
    if (p->scope != RB_ACKS_NONE && p->scope != RB_ACKS_ACTION && p->scope != RB_ACKS_ALL)
        return rb_refuse (refusal, RB_EINVALID, "scope", "scope must be none, action or all");
    if (p->remind_after_ms < S_MINUTE_MS || p->remind_after_ms > S_YEAR_MS)
        return rb_refuse (refusal, RB_EINVALID, "remind_after_ms",
                          "the time to a reminder must be from a minute to a year");
    if (p->escalate_after_ms < S_MINUTE_MS || p->escalate_after_ms > S_YEAR_MS)
        return rb_refuse (refusal, RB_EINVALID, "escalate_after_ms",
                          "the time to an escalation must be from a minute to a year");
    return RB_OK;
}

bool
rb_acks_is_timer (const char *timer_id)
{
    return strncmp (timer_id, RB_ACKS_TIMER_PREFIX, strlen (RB_ACKS_TIMER_PREFIX)) == 0;
}


// ---------------------------------------------------------------------------
//  Sent and acknowledged

//  Whether the policy watches this copy.
static bool
s_watched (const rb_acks_policy_t *policy, const Regiebus__Notification *copy)
{
    if (policy->scope == RB_ACKS_NONE || copy->reminder || copy->reminder_of.len)
        return false;
    if (copy->subject == REGIEBUS__EVENT_KIND__ESCALATION && copy->escalation
    &&  copy->escalation->step == REGIEBUS__ESCALATION_STEP__ESCALATION_UNACKNOWLEDGED)
        return false;
    return policy->scope == RB_ACKS_ALL
        || copy->expected != REGIEBUS__EXPECTED_ACTION__NO_ACTION;
}

static rb_err_t
s_check_recipient (const rb_actor_t *r, rb_refusal_t *refusal)
{
    if (!memchr (r->node, 0, sizeof r->node) || !rb_config_name_valid (r->node))
        return rb_refuse (refusal, RB_EINVALID, "recipient.node", "recipient.node must be 1-63 of [a-z0-9-]");
    if (r->role < RB_ROLE_SCHOOL_MENTOR || r->role > RB_ROLE_MAX)
        return rb_refuse (refusal, RB_EINVALID, "recipient.role", "recipient.role %d is not a known Role",
                          (int) r->role);
    return RB_OK;
}

rb_err_t
rb_acks_sent (rb_acks_t *self, rb_txn_t *txn, const rb_acks_policy_t *policy,
              const char *case_pseudonym, const Regiebus__Notification *copy, int64_t now_ms,
              bool *watched, rb_refusal_t *refusal)
{
    if (watched)
        *watched = false;
    if (!case_pseudonym || !rb_wire_pseudonym_valid (case_pseudonym))
        return rb_refuse (refusal, RB_EINVALID, "case_pseudonym", "not 64 lowercase hex characters");
    if (!copy || copy->notification_id.len != 16 || !copy->recipient || !copy->recipient->node)
        return rb_refuse (refusal, RB_EINVALID, "copy", "a copy needs a 16-byte id and a recipient");
    if (!self->timers || !s_watched (policy, copy))
        return RB_OK;
    s_record_t r = { .state = RB_ACK_WAITING, .sent_at_ms = now_ms };
    r.recipient = rb_regie_actor (copy->recipient->node, (rb_role_t) copy->recipient->role);
    rb_err_t rc = s_check_recipient (&r.recipient, refusal);
    if (rc)
        return rc;
    memcpy (r.case_pseudonym, case_pseudonym, 65);
    r.copy_size = regiebus__notification__get_packed_size (copy);
    uint8_t *packed = malloc (r.copy_size + 1);
    if (!packed)
        return rb_refuse (refusal, RB_EINTERNAL, NULL, "out of memory");
    regiebus__notification__pack (copy, packed);
    r.copy = packed;
    uint8_t key [S_KEY];
    char id [RB_TIMER_ID_MAX + 1];
    s_key (copy->notification_id.data, &r.recipient, key);
    s_timer_id (key, id);
    rc = s_record_put (self, txn, key, &r);
    free (packed);
    if (!rc)
        rc = rb_timers_set (self->timers, txn, id, now_ms + policy->remind_after_ms, NULL, 0, refusal);
    if (rc)
        return rb_refuse (refusal, rc, NULL, "cannot watch the copy: %s", rb_strerror (rc));
    if (watched)
        *watched = true;
    return RB_OK;
}

rb_ack_state_t
rb_acks_state (rb_acks_t *self, rb_txn_t *txn, const uint8_t *notification_id,
               const rb_actor_t *recipient)
{
    uint8_t key [S_KEY];
    s_record_t r;
    s_key (notification_id, recipient, key);
    return s_record_get (self, txn, key, &r)? 0: r.state;
}

rb_err_t
rb_acks_acked (rb_acks_t *self, rb_txn_t *txn, const char *case_pseudonym,
               const uint8_t *notification_id, const rb_actor_t *recipient, int64_t acked_at_ms,
               rb_ack_state_t *before, rb_refusal_t *refusal)
{
    if (before)
        *before = 0;
    if (!notification_id)
        return rb_refuse (refusal, RB_EINVALID, "notification_id", "notification_id must be 16 bytes");
    rb_err_t rc = s_check_recipient (recipient, refusal);
    if (rc)
        return rc;
    if (!case_pseudonym || !rb_wire_pseudonym_valid (case_pseudonym))
        return rb_refuse (refusal, RB_EINVALID, "case_pseudonym", "not 64 lowercase hex characters");
    uint8_t key [S_KEY];
    s_key (notification_id, recipient, key);
    s_record_t r;
    rc = s_record_get (self, txn, key, &r);
    if (rc == RB_ENOTFOUND) {
        //  Not watched: the acknowledgement is recorded all the same.
        r = (s_record_t) { .state = RB_ACK_ACKED, .recipient = *recipient, .acked_at_ms = acked_at_ms };
        memcpy (r.case_pseudonym, case_pseudonym, 65);
        rc = s_record_put (self, txn, key, &r);
        return rc? rb_refuse (refusal, rc, NULL, "cannot record: %s", rb_strerror (rc)): RB_OK;
    }
    if (rc)
        return rb_refuse (refusal, rc, NULL, "cannot read the watch: %s", rb_strerror (rc));
    if (memcmp (r.case_pseudonym, case_pseudonym, 64) != 0)
        return rb_refuse (refusal, RB_EDENIED, "case_pseudonym",
                          "notification was sent about another case");
    if (before)
        *before = r.state;
    if (r.state == RB_ACK_ACKED)
        return RB_OK;
    //  The copy is rewritten below: keep it out of the store's pages.
    uint8_t *copy = r.copy_size? malloc (r.copy_size): NULL;
    if (r.copy_size && !copy)
        return rb_refuse (refusal, RB_EINTERNAL, NULL, "out of memory");
    if (copy)
        memcpy (copy, r.copy, r.copy_size);
    r.copy = copy;
    char id [RB_TIMER_ID_MAX + 1];
    s_timer_id (key, id);
    r.state = RB_ACK_ACKED;
    r.acked_at_ms = acked_at_ms;
    if (self->timers)
        rc = rb_timers_cancel (self->timers, txn, id, NULL, refusal);
    if (!rc)
        rc = s_record_put (self, txn, key, &r);
    free (copy);
    return rc? rb_refuse (refusal, rc, NULL, "cannot record: %s", rb_strerror (rc)): RB_OK;
}


// ---------------------------------------------------------------------------
//  Due timers

//  The record a timer id names.
static bool
s_key_of_timer (const char *timer_id, uint8_t key [S_KEY])
{
    size_t prefix = strlen (RB_ACKS_TIMER_PREFIX);
    size_t bin_len = 0;
    const char *hex = timer_id + prefix;
    return rb_acks_is_timer (timer_id) && strlen (hex) == 2 * S_KEY
        && sodium_hex2bin (key, S_KEY, hex, 2 * S_KEY, NULL, &bin_len, NULL) == 0
        && bin_len == S_KEY;
}

rb_err_t
rb_acks_fire (rb_acks_t *self, rb_txn_t *txn, const rb_acks_policy_t *policy,
              const char *timer_id, int64_t now_ms, rb_ack_due_t *due, rb_refusal_t *refusal)
{
    memset (due, 0, sizeof *due);
    uint8_t key [S_KEY];
    s_record_t r;
    if (!self->timers || !s_key_of_timer (timer_id, key))
        return rb_refuse (refusal, RB_EINVALID, "id", "'%s' is not an acknowledgement timer", timer_id);
    rb_err_t rc = s_record_get (self, txn, key, &r);
    if (rc == RB_ENOTFOUND)
        return RB_OK;               //  nothing left to remind of
    if (rc)
        return rb_refuse (refusal, rc, NULL, "cannot read the watch: %s", rb_strerror (rc));
    if (r.state != RB_ACK_WAITING && r.state != RB_ACK_REMINDED)
        return RB_OK;
    due->copy = regiebus__notification__unpack (NULL, r.copy_size, r.copy);
    if (!due->copy)
        return rb_refuse (refusal, RB_ESTORE, NULL, "the watched copy does not decode");
    memcpy (due->case_pseudonym, r.case_pseudonym, 65);
    due->sent_at_ms = r.sent_at_ms;
    uint8_t *copy = malloc (r.copy_size + 1);
    if (!copy) {
        rb_acks_due_clear (due);
        return rb_refuse (refusal, RB_EINTERNAL, NULL, "out of memory");
    }
    memcpy (copy, r.copy, r.copy_size);
    r.copy = copy;
    if (r.state == RB_ACK_WAITING) {
        due->step = RB_ACK_REMIND;
        due->reminder = ++r.reminders;
        r.state = RB_ACK_REMINDED;
        rc = rb_timers_set (self->timers, txn, timer_id, now_ms + policy->escalate_after_ms,
                            NULL, 0, refusal);
    }
    else {
        due->step = RB_ACK_ESCALATE;
        r.state = RB_ACK_ESCALATED;
    }
    if (!rc)
        rc = s_record_put (self, txn, key, &r);
    free (copy);
    if (rc) {
        rb_acks_due_clear (due);
        return rb_refuse (refusal, rc, NULL, "cannot record: %s", rb_strerror (rc));
    }
    return RB_OK;
}

void
rb_acks_due_clear (rb_ack_due_t *due)
{
    if (due->copy)
        regiebus__notification__free_unpacked (due->copy, NULL);
    due->copy = NULL;
}
