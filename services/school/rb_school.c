/*  rb_school: pupils, attendance and signals in the school's store; see rb_school.h.
 *
 *  Design. Each operation tells the same story: check what came in
 *  against the request itself and then against the store, write, send.
 *  Every check happens before the first write of that pupil or record, and
 *  a refusal further down a request is undone by the caller dropping the
 *  transaction, so a request is all or nothing.
 *
 *  Stored records are fixed structs in the machine's own layout, like
 *  LMDB's own files, zeroed before they are filled so that two records
 *  with the same content have the same bytes; each starts with a version.
 *  A record that is not the size or version this build writes is a damaged
 *  store (RB_ESTORE), never guessed at.
 */
#include "rb_school.h"
#include "rb_plan_command.h"
#include "rb_log.h"
#include <stdarg.h>
#include <time.h>

#define S_VERSION 1
#define S_PAYLOAD_MAX 4096              //  a PlanCommand of 32 milestones with 64-byte labels fits

struct _rb_school_t {
    rb_node_t *node;                    //  for emit and the clock
    rb_school_config_t *config;         //  owned
    rb_table_t pupils;                  //  "school_pupil": local_id -> s_pupil_t
    rb_table_t states;                  //  "school_state": local_id -> rb_attendance_state_t
    rb_table_t cases;                   //  "school_case": pseudonym -> local_id
    rb_table_t records;                 //  "school_record": idempotency key -> s_record_t
    rb_table_t meta;                    //  "school_meta": "closed" -> int32
    rb_table_t left;                    //  "school_left": local_id -> int32, the day it left
};

//  A pupil as enrolled. Citizen number, birth date and name never leave
//  this node.
typedef struct {
    uint8_t version;                    //  S_VERSION
    uint8_t unused [3];                 //  zero
    int32_t birth_date;                 //  YYYYMMDD
    int32_t enrolled_on;                //  YYYYMMDD
    char citizen_number [10];           //  9 digits
    char home_municipality [5];         //  CBS code, 4 digits
    char school_location [RB_SCHOOL_LOCATION_LEN + 1];
    char case_pseudonym [RB_PSEUDONYM_LEN + 1];
    char municipality_node [RB_NAME_MAX + 1];   //  where the case lives
    char local_id [RB_SCHOOL_LOCAL_ID_MAX + 1];
    char display_name [RB_SCHOOL_NAME_MAX + 1]; //  "" when none
} s_pupil_t;

//  What an idempotency key remembers: the record's digest and what it raised.
typedef struct {
    uint8_t version;                    //  S_VERSION
    uint8_t signals;                    //  how many of signal [] it raised
    uint8_t signal [RB_ATTENDANCE_SIGNALS_MAX];     //  rb_signal_kind_t, in order
    uint8_t unused [1];                 //  zero
    uint8_t hash [RB_WIRE_HASH_SIZE];   //  rb_wire_hash of the AttendanceRecord
} s_record_t;


// ---------------------------------------------------------------------------
//  Life

rb_school_t *
rb_school_new (rb_node_t *node, rb_school_config_t **config_p, rb_refusal_t *why)
{
    rb_school_t *self = calloc (1, sizeof *self);
    if (!self) {
        rb_school_config_destroy (config_p);
        rb_refuse (why, RB_EINTERNAL, "", "out of memory");
        return NULL;
    }
    self->node = node;
    self->config = *config_p;
    *config_p = NULL;
    if (rb_node_table (node, "school_pupil", &self->pupils)
    ||  rb_node_table (node, "school_state", &self->states)
    ||  rb_node_table (node, "school_case", &self->cases)
    ||  rb_node_table (node, "school_record", &self->records)
    ||  rb_node_table (node, "school_meta", &self->meta)
    ||  rb_node_table (node, "school_left", &self->left)) {
        rb_refuse (why, RB_ESTORE, "node/data_dir", "cannot open the school's tables");
        rb_school_destroy (&self);
    }
    return self;
}

void
rb_school_destroy (rb_school_t **self_p)
{
    if (self_p && *self_p) {
        rb_school_config_destroy (&(*self_p)->config);
        free (*self_p);
        *self_p = NULL;
    }
}


// ---------------------------------------------------------------------------
//  Helpers

//  Refuse naming prefix.name ("records[2].date").
static rb_err_t s_refuse (rb_refusal_t *why, rb_err_t code, const char *prefix, const char *name,
                          const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));

static rb_err_t
s_refuse (rb_refusal_t *why, rb_err_t code, const char *prefix, const char *name,
          const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    why->code = code;
    snprintf (why->field, sizeof why->field, "%s.%s", prefix, name);
    vsnprintf (why->message, sizeof why->message, fmt, args);
    va_end (args);
    return code;
}

//  A refusal of rb_attendance, with its field put under prefix.
static rb_err_t
s_prefixed (rb_refusal_t *why, const rb_refusal_t *inner, const char *prefix)
{
    return s_refuse (why, inner->code, prefix, inner->field, "%s", inner->message);
}

static rb_err_t
s_damaged (rb_refusal_t *why, const char *table, const char *key)
{
    return rb_refuse (why, RB_ESTORE, "", "damaged record in %s for '%.64s'", table, key);
}

//  A date kept under key in table (its name for messages); 0 when none is.
static rb_err_t
s_date_get (rb_txn_t *txn, rb_table_t table, const char *name, const char *key, int32_t *date,
            rb_refusal_t *why)
{
    rb_val_t found;
    *date = 0;
    rb_err_t rc = rb_txn_get (txn, table, rb_val_str (key), &found);
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (rc)
        return rb_refuse (why, rc, "", "cannot read %s", name);
    if (found.size != sizeof *date)
        return s_damaged (why, name, key);
    memcpy (date, found.data, sizeof *date);
    return rb_calendar_date_valid (*date)? RB_OK: s_damaged (why, name, key);
}

int32_t
rb_school_today (rb_school_t *self)
{
    return rb_calendar_date_at (rb_node_now_ms (self->node));
}

//  Minutes since local midnight by the node's clock.
static int
s_minute_of_day (rb_school_t *self)
{
    time_t seconds = (time_t) (rb_node_now_ms (self->node) / 1000);
    struct tm tm;
    if (!localtime_r (&seconds, &tm))
        return 0;
    return tm.tm_hour * 60 + tm.tm_min;
}

//  Pack msg and send it about the pupil's case to its home municipality.
static rb_err_t
s_send (rb_school_t *self, rb_txn_t *txn, const s_pupil_t *pupil, int kind,
        const ProtobufCMessage *msg, uint8_t *event_id, rb_refusal_t *why)
{
    uint8_t payload [S_PAYLOAD_MAX];
    size_t size = protobuf_c_message_get_packed_size (msg);
    if (size > sizeof payload)
        return rb_refuse (why, RB_EINTERNAL, "payload", "a payload of %zu bytes", size);
    protobuf_c_message_pack (msg, payload);
    rb_emit_t emit = {
        .destination = pupil->municipality_node,
        .case_pseudonym = pupil->case_pseudonym,
        .kind = kind,
        .payload = payload,
        .payload_size = size,
    };
    return rb_node_emit (self->node, txn, &emit, event_id, why);
}


// ---------------------------------------------------------------------------
//  Pupils and their states

static rb_err_t
s_pupil_get (rb_school_t *self, rb_txn_t *txn, const char *local_id, s_pupil_t *pupil,
             rb_refusal_t *why)
{
    rb_val_t found;
    rb_err_t rc = rb_txn_get (txn, self->pupils, rb_val_str (local_id), &found);
    if (rc == RB_ENOTFOUND)
        return rc;                      //  the caller says what is not found
    if (rc)
        return rb_refuse (why, rc, "", "cannot read pupil '%.64s'", local_id);
    if (found.size != sizeof *pupil || *(const uint8_t *) found.data != S_VERSION)
        return s_damaged (why, "school_pupil", local_id);
    memcpy (pupil, found.data, sizeof *pupil);
    return RB_OK;
}

//  The pupil a call names by local id: MISSING_FIELD or NOT_FOUND on
//  prefix.local_id.
static rb_err_t
s_pupil_named (rb_school_t *self, rb_txn_t *txn, const char *local_id, const char *prefix,
               s_pupil_t *pupil, rb_refusal_t *why)
{
    if (!*local_id)
        return s_refuse (why, RB_EMISSING, prefix, "local_id", "name the pupil by its local id");
    if (strlen (local_id) > RB_SCHOOL_LOCAL_ID_MAX)
        return s_refuse (why, RB_ETOOLARGE, prefix, "local_id", "a local id is at most %d characters",
                         RB_SCHOOL_LOCAL_ID_MAX);
    rb_err_t rc = s_pupil_get (self, txn, local_id, pupil, why);
    if (rc == RB_ENOTFOUND)
        return s_refuse (why, RB_ENOTFOUND, prefix, "local_id", "no pupil '%.64s' is enrolled", local_id);
    return rc;
}

//  The pupil whose case is case_pseudonym: RB_ENOTFOUND when it is not
//  one of this school's pupils (nothing said in why), else as s_pupil_get.
static rb_err_t
s_pupil_of_case (rb_school_t *self, rb_txn_t *txn, const char *case_pseudonym, s_pupil_t *pupil,
                 rb_refusal_t *why)
{
    rb_val_t found;
    if (rb_txn_get (txn, self->cases, rb_val_str (case_pseudonym), &found)
    ||  found.size == 0 || found.size > RB_SCHOOL_LOCAL_ID_MAX)
        return RB_ENOTFOUND;
    char local_id [RB_SCHOOL_LOCAL_ID_MAX + 1];
    memcpy (local_id, found.data, found.size);
    local_id [found.size] = 0;
    return s_pupil_get (self, txn, local_id, pupil, why);
}

//  The day the pupil left, 0 while it is enrolled.
static rb_err_t
s_left_get (rb_school_t *self, rb_txn_t *txn, const char *local_id, int32_t *left_on,
            rb_refusal_t *why)
{
    return s_date_get (txn, self->left, "school_left", local_id, left_on, why);
}

static rb_err_t
s_state_get (rb_school_t *self, rb_txn_t *txn, const char *local_id,
             rb_attendance_state_t *state, rb_refusal_t *why)
{
    rb_val_t found;
    rb_err_t rc = rb_txn_get (txn, self->states, rb_val_str (local_id), &found);
    if (rc)
        return rb_refuse (why, rc == RB_ENOTFOUND? RB_ESTORE: rc, "",
                          "cannot read the attendance of '%.64s'", local_id);
    if (rb_attendance_state_check (found.data, found.size, NULL))
        return s_damaged (why, "school_state", local_id);
    memcpy (state, found.data, sizeof *state);
    return RB_OK;
}

static rb_err_t
s_state_put (rb_school_t *self, rb_txn_t *txn, const char *local_id,
             const rb_attendance_state_t *state)
{
    return rb_txn_put (txn, self->states, rb_val_str (local_id),
                       (rb_val_t) { state, sizeof *state });
}

//  Who the pupil is and since when: ids and dates.
static rb_err_t
s_pupil_check_who (rb_school_t *self, const Regiebus__Pupil *p, const char *prefix,
                   int32_t *enrolled_on_out, rb_refusal_t *why)
{
    int32_t today = rb_school_today (self);
    int32_t enrolled_on = *enrolled_on_out = p->enrolled_on? p->enrolled_on: today;
    rb_refusal_t inner;
    if (rb_text_id_check (p->local_id, RB_SCHOOL_LOCAL_ID_MAX, "._-", "local_id", &inner))
        return s_prefixed (why, &inner, prefix);
    if (!*p->citizen_number)
        return s_refuse (why, RB_EMISSING, prefix, "citizen_number", "a pupil needs a citizen number");
    if (!rb_pseudonym_bsn_valid (p->citizen_number))
        return s_refuse (why, RB_EINVALID, prefix, "citizen_number",
                         "a citizen number is 9 digits that pass the 11-check");
    if (!rb_calendar_date_valid (enrolled_on) || enrolled_on > today)
        return s_refuse (why, RB_EINVALID, prefix, "enrolled_on",
                         "%d is not a date (YYYYMMDD) up to today, %d", (int) p->enrolled_on, (int) today);
    if (!p->birth_date)
        return s_refuse (why, RB_EMISSING, prefix, "birth_date", "a pupil needs a birth date");
    if (!rb_calendar_date_valid (p->birth_date) || p->birth_date >= enrolled_on)
        return s_refuse (why, RB_EINVALID, prefix, "birth_date",
                         "%d is not a date (YYYYMMDD) before enrolment on %d", (int) p->birth_date,
                         (int) enrolled_on);
    return RB_OK;
}

//  The pupil of the request as it would be stored, checked field by field.
static rb_err_t
s_pupil_check (rb_school_t *self, const Regiebus__Pupil *p, const char *prefix,
               s_pupil_t *pupil, rb_refusal_t *why)
{
    int32_t enrolled_on;
    if (s_pupil_check_who (self, p, prefix, &enrolled_on, why))
        return why->code;
    char field [96];
    snprintf (field, sizeof field, "%s.home_municipality", prefix);
    const char *node;
    if (rb_homes_resolve (self->config->homes, p->home_municipality, field, &node, why))
        return why->code;
    const char *location = *p->school_location? p->school_location: self->config->location;
    if (!rb_school_location_valid (location))
        return s_refuse (why, RB_EINVALID, prefix, "school_location",
                         "a school location is 4 of [0-9A-Z] then 2 digits (12AB00), not '%.8s'", location);
    snprintf (field, sizeof field, "%s.display_name", prefix);
    if (rb_text_check (p->display_name, RB_SCHOOL_NAME_MAX, field, why))
        return why->code;
    memset (pupil, 0, sizeof *pupil);
    pupil->version = S_VERSION;
    pupil->birth_date = p->birth_date;
    pupil->enrolled_on = enrolled_on;
    strcpy (pupil->citizen_number, p->citizen_number);
    strcpy (pupil->home_municipality, p->home_municipality);
    strcpy (pupil->school_location, location);
    snprintf (pupil->municipality_node, sizeof pupil->municipality_node, "%s", node);
    strcpy (pupil->local_id, p->local_id);
    strcpy (pupil->display_name, p->display_name);
    rb_refusal_t bad;
    if (rb_pseudonym_of (self->config->region, pupil->citizen_number, pupil->case_pseudonym, &bad))
        return s_prefixed (why, &bad, prefix);
    return RB_OK;
}

//  The local id is in the store. A pupil who left is enrolled anew from a
//  date after it left, as the same child; otherwise the same content is
//  *known (a repeat, also of the enrolment that ended) and other content
//  ALREADY_EXISTS.
static rb_err_t
s_pupil_again (rb_school_t *self, rb_txn_t *txn, const Regiebus__Pupil *p, const char *prefix,
               s_pupil_t *pupil, const s_pupil_t *stored, bool *known, rb_refusal_t *why)
{
    int32_t left_on;
    rb_err_t rc = s_left_get (self, txn, stored->local_id, &left_on, why);
    if (rc)
        return rc;
    if (left_on && pupil->enrolled_on > left_on)
        return streq (pupil->citizen_number, stored->citizen_number)? RB_OK:
               s_refuse (why, RB_EEXISTS, prefix, "local_id",
                         "local id '%s' was another child's: enrolled again, a pupil keeps its citizen number",
                         pupil->local_id);
    if (p->enrolled_on == 0)
        pupil->enrolled_on = stored->enrolled_on;   //  "today" then is the day recorded
    *known = memcmp (pupil, stored, sizeof *stored) == 0;
    if (*known)
        return RB_OK;
    if (left_on)
        return s_refuse (why, RB_EEXISTS, prefix, "local_id",
                         "pupil '%s' left on %d: enrol it again from a later date", pupil->local_id,
                         (int) left_on);
    return s_refuse (why, RB_EEXISTS, prefix, "local_id", "pupil '%s' is enrolled with other details",
                     pupil->local_id);
}

//  Is the pupil enrolled already? *known when the same local id holds the
//  same content; ALREADY_EXISTS when it holds other content or the citizen
//  number belongs to another local id.
static rb_err_t
s_pupil_known (rb_school_t *self, rb_txn_t *txn, const Regiebus__Pupil *p, const char *prefix,
               s_pupil_t *pupil, bool *known, rb_refusal_t *why)
{
    s_pupil_t stored;
    *known = false;
    rb_err_t rc = s_pupil_get (self, txn, pupil->local_id, &stored, why);
    if (rc == RB_OK)
        return s_pupil_again (self, txn, p, prefix, pupil, &stored, known, why);
    if (rc != RB_ENOTFOUND)
        return rc;
    rb_val_t found;
    rc = rb_txn_get (txn, self->cases, rb_val_str (pupil->case_pseudonym), &found);
    if (rc == RB_OK)
        return s_refuse (why, RB_EEXISTS, prefix, "citizen_number",
                         "this citizen number is enrolled under another local id, '%.*s'",
                         (int) (found.size < 64? found.size: 64), (const char *) found.data);
    if (rc != RB_ENOTFOUND)
        return rb_refuse (why, rc, "", "cannot read the case index");
    return RB_OK;
}

//  Write a new enrolment: the pupil, its fresh attendance state, its case
//  index, and no day it left (a pupil enrolled again starts afresh).
static rb_err_t
s_pupil_put (rb_school_t *self, rb_txn_t *txn, const s_pupil_t *pupil)
{
    rb_attendance_state_t state;
    rb_attendance_state_init (&state);
    rb_val_t id = rb_val_str (pupil->local_id);
    rb_err_t rc = rb_txn_put (txn, self->pupils, id, (rb_val_t) { pupil, sizeof *pupil });
    if (!rc)
        rc = s_state_put (self, txn, pupil->local_id, &state);
    if (!rc)
        rc = rb_txn_put (txn, self->cases, rb_val_str (pupil->case_pseudonym), id);
    if (!rc)
        rc = rb_txn_del (txn, self->left, id);
    return rc;
}

//  The enrolment as the home municipality knows it; ended_on 0 while the
//  pupil is here, else the day it left.
static rb_err_t
s_send_enrolment (rb_school_t *self, rb_txn_t *txn, const s_pupil_t *pupil, int32_t ended_on,
                  rb_refusal_t *why)
{
    Regiebus__Enrolment msg = REGIEBUS__ENROLMENT__INIT;
    msg.school_location = (char *) pupil->school_location;
    msg.enrolled_on = pupil->enrolled_on;
    msg.ended_on = ended_on;
    msg.contact = self->config->contact;
    return s_send (self, txn, pupil, REGIEBUS__EVENT_KIND__ENROLMENT, &msg.base, NULL, why);
}

rb_err_t
rb_school_enrol (rb_school_t *self, rb_txn_t *txn, const Regiebus__Pupil *p, const char *prefix,
                 rb_school_enrolled_t *out, rb_refusal_t *why)
{
    s_pupil_t pupil;
    bool known = false;
    memset (out, 0, sizeof *out);
    rb_err_t rc = s_pupil_check (self, p, prefix, &pupil, why);
    if (!rc)
        rc = s_pupil_known (self, txn, p, prefix, &pupil, &known, why);
    if (!rc && !known && (rc = s_pupil_put (self, txn, &pupil)))
        rb_refuse (why, rc, "", "cannot store pupil '%s'", pupil.local_id);
    if (!rc && !known)
        rc = s_send_enrolment (self, txn, &pupil, 0, why);
    if (rc)
        return rc;
    snprintf (out->case_pseudonym, sizeof out->case_pseudonym, "%s", pupil.case_pseudonym);
    snprintf (out->municipality_node, sizeof out->municipality_node, "%s", pupil.municipality_node);
    out->duplicate = known;
    if (!known)
        rb_log_info ("msg=\"enrolled\" local_id=%s case=%.12s municipality=%s", pupil.local_id,
                     pupil.case_pseudonym, pupil.municipality_node);
    return RB_OK;
}


// ---------------------------------------------------------------------------
//  Pupils leaving

//  The pupil the call names, the day it leaves (left_on 0: the day it
//  left before, else today) and *before, the day it left before (0 when
//  it is still enrolled), which only the same day may repeat.
static rb_err_t
s_unenrol_check (rb_school_t *self, rb_txn_t *txn, const Regiebus__UnenrolRequest *q,
                 const char *prefix, s_pupil_t *pupil, int32_t *left_on, int32_t *before,
                 rb_refusal_t *why)
{
    rb_err_t rc = s_pupil_named (self, txn, q->local_id, prefix, pupil, why);
    if (rc || (rc = s_left_get (self, txn, pupil->local_id, before, why)))
        return rc;
    int32_t today = rb_school_today (self);
    *left_on = q->left_on? q->left_on: *before? *before: today;
    if (!rb_calendar_date_valid (*left_on) || *left_on > today)
        return s_refuse (why, RB_EINVALID, prefix, "left_on", "%d is not a date (YYYYMMDD) up to today, %d",
                         (int) q->left_on, (int) today);
    if (*left_on < pupil->enrolled_on)
        return s_refuse (why, RB_EINVALID, prefix, "left_on", "%d is before enrolment on %d",
                         (int) *left_on, (int) pupil->enrolled_on);
    if (*before && *left_on != *before)
        return s_refuse (why, RB_EEXISTS, prefix, "left_on", "pupil '%s' left on %d", pupil->local_id,
                         (int) *before);
    return RB_OK;
}

rb_err_t
rb_school_unenrol (rb_school_t *self, rb_txn_t *txn, const Regiebus__UnenrolRequest *request,
                   const char *prefix, rb_school_unenrolled_t *out, rb_refusal_t *why)
{
    s_pupil_t pupil;
    int32_t left_on, before;
    memset (out, 0, sizeof *out);
    rb_err_t rc = s_unenrol_check (self, txn, request, prefix, &pupil, &left_on, &before, why);
    if (rc)
        return rc;
    snprintf (out->case_pseudonym, sizeof out->case_pseudonym, "%s", pupil.case_pseudonym);
    out->duplicate = before != 0;
    if (before)
        return RB_OK;
    rc = rb_txn_put (txn, self->left, rb_val_str (pupil.local_id), (rb_val_t) { &left_on, sizeof left_on });
    if (rc)
        return rb_refuse (why, rc, "", "cannot store that '%s' left", pupil.local_id);
    rc = s_send_enrolment (self, txn, &pupil, left_on, why);
    if (!rc)
        rb_log_info ("msg=\"left\" local_id=%s case=%.12s left_on=%d municipality=%s", pupil.local_id,
                     pupil.case_pseudonym, (int) left_on, pupil.municipality_node);
    return rc;
}


// ---------------------------------------------------------------------------
//  Signals

static rb_err_t
s_send_signal (rb_school_t *self, rb_txn_t *txn, const s_pupil_t *pupil,
               const rb_attendance_signal_t *signal, rb_refusal_t *why)
{
    Regiebus__AbsenceSignal msg = REGIEBUS__ABSENCE_SIGNAL__INIT;
    msg.signal = (Regiebus__AbsenceSignalKind) signal->kind;
    msg.episode = signal->episode;
    msg.date = signal->date;
    msg.episode_started = signal->episode_started;
    msg.reason = (Regiebus__AbsenceReason) signal->reason;
    msg.streak_days = signal->streak_days;
    msg.absent_minutes_4w = signal->absent_minutes_4w;
    msg.unexcused_minutes_4w = signal->counted_minutes_4w;
    msg.rate_permille_4w = signal->rate_permille_4w;
    msg.absences_today = signal->absences_today;
    msg.school_location = (char *) pupil->school_location;
    rb_log_info ("msg=\"signal\" local_id=%s case=%.12s signal=%s date=%d episode=%u",
                 pupil->local_id, pupil->case_pseudonym, rb_attendance_signal_name (signal->kind),
                 (int) signal->date, (unsigned) signal->episode);
    return s_send (self, txn, pupil, REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL, &msg.base, NULL, why);
}

//  Store the pupil's new state and send what the rules raised.
static rb_err_t
s_apply_result (rb_school_t *self, rb_txn_t *txn, const s_pupil_t *pupil,
                const rb_attendance_state_t *state, const rb_attendance_signal_t signal [],
                size_t signals, rb_refusal_t *why)
{
    rb_err_t rc = s_state_put (self, txn, pupil->local_id, state);
    if (rc)
        return rb_refuse (why, rc, "", "cannot store the attendance of '%s'", pupil->local_id);
    for (size_t i = 0; i < signals && !rc; i++)
        rc = s_send_signal (self, txn, pupil, &signal [i], why);
    return rc;
}


// ---------------------------------------------------------------------------
//  Attendance records

//  Was this key recorded before? With the same content *seen and out get
//  the first outcome; with other content IDEMPOTENCY_CONFLICT.
static rb_err_t
s_record_seen (rb_school_t *self, rb_txn_t *txn, const Regiebus__AttendanceRecord *r,
               const char *prefix, bool *seen, rb_school_recorded_t *out, rb_refusal_t *why)
{
    *seen = false;
    if (!*r->idempotency_key)
        return s_refuse (why, RB_EMISSING, prefix, "idempotency_key", "a record needs an idempotency key");
    if (strlen (r->idempotency_key) > RB_IDEM_KEY_MAX)
        return s_refuse (why, RB_ETOOLARGE, prefix, "idempotency_key",
                         "an idempotency key is at most %d bytes", RB_IDEM_KEY_MAX);
    rb_val_t found;
    rb_err_t rc = rb_txn_get (txn, self->records, rb_val_str (r->idempotency_key), &found);
    if (rc == RB_ENOTFOUND)
        return RB_OK;
    if (rc)
        return rb_refuse (why, rc, "", "cannot read idempotency keys");
    s_record_t stored;
    uint8_t hash [RB_WIRE_HASH_SIZE];
    if (found.size != sizeof stored)
        return s_damaged (why, "school_record", r->idempotency_key);
    memcpy (&stored, found.data, sizeof stored);
    if (stored.version != S_VERSION || stored.signals > RB_ATTENDANCE_SIGNALS_MAX)
        return s_damaged (why, "school_record", r->idempotency_key);
    if (!rb_wire_hash (&r->base, hash))
        return rb_refuse (why, RB_EINTERNAL, "", "out of memory");
    if (memcmp (hash, stored.hash, sizeof hash))
        return s_refuse (why, RB_ECONFLICT, prefix, "idempotency_key",
                         "key '%.64s' was used for another record", r->idempotency_key);
    *seen = true;
    out->duplicate = true;
    out->signals = stored.signals;
    for (size_t i = 0; i < stored.signals; i++)
        out->signal [i] = (rb_signal_kind_t) stored.signal [i];
    return RB_OK;
}

//  The record checked against its pupil and today, as the rules take it.
static rb_err_t
s_record_check (rb_school_t *self, rb_txn_t *txn, const Regiebus__AttendanceRecord *r,
                const char *prefix, s_pupil_t *pupil, rb_attendance_record_t *record,
                rb_refusal_t *why)
{
    int32_t left_on;
    rb_err_t rc = s_pupil_named (self, txn, r->local_id, prefix, pupil, why);
    if (rc || (rc = s_left_get (self, txn, pupil->local_id, &left_on, why)))
        return rc;
    int32_t today = rb_school_today (self);
    if (!rb_calendar_date_valid (r->date))
        return s_refuse (why, RB_EINVALID, prefix, "date", "%d is not a date (YYYYMMDD)", (int) r->date);
    if (r->date > today)
        return s_refuse (why, RB_EINVALID, prefix, "date", "%d is in the future (today is %d)",
                         (int) r->date, (int) today);
    if (r->date < pupil->enrolled_on)
        return s_refuse (why, RB_EINVALID, prefix, "date", "%d is before enrolment on %d",
                         (int) r->date, (int) pupil->enrolled_on);
    if (left_on && r->date > left_on)
        return s_refuse (why, RB_EINVALID, prefix, "date", "%d is after the pupil left on %d",
                         (int) r->date, (int) left_on);
    if ((uint32_t) r->reason > RB_ABSENCE_REASON_MAX)
        return s_refuse (why, RB_EINVALID, prefix, "reason", "%d is not a known absence reason (1..%d)",
                         (int) r->reason, RB_ABSENCE_REASON_MAX);
    if (r->minutes > UINT16_MAX || r->lessons > UINT16_MAX)
        return s_refuse (why, RB_EINVALID, prefix, r->minutes > UINT16_MAX? "minutes": "lessons",
                         "more than a school day holds");
    *record = (rb_attendance_record_t) {
        .date = r->date, .minutes = (uint16_t) r->minutes, .lessons = (uint16_t) r->lessons,
        .present = r->present, .reason = (uint8_t) r->reason
    };
    return RB_OK;
}

//  Keep the record under its key with the signals it raised.
static rb_err_t
s_record_put (rb_school_t *self, rb_txn_t *txn, const Regiebus__AttendanceRecord *r,
              const rb_school_recorded_t *out, rb_refusal_t *why)
{
    s_record_t record;
    memset (&record, 0, sizeof record);
    record.version = S_VERSION;
    if (!rb_wire_hash (&r->base, record.hash))
        return rb_refuse (why, RB_EINTERNAL, "", "out of memory");
    record.signals = (uint8_t) out->signals;
    for (size_t i = 0; i < out->signals; i++)
        record.signal [i] = (uint8_t) out->signal [i];
    rb_err_t rc = rb_txn_put (txn, self->records, rb_val_str (r->idempotency_key),
                              (rb_val_t) { &record, sizeof record });
    if (rc)
        rb_refuse (why, rc, "", "cannot store idempotency key '%.64s'", r->idempotency_key);
    return rc;
}

rb_err_t
rb_school_record (rb_school_t *self, rb_txn_t *txn, const Regiebus__AttendanceRecord *r,
                  const char *prefix, rb_school_recorded_t *out, rb_refusal_t *why)
{
    memset (out, 0, sizeof *out);
    bool seen;
    rb_err_t rc = s_record_seen (self, txn, r, prefix, &seen, out, why);
    if (rc || seen)
        return rc;
    s_pupil_t pupil;
    rb_attendance_record_t record;
    rb_attendance_state_t state;
    if ((rc = s_record_check (self, txn, r, prefix, &pupil, &record, why))
    ||  (rc = s_state_get (self, txn, pupil.local_id, &state, why)))
        return rc;
    rb_attendance_signal_t signal [RB_ATTENDANCE_SIGNALS_MAX];
    rb_refusal_t bad;
    if (rb_attendance_apply (&state, &self->config->rules, self->config->calendar, &record,
                             signal, RB_ATTENDANCE_SIGNALS_MAX, &out->signals, &bad))
        return s_prefixed (why, &bad, prefix);
    for (size_t i = 0; i < out->signals; i++)
        out->signal [i] = signal [i].kind;
    rc = s_apply_result (self, txn, &pupil, &state, signal, out->signals, why);
    if (!rc)
        rc = s_record_put (self, txn, r, out, why);
    return rc;
}


// ---------------------------------------------------------------------------
//  Closing a day

static int
s_collect_id (rb_val_t key, rb_val_t value, void *arg)
{
    (void) value;
    char *id = key.size <= RB_SCHOOL_LOCAL_ID_MAX? strndup (key.data, key.size): NULL;
    if (!id || !zlistx_add_end (arg, id)) {
        free (id);
        return RB_EINTERNAL;
    }
    return 0;
}

//  Count one pupil present on date unless the day is known already, or
//  the pupil was not here that day (not yet enrolled, or left before).
static rb_err_t
s_close_pupil (rb_school_t *self, rb_txn_t *txn, const char *local_id, int32_t date,
               rb_school_closed_t *out, rb_refusal_t *why)
{
    s_pupil_t pupil;
    rb_attendance_state_t state;
    int32_t left_on = 0;
    rb_err_t rc = s_pupil_get (self, txn, local_id, &pupil, why);
    if (rc == RB_ENOTFOUND)
        return s_damaged (why, "school_pupil", local_id);
    if (!rc)
        rc = s_left_get (self, txn, local_id, &left_on, why);
    if (rc || pupil.enrolled_on > date || (left_on && left_on < date))
        return rc;
    if ((rc = s_state_get (self, txn, local_id, &state, why)))
        return rc;
    if (state.last_date >= date)
        return RB_OK;                   //  a record or an earlier close made it known
    rb_attendance_signal_t signal [RB_ATTENDANCE_SIGNALS_MAX];
    size_t signals = 0;
    rb_refusal_t bad;
    if (rb_attendance_close_day (&state, &self->config->rules, self->config->calendar, date,
                                 signal, RB_ATTENDANCE_SIGNALS_MAX, &signals, &bad))
        return rb_refuse (why, RB_EINTERNAL, "", "closing %d for '%s': %s: %s", (int) date,
                          local_id, bad.field, bad.message);
    out->pupils++;
    out->signals += (uint32_t) signals;
    return s_apply_result (self, txn, &pupil, &state, signal, signals, why);
}

//  The latest day closed, 0 before the first.
static rb_err_t
s_closed_get (rb_school_t *self, rb_txn_t *txn, int32_t *closed, rb_refusal_t *why)
{
    return s_date_get (txn, self->meta, "school_meta", "closed", closed, why);
}

static rb_err_t
s_closed_put (rb_school_t *self, rb_txn_t *txn, int32_t date, rb_refusal_t *why)
{
    int32_t closed;
    rb_err_t rc = s_closed_get (self, txn, &closed, why);
    if (rc || closed >= date)
        return rc;
    rc = rb_txn_put (txn, self->meta, rb_val_str ("closed"), (rb_val_t) { &date, sizeof date });
    return rc? rb_refuse (why, rc, "", "cannot write school_meta"): RB_OK;
}

rb_err_t
rb_school_close_day (rb_school_t *self, rb_txn_t *txn, int32_t date, rb_school_closed_t *out,
                     rb_refusal_t *why)
{
    memset (out, 0, sizeof *out);
    int32_t today = rb_school_today (self);
    if (!rb_calendar_date_valid (date))
        return rb_refuse (why, RB_EINVALID, "date", "%d is not a date (YYYYMMDD)", (int) date);
    if (date > today)
        return rb_refuse (why, RB_EINVALID, "date", "%d is in the future (today is %d)",
                          (int) date, (int) today);
    if (!rb_calendar_is_school_day (self->config->calendar, date))
        return rb_refuse (why, RB_EINVALID, "date", "%d is not a school day", (int) date);
    zlistx_t *ids = zlistx_new ();
    if (!ids)
        return rb_refuse (why, RB_EINTERNAL, "", "out of memory");
    zlistx_set_destructor (ids, (zlistx_destructor_fn *) zstr_free);
    rb_err_t rc = rb_txn_scan (txn, self->pupils, (rb_val_t) { NULL, 0 }, (rb_val_t) { NULL, 0 },
                               s_collect_id, ids);
    if (rc)
        rb_refuse (why, rc, "", "cannot list the pupils");
    for (char *id = zlistx_first (ids); id && !rc; id = zlistx_next (ids))
        rc = s_close_pupil (self, txn, id, date, out, why);
    zlistx_destroy (&ids);
    if (!rc)
        rc = s_closed_put (self, txn, date, why);
    if (!rc)
        rb_log_info ("msg=\"day closed\" date=%d present=%u signals=%u", (int) date,
                     (unsigned) out->pupils, (unsigned) out->signals);
    return rc;
}

rb_err_t
rb_school_close_due (rb_school_t *self, rb_txn_t *txn, int32_t *date, rb_school_closed_t *out,
                     rb_refusal_t *why)
{
    *date = 0;
    memset (out, 0, sizeof *out);
    int32_t today = rb_school_today (self);
    if (self->config->close_minute == RB_SCHOOL_NEVER
    ||  s_minute_of_day (self) < self->config->close_minute
    ||  !rb_calendar_is_school_day (self->config->calendar, today))
        return RB_OK;
    int32_t closed;
    rb_err_t rc = s_closed_get (self, txn, &closed, why);
    if (rc || closed >= today)
        return rc;
    rc = rb_school_close_day (self, txn, today, out, why);
    if (!rc)
        *date = today;
    return rc;
}


// ---------------------------------------------------------------------------
//  Labels

bool
rb_school_label (rb_school_t *self, rb_txn_t *txn, const char *case_pseudonym, char *label,
                 size_t size)
{
    s_pupil_t pupil;
    rb_refusal_t why;
    if (size == 0)
        return false;
    *label = 0;
    if (s_pupil_of_case (self, txn, case_pseudonym, &pupil, &why))
        return false;
    const char *name = *pupil.display_name? pupil.display_name: pupil.local_id;
    size_t len = strlen (name);
    if (len >= size) {
        //  Cut at a character boundary, never inside a UTF-8 sequence.
        len = size - 1;
        while (len > 0 && ((unsigned char) name [len] & 0xC0) == 0x80)
            len--;
    }
    memcpy (label, name, len);
    label [len] = 0;
    return true;
}


// ---------------------------------------------------------------------------
//  Plans

rb_err_t
rb_school_plan_command (rb_school_t *self, rb_txn_t *txn, const Regiebus__PlanCommandRequest *q,
                        rb_school_plan_sent_t *out, rb_refusal_t *why)
{
    rb_plan_command_t *cmd = malloc (sizeof *cmd);
    if (!cmd)
        return rb_refuse (why, RB_EINTERNAL, NULL, "out of memory");
    s_pupil_t pupil;
    rb_err_t rc = rb_plan_command_check (q, rb_node_name (self->node), rb_school_today (self), cmd, why);
    free (cmd);
    if (!rc)
        rc = s_pupil_of_case (self, txn, q->case_pseudonym, &pupil, why);
    if (rc == RB_ENOTFOUND && !*why->field)
        rc = rb_refuse (why, RB_ENOTFOUND, "case_pseudonym", "case %.12s... is no pupil's of this school",
                        q->case_pseudonym);
    if (!rc)
        rc = s_send (self, txn, &pupil, REGIEBUS__EVENT_KIND__PLAN_COMMAND, &q->command->base,
                     out->event_id, why);
    if (!rc) {
        snprintf (out->municipality_node, sizeof out->municipality_node, "%s", pupil.municipality_node);
        rb_log_info ("msg=\"plan command sent\" local_id=%s case=%.12s municipality=%s",
                     pupil.local_id, pupil.case_pseudonym, pupil.municipality_node);
    }
    return rc;
}
