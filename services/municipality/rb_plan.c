/*  rb_plan: the plan register; see rb_plan.h and README.md here.
 *
 *  Design. One table, "plan": one record per plan, keyed by the case's
 *  pseudonym (64 bytes, fixed) and the plan id (4 bytes big-endian), so a
 *  case's plans are one contiguous range in id order and the next id is
 *  the last one plus one (plans are never deleted, only closed).
 *
 *  A plan is read whole, changed in memory and written whole: it is small
 *  (at most 32 milestones) and every call touches one plan. Records start
 *  with a version byte; numbers are big-endian; a record that does not
 *  decode is RB_ESTORE, never trusted.
 *
 *    plan       version(1) type(1) flags(1: bit 0 closed) owner_role(1)
 *               owner_len(1) owner created_on(4) interval(2) reviewed_on(4)
 *               closed_on(4) stalls(4) review_stalled_due(4)
 *               next_milestone(2) count(1) then count milestones
 *    milestone  number(2) date(4) completed_on(4) flags(1: bit 0 stalled)
 *               label_len(1) label
 *
 *  Every mutating call runs in two phases: first every argument and
 *  precondition is checked on the plan read into memory, then the one
 *  write. So a refusal never follows a write.
 */
#include "rb_plan.h"
#include "rb_calendar.h"
#include "rb_text.h"
#include "rb_wire.h"
#include <stdlib.h>
#include <string.h>

_Static_assert (RB_PLAN_LABEL_MAX <= 255 && RB_PLAN_MILESTONES_MAX <= 255,
                "lengths fit the one-byte length fields");

#define S_VERSION 1
#define S_CLOSED 0x01
#define S_STALLED 0x01
#define S_KEY_SIZE (RB_PSEUDONYM_LEN + 4)
#define S_NUMBER_MAX 65535

//  Largest record.
#define S_RECORD_MAX (5 + RB_NAME_MAX + 25 + RB_PLAN_MILESTONES_MAX * (12 + RB_PLAN_LABEL_MAX))

struct _rb_plan_register_t {
    rb_table_t plans;               //  "plan": pseudonym + plan id -> plan record
    rb_regie_t *regie;              //  the case register the plans hang on
};

//  A key of the "plan" table.
typedef struct {
    uint8_t bytes [S_KEY_SIZE];     //  pseudonym, plan id big-endian
} s_key_t;

//  A cursor over a record being written or read; a read past the end
//  clears ok, and every later read yields zeros.
typedef struct {
    uint8_t *bytes;                 //  the record
    size_t size;                    //  its length (reading) or room (writing)
    size_t at;                      //  next byte
    bool ok;                        //  false once a read went past the end
} s_cursor_t;


// ---------------------------------------------------------------------------
//  Keys and records

static s_key_t
s_key (const char *pseudonym, uint32_t plan_id)
{
    s_key_t key;
    memcpy (key.bytes, pseudonym, RB_PSEUDONYM_LEN);
    uint8_t id [8];
    rb_u64_put (id, plan_id);
    memcpy (key.bytes + RB_PSEUDONYM_LEN, id + 4, 4);
    return key;
}

static void
s_put (s_cursor_t *c, uint32_t value, size_t width)
{
    for (size_t i = 0; i < width; i++)
        c->bytes [c->at++] = (uint8_t) (value >> (8 * (width - 1 - i)));
}

static void
s_put_text (s_cursor_t *c, const char *text)
{
    size_t len = strlen (text);
    s_put (c, (uint32_t) len, 1);
    memcpy (c->bytes + c->at, text, len);
    c->at += len;
}

static uint32_t
s_get (s_cursor_t *c, size_t width)
{
    if (!c->ok || c->size - c->at < width) {
        c->ok = false;
        return 0;
    }
    uint32_t value = 0;
    for (size_t i = 0; i < width; i++)
        value = (value << 8) | c->bytes [c->at++];
    return value;
}

//  Read a length byte and that many bytes into text (room for max).
static void
s_get_text (s_cursor_t *c, char *text, size_t max)
{
    size_t len = s_get (c, 1);
    if (len > max || c->size - c->at < len)
        c->ok = false;
    if (!c->ok)
        len = 0;
    memcpy (text, c->bytes + c->at, len);
    text [len] = 0;
    c->at += len;
}

static size_t
s_encode (const rb_plan_t *plan, uint8_t *bytes)
{
    s_cursor_t c = { .bytes = bytes, .size = S_RECORD_MAX, .ok = true };
    s_put (&c, S_VERSION, 1);
    s_put (&c, (uint32_t) plan->type, 1);
    s_put (&c, plan->closed? S_CLOSED: 0, 1);
    s_put (&c, (uint32_t) plan->owner.role, 1);
    s_put_text (&c, plan->owner.node);
    s_put (&c, (uint32_t) plan->created_on, 4);
    s_put (&c, (uint32_t) plan->review_interval_days, 2);
    s_put (&c, (uint32_t) plan->reviewed_on, 4);
    s_put (&c, (uint32_t) plan->closed_on, 4);
    s_put (&c, plan->stalls, 4);
    s_put (&c, (uint32_t) plan->review_stalled_due, 4);
    s_put (&c, plan->next_milestone, 2);
    s_put (&c, (uint32_t) plan->milestone_count, 1);
    for (size_t i = 0; i < plan->milestone_count; i++) {
        const rb_plan_milestone_t *m = &plan->milestones [i];
        s_put (&c, m->number, 2);
        s_put (&c, (uint32_t) m->date, 4);
        s_put (&c, (uint32_t) m->completed_on, 4);
        s_put (&c, m->stalled? S_STALLED: 0, 1);
        s_put_text (&c, m->label);
    }
    return c.at;
}

//  Decode a record into plan (its id is set by the caller); false when it
//  does not decode or does not make sense.
static bool
s_decode (rb_val_t value, rb_plan_t *plan)
{
    s_cursor_t c = { .bytes = (uint8_t *) value.data, .size = value.size, .ok = true };
    bool ok = s_get (&c, 1) == S_VERSION;
    plan->type = (rb_plan_type_t) s_get (&c, 1);
    uint32_t flags = s_get (&c, 1);
    plan->closed = flags & S_CLOSED;
    plan->owner.role = (rb_role_t) s_get (&c, 1);
    s_get_text (&c, plan->owner.node, RB_NAME_MAX);
    plan->created_on = (int32_t) s_get (&c, 4);
    plan->review_interval_days = (int) s_get (&c, 2);
    plan->reviewed_on = (int32_t) s_get (&c, 4);
    plan->closed_on = (int32_t) s_get (&c, 4);
    plan->stalls = s_get (&c, 4);
    plan->review_stalled_due = (int32_t) s_get (&c, 4);
    plan->next_milestone = s_get (&c, 2);
    plan->milestone_count = s_get (&c, 1);
    ok = ok && (flags & ~S_CLOSED) == 0 && plan->milestone_count <= RB_PLAN_MILESTONES_MAX
      && plan->type >= RB_PLAN_TYPE_OPP && plan->type <= RB_PLAN_TYPE_MAX
      && plan->owner.role >= RB_ROLE_SCHOOL_MENTOR && plan->owner.role <= RB_ROLE_MAX;
    for (size_t i = 0; ok && i < plan->milestone_count; i++) {
        rb_plan_milestone_t *m = &plan->milestones [i];
        m->number = s_get (&c, 2);
        m->date = (int32_t) s_get (&c, 4);
        m->completed_on = (int32_t) s_get (&c, 4);
        flags = s_get (&c, 1);
        m->stalled = flags & S_STALLED;
        ok = (flags & ~S_STALLED) == 0;
        s_get_text (&c, m->label, RB_PLAN_LABEL_MAX);
    }
    return ok && c.ok && c.at == c.size;
}

static rb_err_t
s_read (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym, uint32_t plan_id,
        rb_plan_t *plan)
{
    memset (plan, 0, sizeof *plan);
    s_key_t key = s_key (pseudonym, plan_id);
    rb_val_t value;
    rb_err_t rc = rb_txn_get (txn, self->plans, (rb_val_t) { key.bytes, S_KEY_SIZE }, &value);
    if (rc)
        return rc;
    plan->id = plan_id;
    return s_decode (value, plan)? RB_OK: RB_ESTORE;
}

static rb_err_t
s_write (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym, const rb_plan_t *plan)
{
    uint8_t bytes [S_RECORD_MAX];
    size_t size = s_encode (plan, bytes);
    s_key_t key = s_key (pseudonym, plan->id);
    return rb_txn_put (txn, self->plans, (rb_val_t) { key.bytes, S_KEY_SIZE },
                       (rb_val_t) { bytes, size });
}

//  Collects a case's plans, or only counts them and keeps the last id.
typedef struct {
    rb_plan_t *out;                 //  out, or NULL when only counting
    size_t max;                     //  room in out
    size_t count;                   //  plans seen
    uint32_t last_id;               //  the last plan's id
} s_collect_t;

static int
s_collect (rb_val_t key, rb_val_t value, void *arg)
{
    s_collect_t *c = arg;
    if (key.size != S_KEY_SIZE)
        return RB_ESTORE;
    uint8_t id [8] = { 0 };
    memcpy (id + 4, (const uint8_t *) key.data + RB_PSEUDONYM_LEN, 4);
    c->last_id = (uint32_t) rb_u64_get (id);
    if (c->out) {
        if (c->count == c->max)
            return RB_ETOOLARGE;
        c->out [c->count].id = c->last_id;
        if (!s_decode (value, &c->out [c->count]))
            return RB_ESTORE;
    }
    c->count++;
    return 0;
}

static rb_err_t
s_scan (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym, s_collect_t *c)
{
    rb_val_t prefix = { pseudonym, RB_PSEUDONYM_LEN };
    return rb_txn_scan (txn, self->plans, prefix, prefix, s_collect, c);
}


// ---------------------------------------------------------------------------
//  Checks: each fills the refusal and returns its code

static rb_err_t
s_store_error (rb_err_t rc, rb_refusal_t *refusal)
{
    return rb_refuse (refusal, rc, NULL, "plan register: %s", rb_strerror (rc));
}

//  What every call checks first: the pseudonym and today.
static rb_err_t
s_check_call (const char *pseudonym, int32_t today, rb_refusal_t *refusal)
{
    if (refusal)
        rb_refusal_clear (refusal);
    if (!rb_wire_pseudonym_valid (pseudonym))
        return rb_refuse (refusal, RB_EINVALID, "case_pseudonym",
                          "case_pseudonym must be 64 lowercase hex characters");
    if (!rb_calendar_date_valid (today))
        return rb_refuse (refusal, RB_EINVALID, "today", "today %d is not a date YYYYMMDD",
                          (int) today);
    return RB_OK;
}

static rb_err_t
s_check_interval (int days, bool may_keep, rb_refusal_t *refusal)
{
    if ((days < 1 && !(may_keep && days == 0)) || days > RB_PLAN_INTERVAL_MAX)
        return rb_refuse (refusal, RB_EINVALID, "review_interval_days",
                          "review_interval_days %d is not 1-%d", days, RB_PLAN_INTERVAL_MAX);
    return RB_OK;
}

//  Check milestone i given: a label and a date not before not_before.
static rb_err_t
s_check_step (const rb_plan_step_t *step, size_t i, int32_t not_before, rb_refusal_t *refusal)
{
    char field [48];
    snprintf (field, sizeof field, "milestones[%zu].label", i);
    if (!step->label || !*step->label)
        return rb_refuse (refusal, RB_EMISSING, field, "%s is missing", field);
    rb_err_t rc = rb_text_check (step->label, RB_PLAN_LABEL_MAX, field, refusal);
    if (rc)
        return rc;
    snprintf (field, sizeof field, "milestones[%zu].date", i);
    if (!rb_calendar_date_valid (step->date) || step->date < not_before)
        return rb_refuse (refusal, RB_EINVALID, field,
                          "%s %d is not a date on or after the plan's creation (%d)",
                          field, (int) step->date, (int) not_before);
    return RB_OK;
}

//  Check count milestones given, to sit next to kept completed ones.
static rb_err_t
s_check_steps (const rb_plan_step_t *steps, size_t count, size_t kept, int32_t not_before,
               rb_refusal_t *refusal)
{
    if (count + kept == 0)
        return rb_refuse (refusal, RB_EMISSING, "milestones", "a plan needs a milestone");
    if (count && !steps)
        return rb_refuse (refusal, RB_EMISSING, "milestones", "milestones are missing");
    if (count + kept > RB_PLAN_MILESTONES_MAX)
        return rb_refuse (refusal, RB_ETOOLARGE, "milestones", "a plan holds 1-%d milestones",
                          RB_PLAN_MILESTONES_MAX);
    rb_err_t rc = RB_OK;
    for (size_t i = 0; !rc && i < count; i++)
        rc = s_check_step (&steps [i], i, not_before, refusal);
    return rc;
}

static rb_err_t
s_check_spec (const rb_plan_spec_t *spec, int32_t today, rb_refusal_t *refusal)
{
    if (!spec)
        return rb_refuse (refusal, RB_EMISSING, "plan", "plan is missing");
    if (spec->type < RB_PLAN_TYPE_OPP || spec->type > RB_PLAN_TYPE_MAX)
        return rb_refuse (refusal, RB_EINVALID, "type", "type %d is not 1-%d",
                          (int) spec->type, RB_PLAN_TYPE_MAX);
    if (!memchr (spec->owner.node, 0, sizeof spec->owner.node)
    ||  !rb_config_name_valid (spec->owner.node))
        return rb_refuse (refusal, RB_EINVALID, "owner.node",
                          "owner.node must be 1-63 of [a-z0-9-]");
    if (spec->owner.role < RB_ROLE_SCHOOL_MENTOR || spec->owner.role > RB_ROLE_MAX)
        return rb_refuse (refusal, RB_EINVALID, "owner.role",
                          "owner.role %d is not a known Role (1-%d)",
                          (int) spec->owner.role, RB_ROLE_MAX);
    rb_err_t rc = s_check_interval (spec->review_interval_days, false, refusal);
    if (!rc)
        rc = s_check_steps (spec->milestones, spec->milestone_count, 0, today, refusal);
    return rc;
}

rb_err_t
rb_plan_spec_check (const rb_plan_spec_t *spec, int32_t today, rb_refusal_t *refusal)
{
    if (refusal)
        rb_refusal_clear (refusal);
    if (!rb_calendar_date_valid (today))
        return rb_refuse (refusal, RB_EINVALID, "today", "today %d is not a date YYYYMMDD", (int) today);
    return s_check_spec (spec, today, refusal);
}

//  True when owner holds its role on the case.
static rb_err_t
s_owner_holds (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
               const rb_actor_t *owner, bool *holds)
{
    rb_regie_holder_t holders [RB_REGIE_MAX_HOLDERS];
    size_t count = 0;
    *holds = false;
    rb_err_t rc = rb_regie_holders (self->regie, txn, pseudonym, holders,
                                    RB_REGIE_MAX_HOLDERS, &count);
    for (size_t i = 0; !rc && i < count; i++)
        if (holders [i].actor.role == owner->role
        &&  strcmp (holders [i].actor.node, owner->node) == 0)
            *holds = true;
    return rc;
}

//  Check that a new plan fits the case: the case exists, the owner holds
//  its role on it, and it has room for one more plan, whose id is *id.
static rb_err_t
s_check_case (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
              const rb_actor_t *owner, uint32_t *id, rb_refusal_t *refusal)
{
    if (!rb_regie_case_exists (self->regie, txn, pseudonym))
        return rb_refuse (refusal, RB_ENOTFOUND, "case", "no case %.12s... in the register",
                          pseudonym);
    bool holds;
    s_collect_t c = { .out = NULL };
    rb_err_t rc = s_owner_holds (self, txn, pseudonym, owner, &holds);
    if (!rc)
        rc = s_scan (self, txn, pseudonym, &c);
    if (rc)
        return s_store_error (rc, refusal);
    if (!holds)
        return rb_refuse (refusal, RB_EPRECONDITION, "owner",
                          "owner %s (role %d) holds no such role on the case",
                          owner->node, (int) owner->role);
    if (c.count >= RB_PLAN_MAX_PER_CASE)
        return rb_refuse (refusal, RB_ETOOLARGE, "plans", "the case has %d plans already",
                          RB_PLAN_MAX_PER_CASE);
    *id = c.last_id + 1;
    return RB_OK;
}

//  Read the plan a call names and check it may change today.
static rb_err_t
s_open_plan (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym, uint32_t plan_id,
             int32_t today, rb_plan_t *plan, rb_refusal_t *refusal)
{
    rb_err_t rc = s_check_call (pseudonym, today, refusal);
    if (rc)
        return rc;
    rc = s_read (self, txn, pseudonym, plan_id, plan);
    if (rc == RB_ENOTFOUND)
        return rb_refuse (refusal, RB_ENOTFOUND, "plan", "no plan %u on case %.12s...",
                          (unsigned) plan_id, pseudonym);
    if (rc)
        return s_store_error (rc, refusal);
    if (today < plan->reviewed_on)
        return rb_refuse (refusal, RB_EINVALID, "today",
                          "today %d is before the plan's last review (%d)",
                          (int) today, (int) plan->reviewed_on);
    if (plan->closed)
        return rb_refuse (refusal, RB_EPRECONDITION, "plan", "plan %u was closed on %d",
                          (unsigned) plan_id, (int) plan->closed_on);
    return RB_OK;
}

//  The milestone of plan with number, or NULL.
static rb_plan_milestone_t *
s_milestone (rb_plan_t *plan, unsigned number)
{
    for (size_t i = 0; i < plan->milestone_count; i++)
        if (plan->milestones [i].number == number)
            return &plan->milestones [i];
    return NULL;
}


// ---------------------------------------------------------------------------
//  Changes

//  Append the steps as new open milestones (checked before).
static void
s_add_steps (rb_plan_t *plan, const rb_plan_step_t *steps, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        rb_plan_milestone_t *m = &plan->milestones [plan->milestone_count++];
        memset (m, 0, sizeof *m);
        m->number = plan->next_milestone++;
        m->date = steps [i].date;
        snprintf (m->label, sizeof m->label, "%s", steps [i].label);
    }
}

//  Write the plan and describe the change.
static rb_err_t
s_commit (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym, const rb_plan_t *plan,
          rb_plan_event_t event, int32_t today, rb_plan_change_t *change, rb_refusal_t *refusal)
{
    rb_err_t rc = s_write (self, txn, pseudonym, plan);
    if (rc)
        return s_store_error (rc, refusal);
    if (change) {
        memset (change, 0, sizeof *change);
        change->event = event;
        change->plan_id = plan->id;
        change->type = plan->type;
        change->owner = plan->owner;
        change->date = today;
        change->stalls = plan->stalls;
        rb_plan_due (plan, &change->due);
    }
    return RB_OK;
}


// ---------------------------------------------------------------------------
//  The register

rb_plan_register_t *
rb_plan_register_new (rb_store_t *store, rb_regie_t *regie)
{
    rb_table_t plans;
    if (rb_store_table (store, RB_PLAN_TABLE, &plans))
        return NULL;
    return rb_plan_register_new_on (plans, regie);
}

rb_plan_register_t *
rb_plan_register_new_on (rb_table_t plans, rb_regie_t *regie)
{
    rb_plan_register_t *self = calloc (1, sizeof *self);
    if (self) {
        self->plans = plans;
        self->regie = regie;
    }
    return self;
}

void
rb_plan_register_destroy (rb_plan_register_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

rb_err_t
rb_plan_register (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                  const rb_plan_spec_t *spec, int32_t today,
                  rb_plan_change_t *change, rb_refusal_t *refusal)
{
    rb_err_t rc = s_check_call (pseudonym, today, refusal);
    if (!rc)
        rc = s_check_spec (spec, today, refusal);
    if (rc)
        return rc;
    uint32_t id = 0;
    rc = s_check_case (self, txn, pseudonym, &spec->owner, &id, refusal);
    if (rc)
        return rc;
    //  Everything checked: write.
    rb_plan_t plan;
    memset (&plan, 0, sizeof plan);
    plan.id = id;
    plan.type = spec->type;
    plan.owner = spec->owner;
    plan.created_on = today;
    plan.reviewed_on = today;
    plan.review_interval_days = spec->review_interval_days;
    plan.next_milestone = 1;
    s_add_steps (&plan, spec->milestones, spec->milestone_count);
    return s_commit (self, txn, pseudonym, &plan, RB_PLAN_REGISTERED, today, change, refusal);
}

rb_err_t
rb_plan_complete (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                  uint32_t plan_id, unsigned milestone, int32_t today,
                  rb_plan_change_t *change, rb_refusal_t *refusal)
{
    rb_plan_t plan;
    rb_err_t rc = s_open_plan (self, txn, pseudonym, plan_id, today, &plan, refusal);
    if (rc)
        return rc;
    rb_plan_milestone_t *m = s_milestone (&plan, milestone);
    if (!m)
        return rb_refuse (refusal, RB_ENOTFOUND, "milestone", "plan %u has no milestone %u",
                          (unsigned) plan_id, milestone);
    if (m->completed_on)
        return rb_refuse (refusal, RB_EPRECONDITION, "milestone",
                          "milestone %u was completed on %d", milestone, (int) m->completed_on);
    m->completed_on = today;
    rc = s_commit (self, txn, pseudonym, &plan, RB_PLAN_MILESTONE_COMPLETED, today, change,
                   refusal);
    if (!rc && change)
        change->milestone = milestone;
    return rc;
}

rb_err_t
rb_plan_revise (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                uint32_t plan_id, const rb_plan_revision_t *revision, int32_t today,
                rb_plan_change_t *change, rb_refusal_t *refusal)
{
    rb_plan_t plan;
    rb_err_t rc = s_open_plan (self, txn, pseudonym, plan_id, today, &plan, refusal);
    if (rc)
        return rc;
    if (!revision || (!revision->replace_milestones && revision->review_interval_days == 0))
        return rb_refuse (refusal, RB_EMISSING, "revision",
                          "a revision changes the milestones, the review interval or both");
    rc = s_check_interval (revision->review_interval_days, true, refusal);
    //  Completed milestones stay, in their order; the open ones go.
    size_t kept = 0;
    for (size_t i = 0; i < plan.milestone_count; i++)
        if (plan.milestones [i].completed_on || !revision->replace_milestones)
            plan.milestones [kept++] = plan.milestones [i];
    size_t count = revision->replace_milestones? revision->milestone_count: 0;
    if (!rc && revision->replace_milestones)
        rc = s_check_steps (revision->milestones, count, kept, plan.created_on, refusal);
    if (!rc && plan.next_milestone + count > S_NUMBER_MAX + 1)
        rc = rb_refuse (refusal, RB_ETOOLARGE, "milestones",
                        "the plan has used all %d milestone numbers", S_NUMBER_MAX);
    if (rc)
        return rc;
    plan.milestone_count = kept;
    s_add_steps (&plan, revision->milestones, count);
    if (revision->review_interval_days)
        plan.review_interval_days = revision->review_interval_days;
    plan.reviewed_on = today;
    return s_commit (self, txn, pseudonym, &plan, RB_PLAN_REVISED, today, change, refusal);
}

//  Mark the plan reviewed, or closed, today.
static rb_err_t
s_mark (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym, uint32_t plan_id,
        int32_t today, rb_plan_event_t event, rb_plan_change_t *change, rb_refusal_t *refusal)
{
    rb_plan_t plan;
    rb_err_t rc = s_open_plan (self, txn, pseudonym, plan_id, today, &plan, refusal);
    if (rc)
        return rc;
    if (event == RB_PLAN_CLOSED) {
        plan.closed = true;
        plan.closed_on = today;
    }
    else
        plan.reviewed_on = today;
    return s_commit (self, txn, pseudonym, &plan, event, today, change, refusal);
}

rb_err_t
rb_plan_review (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                uint32_t plan_id, int32_t today, rb_plan_change_t *change,
                rb_refusal_t *refusal)
{
    return s_mark (self, txn, pseudonym, plan_id, today, RB_PLAN_REVIEWED, change, refusal);
}

rb_err_t
rb_plan_close (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
               uint32_t plan_id, int32_t today, rb_plan_change_t *change,
               rb_refusal_t *refusal)
{
    return s_mark (self, txn, pseudonym, plan_id, today, RB_PLAN_CLOSED, change, refusal);
}

//  Check that stall is one the plan has today; *seen when it was recorded
//  already. m is set to the stalled milestone (NULL for a review).
static rb_err_t
s_check_stall (rb_plan_t *plan, const rb_plan_stall_t *stall, int32_t today,
               rb_plan_milestone_t **m, bool *seen, rb_refusal_t *refusal)
{
    int32_t due = rb_plan_review_due (plan);
    *m = NULL;
    if (!stall)
        return rb_refuse (refusal, RB_EMISSING, "stall", "stall is missing");
    if (stall->kind == RB_PLAN_STALL_MILESTONE) {
        *m = s_milestone (plan, stall->milestone);
        if (!*m)
            return rb_refuse (refusal, RB_ENOTFOUND, "stall.milestone",
                              "plan %u has no milestone %u", (unsigned) plan->id,
                              stall->milestone);
        if ((*m)->completed_on)
            return rb_refuse (refusal, RB_EPRECONDITION, "stall.milestone",
                              "milestone %u was completed on %d", stall->milestone,
                              (int) (*m)->completed_on);
        due = (*m)->date;
        *seen = (*m)->stalled;
    }
    else
    if (stall->kind == RB_PLAN_STALL_REVIEW)
        *seen = plan->review_stalled_due == due;
    else
        return rb_refuse (refusal, RB_EINVALID, "stall.kind", "stall.kind %d is not 1-2",
                          (int) stall->kind);
    if (stall->due != due || due >= today)
        return rb_refuse (refusal, RB_EPRECONDITION, "stall.due",
                          "stall.due %d is not a due date of the plan (%d) before today (%d)",
                          (int) stall->due, (int) due, (int) today);
    return RB_OK;
}

rb_err_t
rb_plan_record_stall (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                      uint32_t plan_id, const rb_plan_stall_t *stall, int32_t today,
                      bool *recorded, rb_plan_change_t *change, rb_refusal_t *refusal)
{
    *recorded = false;
    rb_plan_t plan;
    rb_plan_milestone_t *m;
    bool seen = false;
    rb_err_t rc = s_open_plan (self, txn, pseudonym, plan_id, today, &plan, refusal);
    if (!rc)
        rc = s_check_stall (&plan, stall, today, &m, &seen, refusal);
    if (rc || seen)
        return rc;
    if (m)
        m->stalled = true;
    else
        plan.review_stalled_due = stall->due;
    plan.stalls++;
    rc = s_commit (self, txn, pseudonym, &plan, RB_PLAN_STALLED, today, change, refusal);
    if (!rc && change) {
        change->stall = *stall;
        change->stall.recorded = true;
    }
    *recorded = rc == RB_OK;
    return rc;
}

rb_err_t
rb_plan_get (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
             uint32_t plan_id, rb_plan_t *out)
{
    memset (out, 0, sizeof *out);
    if (!rb_wire_pseudonym_valid (pseudonym))
        return RB_ENOTFOUND;
    return s_read (self, txn, pseudonym, plan_id, out);
}

rb_err_t
rb_plan_list (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
              rb_plan_t *out, size_t max, size_t *count)
{
    *count = 0;
    if (!rb_wire_pseudonym_valid (pseudonym))
        return RB_OK;
    s_collect_t c = { .out = out, .max = max };
    rb_err_t rc = s_scan (self, txn, pseudonym, &c);
    *count = c.count;
    return rc;
}


// ---------------------------------------------------------------------------
//  Due dates and stalls

int32_t
rb_plan_review_due (const rb_plan_t *plan)
{
    return rb_calendar_add_days (plan->reviewed_on, plan->review_interval_days);
}

void
rb_plan_due (const rb_plan_t *plan, rb_plan_due_t *out)
{
    memset (out, 0, sizeof *out);
    if (plan->closed)
        return;
    out->review_due = rb_plan_review_due (plan);
    for (size_t i = 0; i < plan->milestone_count; i++)
        if (!plan->milestones [i].completed_on) {
            out->milestones [out->count].number = plan->milestones [i].number;
            out->milestones [out->count++].date = plan->milestones [i].date;
        }
}

bool
rb_plan_stalled (const rb_plan_t *plan, int32_t today, rb_plan_stall_t *out, size_t max,
                 size_t *n)
{
    *n = 0;
    if (plan->closed)
        return false;
    bool stalled = false;
    for (size_t i = 0; i < plan->milestone_count; i++) {
        const rb_plan_milestone_t *m = &plan->milestones [i];
        if (m->completed_on || m->date >= today)
            continue;
        stalled = true;
        if (*n < max)
            out [(*n)++] = (rb_plan_stall_t) { .kind = RB_PLAN_STALL_MILESTONE,
                .milestone = m->number, .due = m->date, .recorded = m->stalled };
    }
    int32_t due = rb_plan_review_due (plan);
    if (due && due < today) {
        stalled = true;
        if (*n < max)
            out [(*n)++] = (rb_plan_stall_t) { .kind = RB_PLAN_STALL_REVIEW, .due = due,
                .recorded = plan->review_stalled_due == due };
    }
    return stalled;
}
