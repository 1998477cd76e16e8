/*  rb_inbox: the receiver's half of the delivery protocol, on disk.
 *
 *  Per origin the node remembers one number: the highest origin_seq it has
 *  processed. A batch is applied entry by entry inside the caller's write
 *  transaction: an entry at or below that number is a duplicate and is
 *  skipped; an entry beyond the next is a gap, and the rest of the batch is
 *  left for the sender to resend; the next entry is decoded and checked. A
 *  valid envelope is stored as received; an invalid one is stored as a dead
 *  letter with its refusal, so the stream moves on and nothing is dropped
 *  silently. The caller acknowledges only after its commit.
 *
 *  Tables: "inbox" (origin NUL seq(be64) -> envelope, and under seq 0xff
 *  x 8, which no envelope has, the origin's last seq(be64)) and
 *  "deadletter" (origin NUL seq -> code, field, message, bytes). The last
 *  seq sorts after the origin's envelopes, on the leaf page its next ones
 *  are put on, so a commit that applies a batch writes no page for it
 *  alone. Earlier versions kept it in a table of its own, "instate"
 *  (origin -> last seq): it is read there while the origin has none in
 *  "inbox", and the commit that next writes it puts it in "inbox" and
 *  deletes it from "instate", so a store moves over by itself and never
 *  holds both. "instate" is opened for that and nothing else.
 *  With an audit set, each entry processed is also an audit record.
 */
#ifndef RB_INBOX_H
#define RB_INBOX_H

#include "rb_audit.h"
#include "rb_store.h"
#include "rb_wire.h"

typedef struct _rb_inbox_t rb_inbox_t;

//  What applying one batch did.
typedef struct {
    uint64_t committed;     //  last seq processed for the origin afterwards
    bool gap;               //  the batch skipped ahead of committed + 1
    uint64_t accepted;      //  envelopes stored as received
    uint64_t duplicates;    //  envelopes already processed before
    uint64_t refused;       //  envelopes stored as dead letters
} rb_batch_result_t;

//  Called for every refused envelope, with its seq and why.
typedef void (rb_inbox_refused_fn) (uint64_t seq, const rb_refusal_t *why, void *arg);

//  Called for every valid envelope inside the batch's transaction, so that
//  what a daemon derives from it commits or vanishes with it. A refusal
//  (fill why, return its code) turns the envelope into a dead letter: the
//  batch is applied again from the start with that envelope refused and
//  the handler not called for it, so none of its writes remain, and the
//  stream moves on. RB_EFULL, RB_ESTORE or RB_EINTERNAL fail the whole
//  batch, which the sender then sends again. A handler must therefore be
//  repeatable: its effects outside txn may happen more than once.
typedef rb_err_t (rb_inbox_handler_fn) (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg,
                                        rb_refusal_t *why);

//  Called when a pass over a batch is abandoned to be applied again (a
//  handler refused an envelope): whatever the handler did outside txn in
//  that pass, such as counting, is to be forgotten.
typedef void (rb_inbox_restart_fn) (void *arg);

//  Open the inbox tables. The store must outlive the inbox.
rb_inbox_t *rb_inbox_new (rb_store_t *store, const char *self_name, size_t max_payload);

//  Destroy and null the caller's pointer.
void rb_inbox_destroy (rb_inbox_t **self_p);

//  Set the handler for accepted envelopes (NULL for none).
void rb_inbox_set_handler (rb_inbox_t *self, rb_inbox_handler_fn *handler, void *arg);

//  Set what to tell when a pass is abandoned (NULL for nobody).
void rb_inbox_set_restart (rb_inbox_t *self, rb_inbox_restart_fn *restart, void *arg);

//  Record every entry processed in audit (NULL: none), in the batch's
//  transaction, before the handler sees it: RB_AUDIT_RECEIVED with code
//  0, or the refusal's code for a dead letter. A pass that is abandoned
//  takes its records with it, so the caller rewinds the audit as it puts
//  back its other counts (see rb_inbox_restart_fn).
void rb_inbox_set_audit (rb_inbox_t *self, rb_audit_t *audit);

//  Highest processed seq from origin, 0 when none.
rb_err_t rb_inbox_last (rb_inbox_t *self, rb_txn_t *txn, const char *origin, uint64_t *seq);

//  Apply a batch from origin (the authenticated peer) in a child of txn,
//  committed into txn when it holds. Returns a storage error, or
//  RB_EINVALID for a batch whose seqs are not all 1 to RB_WIRE_SEQ_MAX
//  (rb_wire_batch_check: the node refuses such a frame before), and then
//  txn holds nothing of the batch; refusals are reported through
//  on_refused, after the batch held, and counted in result.
rb_err_t rb_inbox_apply (rb_inbox_t *self, rb_txn_t *txn, const char *origin,
                         const Regiebus__Batch *batch, rb_inbox_refused_fn *on_refused,
                         void *arg, rb_batch_result_t *result);

//  Visit received envelopes in (origin, seq) order: from origin after seq
//  `after`, or from every origin when origin is empty. The origins' last
//  seqs, in the same table, are never visited. visit returns non-zero to
//  stop.
rb_err_t rb_inbox_list (rb_inbox_t *self, rb_txn_t *txn, const char *origin, uint64_t after,
                        rb_visit_fn *visit, void *arg);

#endif
