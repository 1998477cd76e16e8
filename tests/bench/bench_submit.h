/*  bench_submit: streams of events submitted to a node's API.
 *
 *  One reusable SubmitRequest of up to `capacity` events, all of one kind
 *  with one payload, for one destination; event n of a stream is about
 *  cases [n % case_count] and has the idempotency key PREFIX-n. The link
 *  throughput sends TEST events this way; a region's holder nodes send
 *  the PARENT_LINK, INVOLVEMENT and ABSENCE_SIGNAL envelopes with which
 *  they play portal, care and school on the wire.
 */
#ifndef RB_BENCH_SUBMIT_H
#define RB_BENCH_SUBMIT_H

#include "rb_client.h"

typedef struct {
    Regiebus__ApiRequest request;       //  sent again and again
    Regiebus__SubmitRequest submit;     //  its call
    Regiebus__Submission *items;        //  capacity submissions
    Regiebus__Submission **list;        //  pointers to them
    char (*keys) [32];                  //  their idempotency keys
    uint8_t *payload;                   //  the one payload, owned
    char **cases;                       //  the cases events are about, borrowed
    size_t case_count;                  //  entries in cases
    size_t capacity;                    //  most events per request
} bench_submit_t;

//  Prepare requests of up to capacity events of kind for destination,
//  about cases (borrowed, case_count of them), each with a copy of the
//  payload, or payload_bytes bytes of a pattern when payload is NULL.
int bench_submit_new (bench_submit_t *self, size_t capacity, const char *destination, int kind,
                      char **cases, size_t case_count, const uint8_t *payload,
                      size_t payload_bytes);

void bench_submit_destroy (bench_submit_t *self);

//  Send events first .. first+count-1 in one request. 0 when sent.
int bench_submit_send (bench_submit_t *self, rb_client_t *client, const char *prefix,
                       uint64_t first, size_t count);

//  Events accepted by an OK submit reply; -1 (and a line on stderr) for
//  anything else.
int64_t bench_submit_accepted (const Regiebus__ApiReply *reply);

//  Submit events 0 .. events-1 in requests of per_request with in_flight
//  outstanding, sending nothing new after seconds. accepted gets how many
//  were accepted, accepted_ns when the last reply came. 0 when every
//  reply was an OK in time (each is waited for at most 5 s).
int bench_submit_stream (bench_submit_t *self, rb_client_t *client, const char *prefix,
                         uint64_t events, size_t per_request, int in_flight, double seconds,
                         uint64_t *accepted, int64_t *accepted_ns);

//  A paced run: request n (from 0) is sent by send, every reply goes to
//  on_reply with the time it arrived; either returns 0 to go on.
typedef int (bench_send_fn) (void *arg, rb_client_t *client, uint64_t n);
typedef int (bench_reply_fn) (void *arg, Regiebus__ApiReply *reply, int64_t at_ns);

//  Send total requests, one per 1/rate s by absolute deadlines (a late
//  tick is sent at once, never skipped), noting in sent_ns [n] when each
//  went; take replies between ticks and then until every request has one
//  or settle_ms passed. achieved gets the rate actually made. 0 when
//  every request was sent and no callback failed; a request still without
//  a reply is said on stderr and left to the caller to count.
int bench_submit_paced (rb_client_t *client, uint64_t rate, uint64_t total, bench_send_fn *send,
                        bench_reply_fn *on_reply, void *arg, int settle_ms, int64_t *sent_ns,
                        double *achieved);

#endif
