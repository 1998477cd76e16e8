/*  rb_escalation: the escalation ladder of a case.
 *
 *  The seed documents' clock for a child out of school, per case, counted
 *  from the first day of continuous absence (the episode's start, as the
 *  school's FIRST_ABSENCE signal says it):
 *
 *    level 1  after 4 weeks   a casusregisseur must be assigned: the
 *                             holders and the duty desk are told, and
 *                             reminded every few days while nobody is
 *    level 2  after 8 weeks   without a fitting plan: the doorbraakteam
 *                             joins the case (a fitting plan, open and
 *                             not stalled, defers it a few days at a time)
 *    level 3  after 12 weeks  the case is registered as thuiszitter
 *
 *  Whenever things stall a case climbs earlier: every second stall of a
 *  plan (rb_plan's stall count) raises it one level, up to the
 *  doorbraakteam; the thuiszitter line is a fact about time and is never
 *  reached early. A level, once reached, stays while the episode lasts.
 *
 *  The episode closing (EPISODE_CLOSED) pauses the ladder where it is:
 *  nothing more is due. An episode that starts again within resume_days of
 *  the close is the same absence going on (one day back at school does
 *  not reset three months): the ladder resumes from the old start and
 *  level. A later one starts the ladder afresh.
 *
 *  The module is pure LMDB logic inside the caller's transaction, like
 *  rb_plan: no clock (the caller passes today, YYYYMMDD), no sockets, no
 *  timers. It says what steps are due and when to look next
 *  (rb_escalation_next_on); the daemon notifies the steps and keeps one
 *  durable timer per case at that date. A refusal writes nothing.
 *
 *  Table "escalation": pseudonym (64) -> version 1, level, reminders, then
 *  level_since, episode_started, episode_closed_on, thuiszitter_since,
 *  next_remind_on, deferred_to (4 bytes big-endian each).
 */
#ifndef RB_ESCALATION_H
#define RB_ESCALATION_H

#include "rb_store.h"

#define RB_ESCALATION_TABLE "escalation"

//  Most steps one call reports: every level and a reminder.
#define RB_ESCALATION_STEPS_MAX 4

//  The levels.
#define RB_ESCALATION_CASUSREGISSEUR 1
#define RB_ESCALATION_DOORBRAAKTEAM 2
#define RB_ESCALATION_THUISZITTER 3

typedef struct _rb_escalation_t rb_escalation_t;

//  The region's ladder, from configuration (defaults: the seeds').
typedef struct {
    uint32_t casusregisseur_weeks;      //  4: level 1
    uint32_t doorbraakteam_weeks;       //  8: level 2
    uint32_t thuiszitter_weeks;         //  12: level 3
    uint32_t remind_days;               //  7: no casusregisseur this long after level 1: reminder
    uint32_t recheck_days;              //  7: a fitting plan defers level 2 this long
    uint32_t early_stalls;              //  2: every so many stalls of a plan: one level up; 0 never
    uint32_t resume_days;               //  10: a new episode this soon after a close resumes
} rb_escalation_policy_t;

//  Where a case stands.
typedef struct {
    uint32_t level;                     //  0..3
    uint32_t reminders;                 //  reminders that no casusregisseur was assigned
    int32_t level_since;                //  the day the level was reached, 0 at level 0
    int32_t episode_started;            //  first day of the absence, 0 none
    int32_t episode_closed_on;          //  the day it closed, 0 while open or none
    int32_t thuiszitter_since;          //  the day level 3 was reached, 0 none
    int32_t next_remind_on;             //  the next reminder check, 0 none
    int32_t deferred_to;                //  level 2 waits for a fitting plan until then, 0 none
    int64_t timer_made_ms;              //  when the case's ladder timer id was made, 0 not yet
} rb_escalation_state_t;

//  One step the ladder took, for the daemon to notify.
typedef enum {
    RB_ESCALATION_STEP_CASUSREGISSEUR_NEEDED = 1,   //  level 1
    RB_ESCALATION_STEP_NO_CASUSREGISSEUR = 2,       //  a reminder at level 1 or above
    RB_ESCALATION_STEP_DOORBRAAKTEAM = 3,           //  level 2
    RB_ESCALATION_STEP_THUISZITTER = 4              //  level 3
} rb_escalation_step_kind_t;

typedef struct {
    rb_escalation_step_kind_t kind;     //  the EscalationStep number too
    uint32_t level;                     //  the case's level after it
    uint32_t reminder;                  //  NO_CASUSREGISSEUR: the how-manieth
    uint32_t weeks_absent;              //  whole weeks since the episode started
    uint32_t plan_id;                   //  early: the plan whose stall raised it
    uint32_t plan_stalls;               //  early: its stalls
} rb_escalation_step_t;

//  What the daemon knows of the case when it looks.
typedef struct {
    bool has_casusregisseur;            //  a CASUSREGISSEUR holds the case
    bool has_fitting_plan;              //  an open plan that is not stalled
} rb_escalation_facts_t;

//  The seeds' ladder: 4, 8, 12 weeks; reminders and rechecks weekly;
//  every 2nd stall early; resume within 10 days.
rb_escalation_policy_t rb_escalation_policy_default (void);

//  Check a policy: RB_EINVALID naming the field ("casusregisseur_weeks",
//  ...): the weeks 1..104 and rising, the days 1..365 (resume_days
//  0..365), early_stalls 0..100.
rb_err_t rb_escalation_policy_check (const rb_escalation_policy_t *policy, rb_refusal_t *refusal);

//  Open the table in store (tests), or use one opened by the name above
//  (the daemon: rb_node_table). NULL when out of memory or it cannot open.
rb_escalation_t *rb_escalation_new (rb_store_t *store);
rb_escalation_t *rb_escalation_new_on (rb_table_t table);

//  Destroy and null the caller's pointer. Idempotent.
void rb_escalation_destroy (rb_escalation_t **self_p);

//  The case's state; RB_ENOTFOUND when the ladder never saw it.
rb_err_t rb_escalation_get (rb_escalation_t *self, rb_txn_t *txn, const char *case_pseudonym,
                            rb_escalation_state_t *state);

//  Record when the case's ladder timer id was made (rb_ladder keys the
//  timer by it). Refusals: RB_EINVALID "case_pseudonym", "made_ms" (not
//  positive), RB_ENOTFOUND "case_pseudonym" when the ladder never saw it.
rb_err_t rb_escalation_set_timer_made (rb_escalation_t *self, rb_txn_t *txn,
                                       const char *case_pseudonym, int64_t made_ms,
                                       rb_refusal_t *refusal);

//  An absence signal of kind signal (AbsenceSignalKind numbers) whose
//  episode started on episode_started, raised on date: a FIRST_ABSENCE (or
//  any signal while no episode is open) opens or resumes the episode,
//  EPISODE_CLOSED closes it on date; others change nothing. *changed says
//  whether the state (and so the next date) changed. Refusals:
//  RB_EINVALID "case_pseudonym", "date", "episode_started".
rb_err_t rb_escalation_on_absence (rb_escalation_t *self, rb_txn_t *txn,
                                   const rb_escalation_policy_t *policy, const char *case_pseudonym,
                                   int signal, int32_t episode_started, int32_t date,
                                   bool *changed, rb_refusal_t *refusal);

//  Take every step due on today (in order: level 1, a reminder, level 2,
//  level 3), given facts; steps gets them (room for
//  RB_ESCALATION_STEPS_MAX), *count how many. A case the ladder never saw
//  takes none. Refusals: RB_EINVALID "case_pseudonym", "today".
rb_err_t rb_escalation_look (rb_escalation_t *self, rb_txn_t *txn,
                             const rb_escalation_policy_t *policy, const char *case_pseudonym,
                             int32_t today, const rb_escalation_facts_t *facts,
                             rb_escalation_step_t *steps, size_t *count, rb_refusal_t *refusal);

//  Plan plan_id on the case stalled for the stalls-th time on today: every
//  early_stalls-th stall raises the case one level, up to the
//  doorbraakteam (*count 0 or 1 steps). Refusals: RB_EINVALID
//  "case_pseudonym", "today", "plan_id" (0), "stalls" (0).
rb_err_t rb_escalation_on_stall (rb_escalation_t *self, rb_txn_t *txn,
                                 const rb_escalation_policy_t *policy, const char *case_pseudonym,
                                 uint32_t plan_id, uint32_t stalls, int32_t today,
                                 rb_escalation_step_t *steps, size_t *count, rb_refusal_t *refusal);

//  The next day something may be due for state (0: nothing, as for a
//  closed episode at level 1 with no reminder to check).
int32_t rb_escalation_next_on (const rb_escalation_policy_t *policy,
                               const rb_escalation_state_t *state);

#endif
