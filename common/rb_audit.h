/*  rb_audit: the node's tamper-evident record of who got and saw what.
 *
 *  Every node keeps one append-only chain of audit records in its store:
 *  an envelope received from a peer (committed or dead-lettered), an
 *  envelope a peer acknowledged, a notification stored for one of the
 *  node's actors, shown to a user, acknowledged by a user. A record holds
 *  only ids, pseudonyms, node names, codes, roles and the user or account
 *  id the node's own users act under: never a citizen number or a name.
 *
 *  A record is appended in the transaction that writes the fact it
 *  records, so the two commit together or not at all: the audit and the
 *  store never disagree, whatever crashes. Record n's hash is
 *
 *      hash(n) = BLAKE2b-256 (hash(n-1) || canonical bytes of record n)
 *
 *  with hash(0) = 32 zero bytes, so changing, removing or reordering any
 *  record breaks every hash after it; the head (the last seq and hash),
 *  kept beside the chain, shows a tail that was cut off.
 *
 *  Canonical bytes of a record (integers big-endian, signed ones in two's
 *  complement; every field always present, in this order):
 *
 *      u8  format (1)          u8  kind            u64 seq
 *      i64 at_ms               u64 stream_seq      u32 event_kind
 *      u32 code                u32 role
 *      then five fields, each a u8 length n and n bytes:
 *      event_id (0 or 16)      notification_id (0 or 16)
 *      peer (n <= 63)          case (0, or 32: the 64 hex characters as bytes)
 *      who (n <= 64)
 *
 *  Fixed widths and length prefixes make the bytes of two different
 *  records always differ, and decoding checks that the lengths add up to
 *  the stored size exactly.
 *
 *  Table "audit": key seq be64 -> canonical bytes || hash (32); key
 *  0xff x 8 (after every record) -> the head: seq be64 || hash (32). The
 *  head sorts last so that it sits on the leaf page the new records go
 *  to: one transaction writes one page of the table's end, where a head
 *  at the front cost a second leaf and branch in every commit. A store
 *  from before keeps its head under key 0 (no record has seq 0) until
 *  the next commit that appends moves it.
 *
 *  The position of the chain's end lives in memory as well, so appending
 *  costs one put: whoever opens a child transaction around appends and
 *  drops it takes the position before (rb_audit_tell) and puts it back
 *  (rb_audit_rewind); the head is written once per transaction
 *  (rb_audit_stage) and made the truth when that commit holds
 *  (rb_audit_committed).
 */
#ifndef RB_AUDIT_H
#define RB_AUDIT_H

#include "rb_clock.h"
#include "rb_config.h"
#include "rb_store.h"
#include "rb_wire.h"

#define RB_AUDIT_HASH_SIZE 32
#define RB_AUDIT_WHO_MAX 64             //  longest user or account id

typedef struct _rb_audit_t rb_audit_t;

//  What a record says happened (the wire's AuditKind).
typedef enum {
    RB_AUDIT_RECEIVED = 1,          //  an envelope from peer: committed (code 0) or a dead letter
    RB_AUDIT_DELIVERED = 2,         //  peer acknowledged an envelope this node sent it
    RB_AUDIT_NOTICE_STORED = 3,     //  a notification stored for one of this node's actors
    RB_AUDIT_NOTICE_SHOWN = 4,      //  a notification listed to a user (who: the account, "" none)
    RB_AUDIT_NOTICE_ACKED = 5,      //  a notification acknowledged by who
} rb_audit_kind_t;

#define RB_AUDIT_KIND_MAX 5

//  One record. Unused fields are zero or "".
typedef struct {
    uint64_t seq;                   //  place in the chain from 1; set by append
    int64_t at_ms;                  //  node clock when it happened; set by append
    rb_audit_kind_t kind;
    char peer [RB_NAME_MAX + 1];    //  the other node: origin, destination, or where a notice came from
    uint64_t stream_seq;            //  deliveries: origin_seq; notices: the local notice number
    uint32_t event_kind;            //  the envelope's kind; for notices the notification's subject
    uint32_t code;                  //  received: 0, or the refusal that made it a dead letter
    uint32_t role;                  //  notices: the recipient role
    uint8_t event_id [16];          //  the envelope's event id
    uint8_t notification_id [16];   //  notices: the notification id
    char case_pseudonym [RB_PSEUDONYM_LEN + 1];
    char who [RB_AUDIT_WHO_MAX + 1];    //  shown: the account; acknowledged: by whom
    uint8_t hash [RB_AUDIT_HASH_SIZE];  //  set by append
} rb_audit_rec_t;

//  Where the chain ends: the last seq and its hash.
typedef struct {
    uint64_t seq;
    uint8_t hash [RB_AUDIT_HASH_SIZE];
} rb_audit_pos_t;

//  What a walk of the chain found (the wire's AuditProblem).
typedef enum {
    RB_AUDIT_INTACT = 0,            //  every record and the head hold
    RB_AUDIT_HASH_MISMATCH = 1,     //  a record's hash is not what its bytes and the previous hash give
    RB_AUDIT_GAP = 2,               //  a seq is missing
    RB_AUDIT_BAD_ENCODING = 3,      //  a record does not decode
    RB_AUDIT_TRUNCATED = 4,         //  the head is beyond the last record: the tail is gone
    RB_AUDIT_HEAD_MISMATCH = 5,     //  the head does not match the last record
} rb_audit_problem_t;

typedef struct {
    rb_audit_problem_t problem;
    uint64_t count;                 //  records that held, from 1 on
    rb_audit_pos_t head;            //  the last record that held (seq 0: none)
    uint64_t broken_seq;            //  the first record that does not hold; 0 when intact
    char detail [160];              //  what is wrong with it, in words
} rb_audit_check_t;

//  Open the table and read the head. clock gives records their time;
//  NULL opens it only to verify and list (a read-only store). NULL when
//  the table cannot be opened (RB_ENOTFOUND in a read-only store without
//  one goes to err, which may be NULL). Call at start, before other
//  transactions.
rb_audit_t *rb_audit_new (rb_store_t *store, rb_clock_t *clock, rb_err_t *err);

//  Free and null the caller's pointer. Idempotent.
void rb_audit_destroy (rb_audit_t **self_p);

//  Append rec inside txn (a write transaction): its seq, time and hash are
//  filled in. A storage error leaves the position as it was.
rb_err_t rb_audit_append (rb_audit_t *self, rb_txn_t *txn, rb_audit_rec_t *rec);

//  Fill rec's peer, stream_seq, event kind, event id and case from an
//  envelope (NULL: none known), with kind; the rest zero.
void rb_audit_of_envelope (rb_audit_rec_t *rec, rb_audit_kind_t kind, const char *peer,
                           const Regiebus__Envelope *e);

//  The position now, and going back to one taken before: for a child
//  transaction that is dropped after appending.
rb_audit_pos_t rb_audit_tell (rb_audit_t *self);
void rb_audit_rewind (rb_audit_t *self, const rb_audit_pos_t *pos);

//  Write the head into txn when records were appended since the last
//  commit; call last before committing the transaction that holds them.
rb_err_t rb_audit_stage (rb_audit_t *self, rb_txn_t *txn);

//  That commit held (ok), or failed and took the appended records with it.
void rb_audit_committed (rb_audit_t *self, bool ok);

//  Records committed so far (the committed head's seq).
uint64_t rb_audit_count (rb_audit_t *self);

//  Walk the whole chain in txn (read-only is enough) and say whether it
//  holds, or which record first does not and why. RB_OK whatever it
//  found; a storage error only when the store cannot be read.
rb_err_t rb_audit_verify (rb_audit_t *self, rb_txn_t *txn, rb_audit_check_t *check);

//  Visit records with seq > after in order, at most limit (0: no limit);
//  the visitor returns non-zero to stop. A record that does not decode
//  ends the walk with RB_ESTORE.
typedef int (rb_audit_visit_fn) (const rb_audit_rec_t *rec, void *arg);
rb_err_t rb_audit_list (rb_audit_t *self, rb_txn_t *txn, uint64_t after, size_t limit,
                        rb_audit_visit_fn *visit, void *arg);

//  The wire's AuditRecord and AuditVerifyReply (regiebus.proto) of a
//  record and of a walk's result; out points into what it was made of.
void rb_audit_to_wire (rb_audit_rec_t *rec, Regiebus__AuditRecord *out);
void rb_audit_check_to_wire (rb_audit_check_t *check, Regiebus__AuditVerifyReply *out);

//  A page of records in the wire's form: reply is an AuditListReply of
//  the records with seq > after, at most limit (from 1), more set when
//  there are others after them.
typedef struct {
    Regiebus__AuditListReply reply; //  points into the rest
    rb_audit_rec_t *recs;
    Regiebus__AuditRecord *items;
    Regiebus__AuditRecord **list;
    size_t limit;
} rb_audit_page_t;

//  Read a page in txn; NULL with *err set on a storage error, a damaged
//  record (RB_ESTORE) or no memory (RB_EINTERNAL).
rb_audit_page_t *rb_audit_page (rb_audit_t *self, rb_txn_t *txn, uint64_t after, size_t limit,
                                rb_err_t *err);
void rb_audit_page_destroy (rb_audit_page_t **page_p);

//  Words for a kind ("received") and a problem ("hash mismatch").
const char *rb_audit_kind_name (rb_audit_kind_t kind);
const char *rb_audit_problem_name (rb_audit_problem_t problem);

//  A hash as 64 lowercase hex characters (out: 65 bytes).
char *rb_audit_hex (const uint8_t hash [RB_AUDIT_HASH_SIZE], char out [65]);

#endif
