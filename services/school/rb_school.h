/*  rb_school: a school's pupils, their attendance and the signals it raises.
 *
 *  The school daemon's store and the rules around rb_attendance. A pupil
 *  is enrolled under the school system's local id; the citizen number,
 *  birth date and name stay in this node's store, and only the case
 *  pseudonym, codes, dates and counts go to the pupil's home
 *  municipality. A pupil who leaves keeps its record (notifications about
 *  its case still name it) with the day it left, after which it has no
 *  attendance here; it may be enrolled again from a later day. Each attendance record is kept under its idempotency key,
 *  so that a repeat changes nothing, and applied to the pupil's
 *  rb_attendance_state_t; every signal the rules raise becomes an
 *  ABSENCE_SIGNAL event.
 *
 *  Every operation works inside the caller's transaction (the child of the
 *  node's group commit that a call or a tick runs in) and sends through
 *  rb_node_emit in that same transaction: what is recorded and what is
 *  sent about it commit together or not at all. A refusal names the field
 *  by its path in the call ("records[2].date"); the caller then drops the
 *  transaction, so nothing of a refused request remains.
 *
 *  Tables (opened by rb_school_new):
 *    "school_pupil"   local_id -> the pupil as enrolled, with its case
 *                     pseudonym and municipality node
 *    "school_state"   local_id -> its rb_attendance_state_t, as bytes
 *    "school_case"    case pseudonym -> local_id
 *    "school_record"  idempotency key -> the record as accepted and the
 *                     signals it raised
 *    "school_meta"    "closed" -> the latest school day closed (int32)
 *    "school_left"    local_id -> the day the pupil left (int32), only
 *                     for a pupil who left; the pupil record keeps its
 *                     layout
 */
#ifndef RB_SCHOOL_H
#define RB_SCHOOL_H

#include "rb_node.h"
#include "rb_school_config.h"

#define RB_SCHOOL_LOCAL_ID_MAX 64       //  longest local pupil id
#define RB_SCHOOL_NAME_MAX RB_TEXT_MAX  //  longest display name, in bytes

typedef struct _rb_school_t rb_school_t;

//  Open the school's tables on node and take over its configuration
//  (*config_p is nulled, also on failure). NULL and a refusal on failure.
rb_school_t *rb_school_new (rb_node_t *node, rb_school_config_t **config_p, rb_refusal_t *why);

//  Free everything and null the caller's pointer. Idempotent.
void rb_school_destroy (rb_school_t **self_p);

//  Today in the node's time zone, by the node's clock: YYYYMMDD.
int32_t rb_school_today (rb_school_t *self);

//  What enrolling one pupil gave.
typedef struct {
    char case_pseudonym [65];           //  the regional case name
    char municipality_node [RB_NAME_MAX + 1];   //  where the case lives
    bool duplicate;                     //  enrolled before with this content
} rb_school_enrolled_t;

//  Enrol one pupil, checked in full first: local_id, citizen_number,
//  birth_date, home_municipality (NOT_FOUND when not a home of this
//  school), school_location (empty: the school's), enrolled_on (0: today),
//  display_name. The same local id with the same content is a duplicate
//  and sends nothing (enrolled_on 0 matches the date recorded); other
//  content, or the same citizen number under another local id, is
//  ALREADY_EXISTS. A pupil who left is enrolled anew when enrolled_on is
//  after the day it left and the citizen number is the same: a fresh
//  attendance state, as a new pupil. A new enrolment sends ENROLMENT to
//  the home municipality. prefix names the pupil in refusals ("pupils[2]").
rb_err_t rb_school_enrol (rb_school_t *self, rb_txn_t *txn, const Regiebus__Pupil *pupil,
                          const char *prefix, rb_school_enrolled_t *out, rb_refusal_t *why);

//  What a pupil leaving gave.
typedef struct {
    char case_pseudonym [65];           //  the pupil's case
    bool duplicate;                     //  it had left on that day before: nothing changed
} rb_school_unenrolled_t;

//  The pupil local_id leaves on left_on (0: today; a date up to today and
//  not before its enrolment, else INVALID_FIELD "left_on"): ENROLMENT with
//  ended_on = left_on goes to its home municipality, and from then on its
//  records after left_on are refused and closing a day passes it by. The
//  pupil's record stays. Leaving again on the same day (or 0) is a
//  duplicate and sends nothing; on another day ALREADY_EXISTS "left_on".
//  An unknown pupil is NOT_FOUND "local_id". prefix names the call in
//  refusals ("unenrol").
rb_err_t rb_school_unenrol (rb_school_t *self, rb_txn_t *txn, const Regiebus__UnenrolRequest *request,
                            const char *prefix, rb_school_unenrolled_t *out, rb_refusal_t *why);

//  What recording one attendance record gave.
typedef struct {
    bool duplicate;                     //  this key was recorded before: nothing changed
    size_t signals;                     //  signals raised and sent
    rb_signal_kind_t signal [RB_ATTENDANCE_SIGNALS_MAX];
} rb_school_recorded_t;

//  Record one attendance record. A key seen before with the same content
//  gives the first outcome again with duplicate set; with other content
//  it is IDEMPOTENCY_CONFLICT. Otherwise the pupil must be enrolled
//  (NOT_FOUND "local_id"), the date a school day neither in the future,
//  before enrolment nor after the day the pupil left, the reason known; the rules' own refusals come with
//  the field prefixed. Each signal raised goes to the pupil's home
//  municipality as ABSENCE_SIGNAL.
rb_err_t rb_school_record (rb_school_t *self, rb_txn_t *txn,
                           const Regiebus__AttendanceRecord *record, const char *prefix,
                           rb_school_recorded_t *out, rb_refusal_t *why);

//  What closing a day gave.
typedef struct {
    uint32_t pupils;                    //  pupils counted present
    uint32_t signals;                   //  EPISODE_CLOSED signals sent
} rb_school_closed_t;

//  Close the school day date (a school day, not in the future; refusals
//  name "date"): every pupil enrolled by then and not left before, without
//  a record that day, counts as present, and the episodes that ends are
//  closed.
rb_err_t rb_school_close_day (rb_school_t *self, rb_txn_t *txn, int32_t date,
                              rb_school_closed_t *out, rb_refusal_t *why);

//  The close the clock asks for: once the local time has passed
//  school/close_day_at on a school day not closed yet, close today and
//  set *date to it; otherwise do nothing and set *date to 0.
rb_err_t rb_school_close_due (rb_school_t *self, rb_txn_t *txn, int32_t *date,
                              rb_school_closed_t *out, rb_refusal_t *why);

//  What a plan command sent.
typedef struct {
    uint8_t event_id [16];              //  the PLAN_COMMAND event
    char municipality_node [RB_NAME_MAX + 1];   //  where it went
} rb_school_plan_sent_t;

//  A plan command of one of this school's actors on a pupil's case: its
//  shape checked (rb_plan_command_check: "case_pseudonym", "command...",
//  "command.actor.node" PERMISSION_DENIED for another node's actor), the
//  case one of this school's pupils' (NOT_FOUND "case_pseudonym"), then
//  sent as PLAN_COMMAND to the pupil's home municipality, which applies it
//  and answers a refusal with a notification.
rb_err_t rb_school_plan_command (rb_school_t *self, rb_txn_t *txn,
                                 const Regiebus__PlanCommandRequest *q, rb_school_plan_sent_t *out,
                                 rb_refusal_t *why);

//  This school's name for a case's child: the display name, or the local
//  id when there is none, cut to fit size at a character boundary. False
//  when the case is not one of this school's pupils.
bool rb_school_label (rb_school_t *self, rb_txn_t *txn, const char *case_pseudonym,
                      char *label, size_t size);

#endif
