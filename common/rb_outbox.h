/*  rb_outbox: the sender's half of the delivery protocol, on disk.
 *
 *  For every peer the node keeps an ordered queue of the envelopes it has
 *  accepted for that peer and not yet seen acknowledged, plus two numbers:
 *  the last sequence number assigned and the last acknowledged. Envelopes
 *  are numbered 1, 2, 3, ... per destination without gaps, so the receiver
 *  can deduplicate and spot gaps with one counter per origin. Nothing of the
 *  queue lives in memory: links read batches straight from the map, which
 *  is what keeps memory flat while a peer is down for hours.
 *
 *  Table: "outbox" (peer NUL seq(be64) -> packed Envelope). The two
 *  numbers sit in the same table under the two seqs no envelope has, each
 *  on the leaf page the commits that change it write anyway: acked(be64)
 *  under seq 0, before the queue, where trims delete; assigned(be64)
 *  under seq 0xff x 8, after it, where new envelopes are put. So a commit
 *  that queues or trims writes no page for them alone. Earlier versions
 *  kept both in a table of their own, "outstate" (peer -> assigned
 *  acked): they are read there while the peer has neither key in
 *  "outbox", and the commit that next writes either puts both in
 *  "outbox" and deletes them from "outstate", so a store moves over by
 *  itself and never holds both. "outstate" is opened for that and
 *  nothing else.
 */
#ifndef RB_OUTBOX_H
#define RB_OUTBOX_H

#include "rb_store.h"
#include "rb_wire.h"

typedef struct _rb_outbox_t rb_outbox_t;

typedef struct {
    uint64_t assigned;      //  last origin_seq given out, 0 when none
    uint64_t acked;         //  acknowledged up to and including this seq
} rb_outstate_t;

//  Open the outbox tables in store. The store must outlive the outbox.
rb_outbox_t *rb_outbox_new (rb_store_t *store);

//  Destroy and null the caller's pointer.
void rb_outbox_destroy (rb_outbox_t **self_p);

//  Read a peer's numbers; all zero for a peer never written to.
rb_err_t rb_outbox_state (rb_outbox_t *self, rb_txn_t *txn, const char *peer,
                          rb_outstate_t *state);

//  Give envelope the next origin_seq for peer, pack and store it. On
//  failure why says what went wrong: RB_EPRECONDITION on origin_seq when
//  the stream has given out RB_WIRE_SEQ_MAX already (nothing written), or
//  a storage error.
rb_err_t rb_outbox_append (rb_outbox_t *self, rb_txn_t *txn, const char *peer,
                           Regiebus__Envelope *envelope, rb_refusal_t *why);

//  Build a Batch of the envelopes after seq `after`: at most max_count of
//  them and about max_bytes. Returns NULL when there is nothing to send or
//  on error (err says which); *count is the number of envelopes in it.
zframe_t *rb_outbox_batch (rb_outbox_t *self, rb_txn_t *txn, const char *peer,
                           uint64_t after, size_t max_count, size_t max_bytes,
                           size_t *count, rb_err_t *err);

//  Record an acknowledgement up to `upto` and delete what it covers.
//  RB_EINVALID when upto is beyond what was ever assigned.
rb_err_t rb_outbox_ack (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t upto);

//  Visit the envelopes queued for peer with after < seq <= upto in order,
//  as stored (a packed Envelope), before an acknowledgement deletes them.
//  A non-zero return from visit stops the walk and is returned.
typedef rb_err_t (rb_outbox_visit_fn) (uint64_t seq, rb_val_t envelope, void *arg);
rb_err_t rb_outbox_each (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t after,
                         uint64_t upto, rb_outbox_visit_fn *visit, void *arg);

//  recorded_at_ms of the oldest envelope not acknowledged, 0 when none.
//  acked is what the peer acknowledged beyond what the outbox records
//  (the link trims the outbox lazily); 0 when nothing more is known.
int64_t rb_outbox_oldest (rb_outbox_t *self, rb_txn_t *txn, const char *peer, uint64_t acked);

#endif
