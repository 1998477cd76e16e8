/*  rb_mun_timers: the municipality's timer dispatch; see rb_mun_timers.h.
 *
 *  Design. The kinds are a small array of (prefix, fn, arg), searched in
 *  order for each due timer; prefixes never start one another, so at most
 *  one matches. A run is one rb_timers_due walk whose visitor fires the
 *  timer and calls its function; a refusal stops the walk and is kept,
 *  with the timer's id and due time, as the one to drop next run. The
 *  drop checks the due time first: a timer set again since (a plan
 *  revised between the ticks) is a new deed and is not dropped.
 */
#include "rb_mun_timers.h"
#include "rb_log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  One kind of timer.
typedef struct {
    char prefix [RB_MUN_TIMERS_PREFIX_MAX + 1];     //  ids that start with it
    rb_mun_timer_fn *fn;                //  what fires them
    void *arg;                          //  fn's argument
} s_kind_t;

struct _rb_mun_timers_t {
    rb_timers_t *timers;                //  the node's durable timers
    size_t per_tick;                    //  most timers fired per run
    s_kind_t kinds [RB_MUN_TIMERS_KINDS_MAX];   //  registered kinds
    size_t kind_count;                  //  how many
    char refused_id [RB_TIMER_ID_MAX + 1];      //  the timer to drop next run, "" if none
    int64_t refused_due_ms;             //  its due time then
};

//  One run in progress.
typedef struct {
    rb_mun_timers_t *self;              //  the dispatcher
    rb_txn_t *txn;                      //  the tick's transaction
    int64_t now_ms;                     //  the node clock
    rb_mun_timers_run_t *run;           //  what it did
    rb_refusal_t *why;                  //  why it stopped
    rb_err_t rc;                        //  RB_OK while it goes on
} s_run_t;


// ---------------------------------------------------------------------------
//  Life and kinds

rb_mun_timers_t *
rb_mun_timers_new (rb_timers_t *timers, size_t per_tick)
{
    rb_mun_timers_t *self = calloc (1, sizeof *self);
    if (self) {
        self->timers = timers;
        self->per_tick = per_tick? per_tick: RB_MUN_TIMERS_PER_TICK;
    }
    return self;
}

void
rb_mun_timers_destroy (rb_mun_timers_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  True when one of a and b starts the other.
static bool
s_overlap (const char *a, const char *b)
{
    size_t n = strlen (a) < strlen (b)? strlen (a): strlen (b);
    return strncmp (a, b, n) == 0;
}

rb_err_t
rb_mun_timers_on (rb_mun_timers_t *self, const char *prefix, rb_mun_timer_fn *fn, void *arg,
                  rb_refusal_t *why)
{
    if (!prefix || !*prefix || strlen (prefix) > RB_MUN_TIMERS_PREFIX_MAX)
        return rb_refuse (why, RB_EINVALID, "prefix", "prefix must be 1-%d bytes",
                          RB_MUN_TIMERS_PREFIX_MAX);
    if (!fn)
        return rb_refuse (why, RB_EMISSING, "fn", "prefix '%s' needs a fire function", prefix);
    for (size_t i = 0; i < self->kind_count; i++)
        if (s_overlap (self->kinds [i].prefix, prefix))
            return rb_refuse (why, RB_EINVALID, "prefix", "prefix '%s' overlaps '%s'",
                              prefix, self->kinds [i].prefix);
    if (self->kind_count == RB_MUN_TIMERS_KINDS_MAX)
        return rb_refuse (why, RB_ETOOLARGE, "prefix", "at most %d kinds of timer",
                          RB_MUN_TIMERS_KINDS_MAX);
    s_kind_t *kind = &self->kinds [self->kind_count++];
    snprintf (kind->prefix, sizeof kind->prefix, "%s", prefix);
    kind->fn = fn;
    kind->arg = arg;
    return RB_OK;
}

static const s_kind_t *
s_kind_of (rb_mun_timers_t *self, const char *id)
{
    for (size_t i = 0; i < self->kind_count; i++)
        if (strncmp (id, self->kinds [i].prefix, strlen (self->kinds [i].prefix)) == 0)
            return &self->kinds [i];
    return NULL;
}


// ---------------------------------------------------------------------------
//  A run

//  A fault of the node, not of the timer: try the same timers again.
static bool
s_node_fault (rb_err_t rc)
{
    return rc == RB_ESTORE || rc == RB_EFULL || rc == RB_EINTERNAL;
}

//  Drop the timer the last run stopped at, if it is still the same deed.
static rb_err_t
s_drop_refused (rb_mun_timers_t *self, rb_txn_t *txn, rb_mun_timers_run_t *run,
                rb_refusal_t *why)
{
    if (!*self->refused_id)
        return RB_OK;
    rb_timer_t timer;
    rb_err_t rc = rb_timers_get (self->timers, txn, self->refused_id, &timer);
    if (rc == RB_OK && timer.due_ms == self->refused_due_ms)
        rc = rb_timers_fire (self->timers, txn, self->refused_id, why);
    else
    if (rc == RB_OK || rc == RB_ENOTFOUND)
        rc = RB_ENOTFOUND;              //  set again or gone since: nothing to drop
    if (rc == RB_OK) {
        run->dropped++;
        rb_log_warn ("msg=\"timer dropped\" id=%s due_ms=%lld", self->refused_id,
                     (long long) self->refused_due_ms);
    }
    if (rc == RB_ENOTFOUND)
        rc = RB_OK;
    if (rc)
        return rb_refuse (why, rc, "timers", "cannot drop timer %s: %s", self->refused_id,
                          rb_strerror (rc));
    *self->refused_id = 0;
    return RB_OK;
}

static int
s_visit (const rb_timer_t *timer, void *arg)
{
    s_run_t *r = arg;
    rb_mun_timers_t *self = r->self;
    const s_kind_t *kind = s_kind_of (self, timer->id);
    r->rc = rb_timers_fire (self->timers, r->txn, timer->id, r->why);
    if (!r->rc && !kind) {
        rb_log_warn ("msg=\"timer dropped\" id=%s detail=\"no kind of timer has its prefix\"",
                     timer->id);
        r->run->dropped++;
        return 0;
    }
    if (!r->rc)
        r->rc = kind->fn (kind->arg, r->txn, timer, r->now_ms, r->why);
    if (!r->rc) {
        r->run->fired++;
        return 0;
    }
    if (!r->why->code)
        rb_refuse (r->why, r->rc, NULL, "%s", rb_strerror (r->rc));
    if (!s_node_fault (r->rc)) {
        snprintf (self->refused_id, sizeof self->refused_id, "%s", timer->id);
        self->refused_due_ms = timer->due_ms;
        rb_log_warn ("msg=\"timer refused\" id=%s code=%s field=\"%s\" detail=\"%s\"",
                     timer->id, rb_errname (r->rc), r->why->field, r->why->message);
    }
    return 1;
}

rb_err_t
rb_mun_timers_run (rb_mun_timers_t *self, rb_txn_t *txn, int64_t now_ms,
                   rb_mun_timers_run_t *run, rb_refusal_t *why)
{
    *run = (rb_mun_timers_run_t) { 0, 0 };
    rb_refusal_clear (why);
    rb_err_t rc = s_drop_refused (self, txn, run, why);
    if (rc)
        return rc;
    s_run_t r = { self, txn, now_ms, run, why, RB_OK };
    rc = rb_timers_due (self->timers, txn, now_ms, NULL, self->per_tick, s_visit, &r);
    if (rc)
        return rb_refuse (why, rc, "timers", "cannot visit the due timers: %s", rb_strerror (rc));
    return r.rc;
}
