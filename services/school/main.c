/*  regiebus-school: the school's node.
 *
 *  The runtime (rb_node) plus the school's own calls and rules. The
 *  school's administration system enrols pupils, sends attendance records
 *  and says when a pupil leaves (enrol, record_attendance, close_day and
 *  unenrol in agency.proto); the
 *  rules (rb_attendance) detect first absences, streaks, the legal
 *  threshold and high absence rates, and every signal goes to the pupil's
 *  home municipality as an ABSENCE_SIGNAL event, committed with the record
 *  that raised it. The daemon closes each school day by itself at
 *  school/close_day_at. Notifications that come back are kept by the
 *  runtime and listed under the pupil's name from this node's records;
 *  every other kind of event is refused.
 *
 *  This file is the daemon's story: set up on the shared main(), take a
 *  call, check the size of the request, let rb_school do each pupil or
 *  record in the call's transaction, answer, count.
 *
 *  Usage: regiebus-school -c CONFIG [--set section/key=value ...]
 */
#include "rb_daemon.h"
#include "rb_school.h"
#include <stddef.h>
#include <time.h>

#define S_TICK_MS 1000                  //  how often to see whether a day is due to close

typedef struct {
    rb_school_t *school;                //  pupils, attendance, signals
    size_t max_batch;                   //  limits/max_batch_events: most pupils or records per call
} s_daemon_t;


// ---------------------------------------------------------------------------
//  Counters

static void
s_count_signal (rb_node_t *node, rb_signal_kind_t kind, uint64_t count)
{
    char name [48];
    snprintf (name, sizeof name, "school_signal_%s", rb_attendance_signal_name (kind));
    rb_node_count (node, name, count);
    rb_node_count (node, "school_signals_sent", count);
}

static void
s_count_closed (rb_node_t *node, const rb_school_closed_t *closed)
{
    rb_node_count (node, "school_days_closed", 1);
    rb_node_count (node, "school_pupils_closed_present", closed->pupils);
    if (closed->signals)
        s_count_signal (node, RB_SIGNAL_EPISODE_CLOSED, closed->signals);
}


// ---------------------------------------------------------------------------
//  Calls

//  A call of many items (pupils, records): each item's outcome, which
//  holds its reply result at result_offset, and the reply's list of those
//  results, in request order.
typedef struct {
    char *items;                        //  count outcomes of the call's own type
    void **results;                     //  the result inside each outcome
    size_t count;
} s_batch_t;

//  Do item i of request in txn, naming it prefix in refusals, and fill
//  its outcome.
typedef rb_err_t (s_item_fn) (s_daemon_t *self, rb_txn_t *txn, const void *request, size_t i,
                              const char *prefix, void *outcome, rb_refusal_t *why);

static void
s_batch_free (s_batch_t *batch)
{
    free (batch->items);
    free (batch->results);
    memset (batch, 0, sizeof *batch);
}

//  Every item in turn, all or nothing: the first refusal ends the call.
static rb_err_t
s_batch_run (s_daemon_t *self, rb_txn_t *txn, const char *name, const void *request, size_t count,
             size_t size, size_t result_offset, s_item_fn *fn, s_batch_t *batch, rb_refusal_t *why)
{
    memset (batch, 0, sizeof *batch);
    if (count == 0)
        return rb_refuse (why, RB_EMISSING, name, "%s is empty", name);
    if (count > self->max_batch)
        return rb_refuse (why, RB_ETOOLARGE, name, "%zu %s, more than limits/max_batch_events (%zu)",
                          count, name, self->max_batch);
    batch->items = calloc (count, size);
    batch->results = calloc (count, sizeof *batch->results);
    batch->count = count;
    rb_err_t rc = batch->items && batch->results? RB_OK: rb_refuse (why, RB_EINTERNAL, "", "out of memory");
    for (size_t i = 0; i < count && !rc; i++) {
        char prefix [32];
        snprintf (prefix, sizeof prefix, "%s[%zu]", name, i);
        rc = fn (self, txn, request, i, prefix, batch->items + i * size, why);
        batch->results [i] = batch->items + i * size + result_offset;
    }
    if (rc)
        s_batch_free (batch);
    return rc;
}

//  One pupil's outcome and its place in the reply.
typedef struct {
    rb_school_enrolled_t out;
    Regiebus__EnrolResult result;
} s_enrolled_t;

static rb_err_t
s_enrol_one (s_daemon_t *self, rb_txn_t *txn, const void *request, size_t i, const char *prefix,
             void *outcome, rb_refusal_t *why)
{
    const Regiebus__EnrolRequest *q = request;
    s_enrolled_t *done = outcome;
    rb_err_t rc = rb_school_enrol (self->school, txn, q->pupils [i], prefix, &done->out, why);
    regiebus__enrol_result__init (&done->result);
    done->result.case_pseudonym = done->out.case_pseudonym;
    done->result.municipality_node = done->out.municipality_node;
    done->result.duplicate = done->out.duplicate;
    return rc;
}

static rb_err_t
s_enrol (s_daemon_t *self, rb_node_t *node, rb_call_t *call, rb_txn_t *txn,
         const Regiebus__EnrolRequest *q, rb_refusal_t *why)
{
    s_batch_t batch;
    rb_err_t rc = s_batch_run (self, txn, "pupils", q, q->n_pupils, sizeof (s_enrolled_t),
                               offsetof (s_enrolled_t, result), s_enrol_one, &batch, why);
    if (rc)
        return rc;
    Regiebus__EnrolReply result = REGIEBUS__ENROL_REPLY__INIT;
    result.n_results = batch.count;
    result.results = (Regiebus__EnrolResult **) batch.results;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_ENROL;
    reply.enrol = &result;
    rc = rb_call_reply (call, &reply);
    const s_enrolled_t *done = (const s_enrolled_t *) batch.items;
    for (size_t i = 0; i < batch.count && !rc; i++)
        rb_node_count (node, "school_pupils", !done [i].out.duplicate);
    s_batch_free (&batch);
    return rc;
}

//  One record's outcome and its place in the reply.
typedef struct {
    rb_school_recorded_t out;
    Regiebus__AttendanceResult result;
    Regiebus__AbsenceSignalKind kinds [RB_ATTENDANCE_SIGNALS_MAX];
} s_recorded_t;

static rb_err_t
s_record_one (s_daemon_t *self, rb_txn_t *txn, const void *request, size_t i, const char *prefix,
              void *outcome, rb_refusal_t *why)
{
    const Regiebus__RecordAttendanceRequest *q = request;
    s_recorded_t *done = outcome;
    rb_err_t rc = rb_school_record (self->school, txn, q->records [i], prefix, &done->out, why);
    regiebus__attendance_result__init (&done->result);
    done->result.duplicate = done->out.duplicate;
    for (size_t k = 0; k < done->out.signals; k++)
        done->kinds [k] = (Regiebus__AbsenceSignalKind) done->out.signal [k];
    done->result.n_signals = done->out.signals;
    done->result.signals = done->kinds;
    return rc;
}

static void
s_count_records (rb_node_t *node, const s_recorded_t *done, size_t count)
{
    uint64_t duplicates = 0;
    for (size_t i = 0; i < count; i++) {
        duplicates += done [i].out.duplicate;
        for (size_t k = 0; k < done [i].out.signals && !done [i].out.duplicate; k++)
            s_count_signal (node, done [i].out.signal [k], 1);
    }
    rb_node_count (node, "school_records_accepted", count - duplicates);
    rb_node_count (node, "school_records_duplicate", duplicates);
}

static rb_err_t
s_record_attendance (s_daemon_t *self, rb_node_t *node, rb_call_t *call, rb_txn_t *txn,
                     const Regiebus__RecordAttendanceRequest *q, rb_refusal_t *why)
{
    s_batch_t batch;
    rb_err_t rc = s_batch_run (self, txn, "records", q, q->n_records, sizeof (s_recorded_t),
                               offsetof (s_recorded_t, result), s_record_one, &batch, why);
    if (rc)
        return rc;
    Regiebus__RecordAttendanceReply result = REGIEBUS__RECORD_ATTENDANCE_REPLY__INIT;
    result.n_results = batch.count;
    result.results = (Regiebus__AttendanceResult **) batch.results;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_RECORD_ATTENDANCE;
    reply.record_attendance = &result;
    rc = rb_call_reply (call, &reply);
    if (!rc)
        s_count_records (node, (const s_recorded_t *) batch.items, batch.count);
    s_batch_free (&batch);
    return rc;
}

static rb_err_t
s_close_day (s_daemon_t *self, rb_node_t *node, rb_call_t *call, rb_txn_t *txn,
             const Regiebus__CloseDayRequest *q, rb_refusal_t *why)
{
    rb_school_closed_t closed;
    rb_err_t rc = rb_school_close_day (self->school, txn, q->date, &closed, why);
    if (rc && streq (why->field, "date"))
        snprintf (why->field, sizeof why->field, "close_day.date");
    if (rc)
        return rc;
    Regiebus__CloseDayReply result = REGIEBUS__CLOSE_DAY_REPLY__INIT;
    result.pupils = closed.pupils;
    result.signals = closed.signals;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_CLOSE_DAY;
    reply.close_day = &result;
    rc = rb_call_reply (call, &reply);
    if (!rc)
        s_count_closed (node, &closed);
    return rc;
}

static rb_err_t
s_unenrol (s_daemon_t *self, rb_node_t *node, rb_call_t *call, rb_txn_t *txn,
           const Regiebus__UnenrolRequest *q, rb_refusal_t *why)
{
    rb_school_unenrolled_t out;
    rb_err_t rc = rb_school_unenrol (self->school, txn, q, "unenrol", &out, why);
    if (rc)
        return rc;
    Regiebus__UnenrolReply result = REGIEBUS__UNENROL_REPLY__INIT;
    result.case_pseudonym = out.case_pseudonym;
    result.duplicate = out.duplicate;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_UNENROL;
    reply.unenrol = &result;
    rc = rb_call_reply (call, &reply);
    if (!rc)
        rb_node_count (node, "school_pupils_left", !out.duplicate);
    return rc;
}

static rb_err_t
s_plan_command (s_daemon_t *self, rb_node_t *node, rb_call_t *call, rb_txn_t *txn,
                const Regiebus__PlanCommandRequest *q, rb_refusal_t *why)
{
    rb_school_plan_sent_t out;
    rb_err_t rc = rb_school_plan_command (self->school, txn, q, &out, why);
    if (rc)
        return rc;
    Regiebus__PlanCommandReply result = REGIEBUS__PLAN_COMMAND_REPLY__INIT;
    result.case_pseudonym = q->case_pseudonym;
    result.event_id.data = out.event_id;
    result.event_id.len = sizeof out.event_id;
    result.municipality_node = out.municipality_node;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.result_case = REGIEBUS__API_REPLY__RESULT_PLAN_COMMAND;
    reply.plan_command = &result;
    rc = rb_call_reply (call, &reply);
    if (!rc)
        rb_node_count (node, "school_plan_commands_sent", 1);
    return rc;
}

static rb_err_t
s_call (rb_node_t *node, rb_call_t *call, rb_txn_t *txn, const Regiebus__ApiRequest *request,
        void *arg, rb_refusal_t *why)
{
    s_daemon_t *self = arg;
    switch (request->call_case) {
        case REGIEBUS__API_REQUEST__CALL_ENROL:
            return s_enrol (self, node, call, txn, request->enrol, why);
        case REGIEBUS__API_REQUEST__CALL_RECORD_ATTENDANCE:
            return s_record_attendance (self, node, call, txn, request->record_attendance, why);
        case REGIEBUS__API_REQUEST__CALL_CLOSE_DAY:
            return s_close_day (self, node, call, txn, request->close_day, why);
        case REGIEBUS__API_REQUEST__CALL_UNENROL:
            return s_unenrol (self, node, call, txn, request->unenrol, why);
        case REGIEBUS__API_REQUEST__CALL_PLAN_COMMAND:
            return s_plan_command (self, node, call, txn, request->plan_command, why);
        default:
            return rb_refuse (why, RB_EPRECONDITION, "call", "a school node does not take this call");
    }
}


// ---------------------------------------------------------------------------
//  Events, time and names

static rb_err_t
s_tick (rb_node_t *node, rb_txn_t *txn, void *arg, rb_refusal_t *why)
{
    s_daemon_t *self = arg;
    int32_t date;
    rb_school_closed_t closed;
    rb_err_t rc = rb_school_close_due (self->school, txn, &date, &closed, why);
    if (!rc && date)
        s_count_closed (node, &closed);
    return rc;
}

//  Notifications at the school name the pupil; a case that is not one of
//  this school's pupils is still shown, unnamed.
static bool
s_label (rb_txn_t *txn, const char *case_pseudonym, const char *account, char *label,
         size_t size, void *arg)
{
    (void) account;
    s_daemon_t *self = arg;
    if (!rb_school_label (self->school, txn, case_pseudonym, label, size) && size)
        *label = 0;
    return true;
}


// ---------------------------------------------------------------------------
//  Life

static void
s_teardown (void **state_p)
{
    s_daemon_t *self = *state_p;
    if (self) {
        rb_school_destroy (&self->school);
        free (self);
        *state_p = NULL;
    }
}

static rb_err_t
s_setup (rb_node_t *node, const rb_config_t *config, void **state_p, rb_refusal_t *why)
{
    tzset ();                           //  dates are the node's local dates (TZ)
    rb_school_config_t *settings = rb_school_config_new (config, why);
    if (!settings)
        return why->code;
    s_daemon_t *self = calloc (1, sizeof *self);
    if (!self) {
        rb_school_config_destroy (&settings);
        return rb_refuse (why, RB_EINTERNAL, "", "out of memory");
    }
    *state_p = self;
    self->max_batch = config->max_batch_events;
    if (!(self->school = rb_school_new (node, &settings, why)))
        return why->code;
    rb_node_set_call_handler (node, s_call, self);
    rb_node_set_tick (node, S_TICK_MS, s_tick, self);
    rb_node_set_label (node, s_label, self);
    return RB_OK;
}

int
main (int argc, char *argv [])
{
    return rb_daemon_main (argc, argv, "regiebus-school", "school", s_setup, s_teardown);
}
