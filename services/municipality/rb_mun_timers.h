/*  rb_mun_timers: the municipality's timer dispatch.
 *
 *  The municipality acts at later times: a reminder before a milestone,
 *  "plan stalled" when its date passes, the next rung of the escalation
 *  ladder, a reminder of a notification nobody acknowledged. Each such
 *  deed is a durable timer (rb_timers) whose id starts with a prefix that
 *  names who acts on it ("plan/", "esc/", "ack/"). On each tick the daemon
 *  runs this dispatcher inside the tick's transaction: it visits the
 *  timers due at now, at most a bounded number per tick, and hands each to
 *  the fire function registered for its prefix. Adding a kind of timer is
 *  one rb_mun_timers_on call in the daemon's setup.
 *
 *  Exactly once. The dispatcher deletes the timer (rb_timers_fire) and
 *  calls its fire function in the same transaction, so the timer is gone
 *  exactly when its effect commits; a node killed before that commit finds
 *  it due again after the restart. The fire function may set the same id
 *  again (a repeating timer): the deletion came first.
 *
 *  What a fire function returns decides the rest of the tick:
 *    RB_OK        the effect is written; the next due timer is visited
 *    RB_ESTORE, RB_EFULL, RB_EINTERNAL
 *                 a fault of this node, not of the timer: the tick stops
 *                 and the runtime drops its transaction; the next tick
 *                 tries the same timers again
 *    any other    the timer cannot take effect (its plan is gone, its
 *                 payload does not decode, a holder is no peer): the tick
 *                 stops with that refusal and the runtime drops its
 *                 transaction, so nothing the function half-wrote remains;
 *                 the dispatcher remembers the timer and drops it, without
 *                 effect, at the start of the next tick (logged, counted),
 *                 after which the others fire as before
 *  A timer whose prefix has no fire function is dropped the same way at
 *  once (it cannot have written anything). A dropped timer is lost only
 *  to the process that dropped it: after a restart before the drop
 *  committed, it is tried again.
 *
 *  No sockets, no clock: the caller passes now (node clock, ms) and the
 *  transaction. The payload a fire function sees is valid during the call.
 */
#ifndef RB_MUN_TIMERS_H
#define RB_MUN_TIMERS_H

#include "rb_timers.h"

//  Longest prefix a kind of timer is registered under, in bytes.
#define RB_MUN_TIMERS_PREFIX_MAX 15

//  Most kinds of timer one dispatcher knows.
#define RB_MUN_TIMERS_KINDS_MAX 8

//  Timers fired per tick when the daemon does not say otherwise.
#define RB_MUN_TIMERS_PER_TICK 1000

//  Act on one due timer, already deleted in txn: write its effect in txn.
//  arg is what the kind was registered with. Return as described above.
typedef rb_err_t (rb_mun_timer_fn) (void *arg, rb_txn_t *txn, const rb_timer_t *timer,
                                    int64_t now_ms, rb_refusal_t *why);

//  What one run did.
typedef struct {
    size_t fired;                       //  timers whose effect was written
    size_t dropped;                     //  timers deleted without effect
} rb_mun_timers_run_t;

typedef struct _rb_mun_timers_t rb_mun_timers_t;

//  A dispatcher over timers (borrowed: it must outlive the dispatcher)
//  firing at most per_tick timers per run (0: RB_MUN_TIMERS_PER_TICK).
//  NULL when out of memory.
rb_mun_timers_t *rb_mun_timers_new (rb_timers_t *timers, size_t per_tick);

//  Destroy and null the caller's pointer. Idempotent.
void rb_mun_timers_destroy (rb_mun_timers_t **self_p);

//  Register fn (with arg) for the timers whose id starts with prefix
//  ("plan/"). Refused: prefix empty or longer than 15 bytes, or one that
//  starts another registered prefix or starts with one, RB_EINVALID
//  "prefix"; a ninth kind RB_ETOOLARGE "prefix"; fn NULL RB_EMISSING "fn".
rb_err_t rb_mun_timers_on (rb_mun_timers_t *self, const char *prefix, rb_mun_timer_fn *fn,
                           void *arg, rb_refusal_t *why);

//  Fire the timers due at now_ms, in due order, at most per_tick of them,
//  in txn, and say what it did in *run. First drops the timer the last
//  run stopped at with a refusal. RB_OK when every visited timer fired or
//  was dropped; otherwise the code of the timer or storage error that
//  stopped the run, with why filled (the caller drops txn).
rb_err_t rb_mun_timers_run (rb_mun_timers_t *self, rb_txn_t *txn, int64_t now_ms,
                            rb_mun_timers_run_t *run, rb_refusal_t *why);

#endif
