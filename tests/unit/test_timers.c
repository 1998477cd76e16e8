/*  unit_timers: durable timers in a node's store (rb_timers.h).
 *
 *  A daemon sets timers with ids of its own choosing, moves and cancels
 *  them, and on its tick visits the due ones in due order and fires each
 *  in the transaction that holds its effect. Here: set, look up, move,
 *  cancel; due order with equal due times; limit and paging; a visit
 *  alone changes nothing; an aborted firing leaves the timer due (the
 *  crash before the commit); firing twice is refused; everything survives
 *  reopening the store; bad ids, due times and payloads are refused with
 *  the field named and nothing written; a damaged record is an error.
 */
#include "rb_test.h"
#include "rb_timers.h"

static rb_store_t *s_store;
static rb_timers_t *s_timers;

// ---------------------------------------------------------------------------
//  Helpers

//  Set one timer in its own transaction, committed when accepted.
static rb_err_t
s_set (const char *id, int64_t due_ms, const char *payload, rb_refusal_t *r)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    rb_refusal_clear (r);
    rb_err_t rc = rb_timers_set (s_timers, txn, id, due_ms, payload,
                                 payload? strlen (payload): 0, r);
    if (rc)
        rb_txn_destroy (&txn);
    else
        CHECK_INT (rb_txn_commit (&txn), RB_OK);
    return rc;
}

//  What a visit saw: ids and due times in order, the last payload, and
//  whether to fire each timer as it is seen or to stop after some.
typedef struct {
    char ids [16][RB_TIMER_ID_MAX + 1];
    int64_t due [16];
    char payload [64];
    size_t count;
    size_t stop_after;                  //  0: never stop
    bool fire;                          //  fire each one seen
    rb_txn_t *txn;                      //  the visit's transaction, for firing
    rb_timer_t last;                    //  the last one seen, for paging
} s_seen_t;

static int
s_collect (const rb_timer_t *timer, void *arg)
{
    s_seen_t *seen = arg;
    CHECK (seen->count < 16);
    snprintf (seen->ids [seen->count], sizeof seen->ids [0], "%s", timer->id);
    seen->due [seen->count] = timer->due_ms;
    snprintf (seen->payload, sizeof seen->payload, "%.*s", (int) timer->payload_size,
              (const char *) timer->payload);
    seen->last = *timer;
    seen->last.payload = NULL;
    seen->count++;
    if (seen->fire) {
        rb_refusal_t r;
        CHECK_INT (rb_timers_fire (s_timers, seen->txn, timer->id, &r), RB_OK);
    }
    return seen->stop_after && seen->count == seen->stop_after;
}

//  Visit what is due at now in a read transaction (nothing can change).
static s_seen_t
s_due (int64_t now, const rb_timer_t *after, size_t limit)
{
    s_seen_t seen = { .count = 0 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_timers_due (s_timers, txn, now, after, limit, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    return seen;
}

//  Visit what is due at now and fire every one seen; commit or abort.
static s_seen_t
s_fire_due (int64_t now, size_t limit, bool commit)
{
    s_seen_t seen = { .fire = true };
    CHECK_INT (rb_txn_begin (s_store, true, &seen.txn), RB_OK);
    CHECK_INT (rb_timers_due (s_timers, seen.txn, now, NULL, limit, s_collect, &seen), RB_OK);
    if (commit)
        CHECK_INT (rb_txn_commit (&seen.txn), RB_OK);
    else
        rb_txn_destroy (&seen.txn);
    return seen;
}

//  Look one up: its due time, or 0 when it is not set.
static int64_t
s_due_of (const char *id, char *payload, size_t size)
{
    rb_txn_t *txn;
    rb_timer_t timer;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    rb_err_t rc = rb_timers_get (s_timers, txn, id, &timer);
    CHECK (rc == RB_OK || rc == RB_ENOTFOUND);
    if (!rc) {
        CHECK_STR (timer.id, id);
        if (payload)
            snprintf (payload, size, "%.*s", (int) timer.payload_size, (const char *) timer.payload);
    }
    rb_txn_destroy (&txn);
    return rc? 0: timer.due_ms;
}

static void
s_open (void)
{
    s_timers = rb_timers_new (s_store);
    CHECK (s_timers);
}

// ---------------------------------------------------------------------------
//  Tests

static void
s_test_set_get_cancel (void)
{
    rb_test_section ("set, look up, move and cancel a timer");
    rb_refusal_t r;
    char payload [64];
    CHECK (rb_timers_new (NULL) == NULL);
    CHECK_INT (s_due_of ("milestone/p1/1", NULL, 0), 0);
    CHECK_INT (s_set ("milestone/p1/1", 5000, "remind owner", &r), RB_OK);
    CHECK_INT (s_due_of ("milestone/p1/1", payload, sizeof payload), 5000);
    CHECK_STR (payload, "remind owner");

    //  Setting it again moves it and replaces the payload: one timer.
    CHECK_INT (s_set ("milestone/p1/1", 7000, "stalled", &r), RB_OK);
    CHECK_INT (s_due_of ("milestone/p1/1", payload, sizeof payload), 7000);
    CHECK_STR (payload, "stalled");
    CHECK_INT (s_due (6999, NULL, 0).count, 0);
    CHECK_INT (s_due (7000, NULL, 0).count, 1);
    //  The same due time again with another payload.
    CHECK_INT (s_set ("milestone/p1/1", 7000, NULL, &r), RB_OK);
    CHECK_INT (s_due_of ("milestone/p1/1", payload, sizeof payload), 7000);
    CHECK_STR (payload, "");
    CHECK_INT (s_due (INT64_MAX, NULL, 0).count, 1);

    rb_txn_t *txn;
    bool cancelled = false;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_timers_cancel (s_timers, txn, "milestone/p1/1", &cancelled, &r), RB_OK);
    CHECK (cancelled);
    CHECK_INT (rb_timers_cancel (s_timers, txn, "milestone/p1/1", &cancelled, &r), RB_OK);
    CHECK (!cancelled);                 //  gone already: not an error
    CHECK_INT (rb_timers_cancel (s_timers, txn, "never-set", NULL, &r), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    CHECK_INT (s_due_of ("milestone/p1/1", NULL, 0), 0);
    CHECK_INT (s_due (INT64_MAX, NULL, 0).count, 0);
}

static void
s_test_order_and_paging (void)
{
    rb_test_section ("due timers come in due order, equal times in id order, limited and paged");
    rb_refusal_t r;
    CHECK_INT (s_set ("c", 300, "c", &r), RB_OK);
    CHECK_INT (s_set ("b", 100, "b", &r), RB_OK);
    CHECK_INT (s_set ("a2", 200, "a2", &r), RB_OK);
    CHECK_INT (s_set ("a1", 200, "a1", &r), RB_OK);
    CHECK_INT (s_set ("a", 200, "a", &r), RB_OK);
    CHECK_INT (s_set ("later", 1000, "later", &r), RB_OK);

    s_seen_t seen = s_due (300, NULL, 0);
    CHECK_INT (seen.count, 5);
    const char *order [5] = { "b", "a", "a1", "a2", "c" };
    const int64_t due [5] = { 100, 200, 200, 200, 300 };
    for (int i = 0; i < 5; i++) {
        CHECK_STR (seen.ids [i], order [i]);
        CHECK_INT (seen.due [i], due [i]);
    }
    CHECK_STR (seen.payload, "c");
    CHECK_INT (s_due (99, NULL, 0).count, 0);
    CHECK_INT (s_due (200, NULL, 0).count, 4);

    //  Pages of two, each going on after the last one seen.
    seen = s_due (300, NULL, 2);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.ids [1], "a");
    seen = s_due (300, &seen.last, 2);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.ids [0], "a1");
    CHECK_STR (seen.ids [1], "a2");
    seen = s_due (300, &seen.last, 2);
    CHECK_INT (seen.count, 1);
    CHECK_STR (seen.ids [0], "c");
    seen = s_due (300, &seen.last, 2);
    CHECK_INT (seen.count, 0);

    //  The visitor stops the walk.
    seen = (s_seen_t) { .stop_after = 3 };
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_timers_due (s_timers, txn, 300, NULL, 0, s_collect, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 3);

    //  A bad page start.
    rb_timer_t bad = { .id = "", .due_ms = 100 };
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_timers_due (s_timers, txn, 300, &bad, 0, s_collect, &seen), RB_EINVALID);
    rb_txn_destroy (&txn);
}

static void
s_test_fire (void)
{
    rb_test_section ("a visit changes nothing; firing is once, and an aborted firing leaves it due");
    rb_refusal_t r;
    //  Visited twice without firing: still due, still there.
    CHECK_INT (s_due (300, NULL, 0).count, 5);
    CHECK_INT (s_due (300, NULL, 0).count, 5);

    //  The node dies before the commit that fires them: all still due.
    s_seen_t seen = s_fire_due (300, 2, false);
    CHECK_INT (seen.count, 2);
    CHECK_INT (s_due (300, NULL, 0).count, 5);

    //  Fired with a limit of two, committed: the next two are the first now.
    seen = s_fire_due (300, 2, true);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.ids [0], "b");
    CHECK_STR (seen.ids [1], "a");
    seen = s_due (300, NULL, 0);
    CHECK_INT (seen.count, 3);
    CHECK_STR (seen.ids [0], "a1");
    CHECK_INT (s_due_of ("b", NULL, 0), 0);

    //  Firing one that was fired is refused: no effect happens twice.
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_timers_fire (s_timers, txn, "b", &r), RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "id");
    rb_txn_destroy (&txn);

    //  A repeating timer: fired and set again in the same transaction.
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_timers_fire (s_timers, txn, "c", &r), RB_OK);
    CHECK_INT (rb_timers_set (s_timers, txn, "c", 800, "again", 5, &r), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    CHECK_INT (s_due_of ("c", NULL, 0), 800);

}

//  Counts a visit that fires each one; for visits longer than s_seen_t holds.
typedef struct {
    rb_txn_t *txn;
    size_t count;
    int64_t last_due;
    bool in_order;
} s_count_t;

static int
s_count_fire (const rb_timer_t *timer, void *arg)
{
    s_count_t *c = arg;
    rb_refusal_t r;
    if (timer->due_ms < c->last_due)
        c->in_order = false;
    c->last_due = timer->due_ms;
    c->count++;
    CHECK_INT (rb_timers_fire (s_timers, c->txn, timer->id, &r), RB_OK);
    return 0;
}

static void
s_test_many (void)
{
    rb_test_section ("more than one chunk of due timers, fired while visited");
    rb_refusal_t r;
    char id [32];
    for (int i = 0; i < 150; i++) {
        snprintf (id, sizeof id, "bulk/%03d", 149 - i);
        CHECK_INT (s_set (id, 400 + i, "bulk", &r), RB_OK);
    }
    s_count_t c = { .in_order = true };
    CHECK_INT (rb_txn_begin (s_store, true, &c.txn), RB_OK);
    CHECK_INT (rb_timers_due (s_timers, c.txn, 600, NULL, 100, s_count_fire, &c), RB_OK);
    CHECK_UINT (c.count, 100);
    CHECK (c.in_order);
    CHECK_INT (rb_timers_due (s_timers, c.txn, 600, NULL, 0, s_count_fire, &c), RB_OK);
    CHECK_UINT (c.count, 152);          //  a1 and a2 (due 200) came first, then 150 bulk
    CHECK_INT (rb_txn_commit (&c.txn), RB_OK);
    s_seen_t seen = s_due (INT64_MAX, NULL, 0);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.ids [0], "c");
    CHECK_STR (seen.ids [1], "later");
}

static void
s_test_refusals (void)
{
    rb_test_section ("bad ids, due times and payloads are refused by name, nothing written");
    rb_refusal_t r;
    char long_id [RB_TIMER_ID_MAX + 2], big [RB_TIMER_PAYLOAD_MAX + 2];
    memset (long_id, 'x', sizeof long_id - 1);
    long_id [sizeof long_id - 1] = 0;
    CHECK_INT (s_set (long_id, 100, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "id");
    long_id [RB_TIMER_ID_MAX] = 0;      //  exactly 64 bytes is fine
    CHECK_INT (s_set (long_id, 100, NULL, &r), RB_OK);
    CHECK_INT (s_set ("", 100, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "id");
    CHECK_INT (s_set (NULL, 100, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "id");
    CHECK_INT (s_set ("with space", 100, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "id");
    CHECK_INT (s_set ("ok", 0, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "due_ms");
    CHECK_INT (s_set ("ok", -5, NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "due_ms");
    memset (big, 'p', sizeof big - 1);
    big [sizeof big - 1] = 0;
    CHECK_INT (s_set ("ok", 100, big, &r), RB_ETOOLARGE);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "payload");
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_timers_set (s_timers, txn, "ok", 100, NULL, 3, &r), RB_EMISSING);
    CHECK_REFUSAL (&r, RB_EMISSING, "payload");
    rb_txn_destroy (&txn);
    big [RB_TIMER_PAYLOAD_MAX] = 0;     //  exactly 1 KiB is fine
    CHECK_INT (s_set ("big", 100, big, &r), RB_OK);
    CHECK_INT (s_due_of ("ok", NULL, 0), 0);

    //  A refused move leaves the timer where it was.
    CHECK_INT (s_set ("c", -1, "moved", &r), RB_EINVALID);
    char payload [64];
    CHECK_INT (s_due_of ("c", payload, sizeof payload), 800);
    CHECK_STR (payload, "again");

    rb_timer_t timer;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_timers_cancel (s_timers, txn, "", NULL, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "id");
    CHECK_INT (rb_timers_fire (s_timers, txn, "a b", &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "id");
    CHECK_INT (rb_timers_get (s_timers, txn, "", &timer), RB_EINVALID);
    CHECK_INT (rb_timers_fire (s_timers, txn, long_id, &r), RB_OK);
    CHECK_INT (rb_timers_fire (s_timers, txn, "big", &r), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

static void
s_test_reopen (void)
{
    rb_test_section ("reopening the store finds the timers: they are durable");
    rb_timers_destroy (&s_timers);
    rb_timers_destroy (&s_timers);      //  idempotent
    rb_store_destroy (&s_store);
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_open ();
    s_seen_t seen = s_due (INT64_MAX, NULL, 0);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.ids [0], "c");
    CHECK_INT (seen.due [0], 800);
    CHECK_STR (seen.ids [1], "later");
    CHECK_STR (seen.payload, "later");
    seen = s_fire_due (1000, 0, true);
    CHECK_INT (seen.count, 2);
    CHECK_INT (s_due (INT64_MAX, NULL, 0).count, 0);
}

static void
s_test_damage (void)
{
    rb_test_section ("a damaged record is a storage error, never a crash");
    rb_refusal_t r;
    rb_table_t ids, due;
    CHECK_INT (rb_store_table (s_store, "timer_id", &ids), RB_OK);
    CHECK_INT (rb_store_table (s_store, "timer_due", &due), RB_OK);
    rb_txn_t *txn;
    rb_timer_t timer;
    uint8_t junk [3] = { 1, 2, 3 };
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, ids, rb_val_str ("odd"), (rb_val_t) { junk, 3 }), RB_OK);
    CHECK_INT (rb_timers_get (s_timers, txn, "odd", &timer), RB_ESTORE);
    CHECK_INT (rb_timers_set (s_timers, txn, "odd", 10, NULL, 0, &r), RB_ESTORE);
    CHECK_INT (rb_txn_put (txn, due, (rb_val_t) { junk, 3 }, (rb_val_t) { junk, 3 }), RB_OK);
    s_seen_t seen = { .count = 0 };
    CHECK_INT (rb_timers_due (s_timers, txn, INT64_MAX, NULL, 0, s_collect, &seen), RB_ESTORE);
    rb_txn_destroy (&txn);
}

int
main (void)
{
    rb_test_begin ("timers");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_open ();
    s_test_set_get_cancel ();
    s_test_order_and_paging ();
    s_test_fire ();
    s_test_many ();
    s_test_refusals ();
    s_test_reopen ();
    s_test_damage ();
    rb_timers_destroy (&s_timers);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
