/*  rb_plan: the municipality's plan register, the agreements on a case.
 *
 *  A plan is what the actors on a case agreed to do: an OPP, a care plan,
 *  an action plan or another plan, owned by one actor that holds a role on
 *  the case, reviewed every so many days, with dated milestones. Plans
 *  that nobody watches are where cases go quiet, so the register keeps
 *  what the daemon needs to watch them: for each open milestone its date,
 *  and the plan's next review-due date (rb_plan_due_t), which the daemon
 *  turns into durable timers; and whether a plan is stalled on a given
 *  day (rb_plan_stalled) with a count of its recorded stalls, which the
 *  escalation ladder reads (a plan that stalls twice escalates early).
 *
 *  Every call that changes a plan says what changed (rb_plan_change_t,
 *  with the plan's due dates after the change) for the daemon to notify to
 *  all regie holders of the case and to set or drop its timers.
 *
 *  The module is pure LMDB logic inside the caller's transaction, next to
 *  the regie register (rb_regie) it asks whether a case exists and who
 *  holds a role on it: no sockets, no clock (the caller passes today as a
 *  YYYYMMDD date in the node's time zone). A call validates everything it
 *  was given and checks every precondition before it writes, so a refusal
 *  leaves no trace. A storage error (RB_ESTORE, RB_EFULL) may come after
 *  some writes: the caller then destroys its (child) transaction.
 *
 *  Table: "plan" (pseudonym + plan id -> plan record); see rb_plan.c.
 */
#ifndef RB_PLAN_H
#define RB_PLAN_H

#include "rb_regie.h"

//  Most milestones one plan holds, completed ones included.
#define RB_PLAN_MILESTONES_MAX 32

//  Longest milestone label, in bytes.
#define RB_PLAN_LABEL_MAX 64

//  Longest review interval, in days.
#define RB_PLAN_INTERVAL_MAX 365

//  Most plans one case may have, closed ones included.
#define RB_PLAN_MAX_PER_CASE 64

//  Room rb_plan_stalled needs in its out[] array: every milestone and the
//  review.
#define RB_PLAN_STALLS_MAX (RB_PLAN_MILESTONES_MAX + 1)

//  What kind of plan. The wire will carry the same numbers.
typedef enum {
    RB_PLAN_TYPE_UNSPECIFIED = 0,
    RB_PLAN_TYPE_OPP = 1,               //  ontwikkelingsperspectiefplan (school)
    RB_PLAN_TYPE_CARE = 2,              //  care plan (youth care)
    RB_PLAN_TYPE_ACTION = 3,            //  action plan (the actors together)
    RB_PLAN_TYPE_OTHER = 4              //  anything else agreed
} rb_plan_type_t;

#define RB_PLAN_TYPE_MAX 4

//  A milestone as a caller gives it: a label (rb_text rules, 1..64 bytes)
//  and a date YYYYMMDD not before the plan's creation.
typedef struct {
    const char *label;                  //  short code or label
    int32_t date;                       //  when it is due
} rb_plan_step_t;

//  A milestone as the register keeps it.
typedef struct {
    unsigned number;                    //  1, 2, 3... in the plan, never reused
    int32_t date;                       //  when it is due
    int32_t completed_on;               //  the day it was completed, 0 while open
    bool stalled;                       //  a stall on it was recorded
    char label [RB_PLAN_LABEL_MAX + 1]; //  short code or label
} rb_plan_milestone_t;

//  A plan as the register keeps it.
typedef struct {
    uint32_t id;                        //  1, 2, 3... per case
    rb_plan_type_t type;                //  OPP, care, action, other
    rb_actor_t owner;                   //  holds a role on the case
    int32_t created_on;                 //  the day it was registered
    int review_interval_days;           //  1..365
    int32_t reviewed_on;                //  last review or revision (created_on at first)
    bool closed;                        //  closed plans take no changes
    int32_t closed_on;                  //  the day it was closed, 0 while open
    unsigned stalls;                    //  stalls recorded so far
    int32_t review_stalled_due;         //  the review-due date of the last review
                                        //  stall recorded, 0 when none
    unsigned next_milestone;            //  the number the next milestone gets
    size_t milestone_count;             //  milestones in use
    rb_plan_milestone_t milestones [RB_PLAN_MILESTONES_MAX];    //  by number
} rb_plan_t;

//  A new plan as the caller gives it.
typedef struct {
    rb_plan_type_t type;                //  1..4
    rb_actor_t owner;                   //  must hold a role on the case
    int review_interval_days;           //  1..365
    const rb_plan_step_t *milestones;   //  1..32 of them
    size_t milestone_count;             //  how many
} rb_plan_spec_t;

//  A revision: new open milestones, a new review interval, or both.
typedef struct {
    bool replace_milestones;            //  replace every open milestone by these
    const rb_plan_step_t *milestones;   //  the new open milestones (may be none
                                        //  when some milestone was completed)
    size_t milestone_count;             //  how many
    int review_interval_days;           //  1..365, or 0: keep the interval
} rb_plan_revision_t;

//  Why a plan is stalled: a milestone's date passed without completion, or
//  the plan went unreviewed past its review-due date.
typedef enum {
    RB_PLAN_STALL_MILESTONE = 1,
    RB_PLAN_STALL_REVIEW = 2
} rb_plan_stall_kind_t;

//  One reason a plan is stalled. A stall is recorded once per milestone,
//  and once per review period (named by its due date).
typedef struct {
    rb_plan_stall_kind_t kind;          //  milestone or review
    unsigned milestone;                 //  the milestone's number; 0 for a review
    int32_t due;                        //  the date that passed
    bool recorded;                      //  rb_plan_stalled: recorded already
} rb_plan_stall_t;

//  The dates the daemon's timers need after a call: each open milestone's
//  date and the next review-due date. A closed plan has none (review_due
//  0, count 0): its timers go.
typedef struct {
    int32_t review_due;                 //  last reviewed + interval; 0 when closed
    size_t count;                       //  open milestones
    struct {
        unsigned number;                //  the milestone
        int32_t date;                   //  when it is due
    } milestones [RB_PLAN_MILESTONES_MAX];
} rb_plan_due_t;

//  What a call changed.
typedef enum {
    RB_PLAN_REGISTERED = 1,
    RB_PLAN_MILESTONE_COMPLETED = 2,
    RB_PLAN_REVISED = 3,
    RB_PLAN_REVIEWED = 4,
    RB_PLAN_CLOSED = 5,
    RB_PLAN_STALLED = 6
} rb_plan_event_t;

//  One change of a plan, for the daemon to notify to all regie holders of
//  the case and to set its timers from.
typedef struct {
    rb_plan_event_t event;              //  what happened
    uint32_t plan_id;                   //  to which plan
    rb_plan_type_t type;                //  the plan's type
    rb_actor_t owner;                   //  the plan's owner
    int32_t date;                       //  the day it happened
    unsigned milestone;                 //  completed milestone (0 otherwise)
    rb_plan_stall_t stall;              //  STALLED: why
    unsigned stalls;                    //  the plan's stall count after the call
    rb_plan_due_t due;                  //  timers after the call
} rb_plan_change_t;

typedef struct _rb_plan_register_t rb_plan_register_t;

//  The register's table.
#define RB_PLAN_TABLE "plan"

//  Open the "plan" table in store; regie is the case register the plans
//  hang on. Both must outlive the register. NULL when out of memory or the
//  table cannot be opened.
rb_plan_register_t *rb_plan_register_new (rb_store_t *store, rb_regie_t *regie);

//  The register on a table the caller opened by the name above (a daemon:
//  rb_node_table). NULL when out of memory.
rb_plan_register_t *rb_plan_register_new_on (rb_table_t plans, rb_regie_t *regie);

//  Destroy and null the caller's pointer. Idempotent.
void rb_plan_register_destroy (rb_plan_register_t **self_p);

//  Register a plan on the case, created and reviewed today. Its id is the
//  case's next number (1 for the first plan). Refused, in this order, with
//  nothing written:
//    pseudonym not 64 lowercase hex          RB_EINVALID       "case_pseudonym"
//    today not a date                        RB_EINVALID       "today"
//    spec NULL                               RB_EMISSING       "plan"
//    type not 1..4                           RB_EINVALID       "type"
//    owner node not [a-z0-9-] 1..63          RB_EINVALID       "owner.node"
//    owner role not a known Role             RB_EINVALID       "owner.role"
//    interval not 1..365                     RB_EINVALID       "review_interval_days"
//    no milestones                           RB_EMISSING       "milestones"
//    more than 32 milestones                 RB_ETOOLARGE      "milestones"
//    a label empty                           RB_EMISSING       "milestones[i].label"
//    a label over 64 bytes                   RB_ETOOLARGE      "milestones[i].label"
//    a label not UTF-8 or with controls      RB_EINVALID       "milestones[i].label"
//    a date not a date, or before today      RB_EINVALID       "milestones[i].date"
//    no such case                            RB_ENOTFOUND      "case"
//    owner holds no such role on the case    RB_EPRECONDITION  "owner"
//    the case has 64 plans already           RB_ETOOLARGE      "plans"
//  The owner not on the case is a precondition, not a permission: the
//  actor may join the case and the same plan then registers.
rb_err_t rb_plan_register (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                           const rb_plan_spec_t *spec, int32_t today,
                           rb_plan_change_t *change, rb_refusal_t *refusal);

//  The checks of rb_plan_register on spec alone, without a case: for a
//  node that takes a plan to send on to the municipality. Milestones
//  dated before today are refused the same way; refusals as above, from
//  "plan" to "milestones[i].date".
rb_err_t rb_plan_spec_check (const rb_plan_spec_t *spec, int32_t today, rb_refusal_t *refusal);

//  Complete milestone number of the plan today. Refused (besides the
//  plan's own refusals, see below): no such milestone RB_ENOTFOUND
//  "milestone", completed already RB_EPRECONDITION "milestone".
rb_err_t rb_plan_complete (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                           uint32_t plan_id, unsigned milestone, int32_t today,
                           rb_plan_change_t *change, rb_refusal_t *refusal);

//  Revise the plan today: replace its open milestones (completed ones
//  stay; new ones get new numbers) and/or its review interval, and mark it
//  reviewed. Refused: revision NULL RB_EMISSING "revision"; a revision
//  that changes nothing RB_EMISSING "revision"; interval not 0..365
//  RB_EINVALID "review_interval_days"; the milestones as for register
//  (dates not before the plan's created_on), and a plan left with no
//  milestone RB_EMISSING "milestones" or more than 32 (completed
//  included), or beyond milestone number 65535, RB_ETOOLARGE "milestones".
rb_err_t rb_plan_revise (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                         uint32_t plan_id, const rb_plan_revision_t *revision, int32_t today,
                         rb_plan_change_t *change, rb_refusal_t *refusal);

//  Mark the plan reviewed today without changing it.
rb_err_t rb_plan_review (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                         uint32_t plan_id, int32_t today, rb_plan_change_t *change,
                         rb_refusal_t *refusal);

//  Close the plan today; it then takes no further changes.
rb_err_t rb_plan_close (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                        uint32_t plan_id, int32_t today, rb_plan_change_t *change,
                        rb_refusal_t *refusal);

//  Record a stall of the plan found by rb_plan_stalled, today. Once per
//  milestone and once per review period: *recorded is false (and change
//  untouched) when this stall was recorded already. A recorded stall adds
//  one to the plan's stalls. Refused: stall NULL RB_EMISSING "stall"; kind
//  unknown RB_EINVALID "stall.kind"; no such milestone RB_ENOTFOUND
//  "stall.milestone"; a completed milestone RB_EPRECONDITION
//  "stall.milestone"; a due date other than the milestone's or the
//  current review-due date, or not before today, RB_EPRECONDITION
//  "stall.due".
rb_err_t rb_plan_record_stall (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                               uint32_t plan_id, const rb_plan_stall_t *stall, int32_t today,
                               bool *recorded, rb_plan_change_t *change, rb_refusal_t *refusal);

//  Every call that names a plan is refused first, in this order, with
//  nothing written: pseudonym RB_EINVALID "case_pseudonym"; today not a
//  date RB_EINVALID "today"; no such plan RB_ENOTFOUND "plan" (a missing
//  case too); today before the plan's last review RB_EINVALID "today"; a
//  closed plan RB_EPRECONDITION "plan".

//  Read one plan. RB_ENOTFOUND when there is no such plan (or the
//  pseudonym is not valid), RB_ESTORE for a record that does not decode.
rb_err_t rb_plan_get (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                      uint32_t plan_id, rb_plan_t *out);

//  The plans of a case, by id, closed ones included. Writes at most max
//  into out and sets *count to the number written; RB_ETOOLARGE when the
//  case has more. A missing case (or a bad pseudonym) has none.
rb_err_t rb_plan_list (rb_plan_register_t *self, rb_txn_t *txn, const char *pseudonym,
                       rb_plan_t *out, size_t max, size_t *count);

//  The dates the timers of plan need (none for a closed plan).
void rb_plan_due (const rb_plan_t *plan, rb_plan_due_t *out);

//  The plan's review-due date: last reviewed + interval.
int32_t rb_plan_review_due (const rb_plan_t *plan);

//  True when plan is stalled today: an open milestone's date is before
//  today, or its review-due date is. Writes why into out (room for max;
//  RB_PLAN_STALLS_MAX is always enough), milestones by number and then the
//  review, each saying whether it was recorded already; *n how many
//  (the answer does not depend on max). A closed plan never stalls.
bool rb_plan_stalled (const rb_plan_t *plan, int32_t today, rb_plan_stall_t *out, size_t max,
                      size_t *n);

#endif
