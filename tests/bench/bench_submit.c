/*  bench_submit: streams of events submitted to a node's API; see
 *  bench_submit.h.
 */
#include "bench_submit.h"
#include "bench.h"

#define S_NS 1000000000.0
#define S_REPLY_MS 5000         //  longest wait for one submit's reply

int
bench_submit_new (bench_submit_t *self, size_t capacity, const char *destination, int kind,
                  char **cases, size_t case_count, const uint8_t *payload, size_t payload_bytes)
{
    memset (self, 0, sizeof *self);
    self->capacity = capacity;
    self->cases = cases;
    self->case_count = case_count;
    self->items = calloc (capacity, sizeof *self->items);
    self->list = calloc (capacity, sizeof *self->list);
    self->keys = calloc (capacity, sizeof *self->keys);
    self->payload = malloc (payload_bytes? payload_bytes: 1);
    if (!self->items || !self->list || !self->keys || !self->payload || !case_count) {
        bench_submit_destroy (self);
        return -1;
    }
    for (size_t i = 0; i < payload_bytes; i++)
        self->payload [i] = payload? payload [i]: (uint8_t) i;
    for (size_t i = 0; i < capacity; i++) {
        Regiebus__Submission *s = &self->items [i];
        regiebus__submission__init (s);
        s->idempotency_key = self->keys [i];
        s->destination = (char *) destination;
        s->kind = (Regiebus__EventKind) kind;
        s->payload.data = self->payload;
        s->payload.len = payload_bytes;
        self->list [i] = s;
    }
    regiebus__api_request__init (&self->request);
    regiebus__submit_request__init (&self->submit);
    self->request.call_case = REGIEBUS__API_REQUEST__CALL_SUBMIT;
    self->request.submit = &self->submit;
    self->submit.events = self->list;
    return 0;
}

void
bench_submit_destroy (bench_submit_t *self)
{
    free (self->items);
    free (self->list);
    free (self->keys);
    free (self->payload);
    memset (self, 0, sizeof *self);
}

int
bench_submit_send (bench_submit_t *self, rb_client_t *client, const char *prefix, uint64_t first,
                   size_t count)
{
    if (count > self->capacity)
        return -1;
    for (size_t i = 0; i < count; i++) {
        snprintf (self->keys [i], sizeof self->keys [i], "%s-%llu", prefix, (unsigned long long) (first + i));
        self->items [i].case_pseudonym = self->cases [(first + i) % self->case_count];
    }
    self->submit.n_events = count;
    self->request.request_id = 0;
    return rb_client_send (client, &self->request)? 0: -1;
}

int64_t
bench_submit_accepted (const Regiebus__ApiReply *reply)
{
    if (!reply)
        return -1;
    if (reply->code != REGIEBUS__ERROR_CODE__OK || reply->result_case != REGIEBUS__API_REPLY__RESULT_SUBMIT) {
        fprintf (stderr, "bench: submit refused: code %d field '%s': %s\n", (int) reply->code,
                 reply->field, reply->message);
        return -1;
    }
    return (int64_t) reply->submit->n_accepted;
}

int
bench_submit_stream (bench_submit_t *self, rb_client_t *client, const char *prefix, uint64_t events,
                     size_t per_request, int in_flight, double seconds, uint64_t *accepted,
                     int64_t *accepted_ns)
{
    uint64_t sent = 0;
    int outstanding = 0, rc = 0;
    int64_t deadline = bench_now_ns () + (int64_t) (seconds * S_NS);
    *accepted = 0;
    *accepted_ns = bench_now_ns ();
    //  Bounded: at most events / per_request sends, each reply waited for
    //  at most S_REPLY_MS, and no new sends after the deadline.
    while (!rc) {
        while (outstanding < in_flight && sent < events && bench_now_ns () < deadline) {
            size_t count = events - sent < per_request? events - sent: per_request;
            if (bench_submit_send (self, client, prefix, sent, count)) {
                rc = -1;
                break;
            }
            sent += count;
            outstanding++;
        }
        if (outstanding == 0)
            break;
        Regiebus__ApiReply *reply = rb_client_recv (client, S_REPLY_MS);
        int64_t n = bench_submit_accepted (reply);
        rb_wire_free (&reply);
        if (n < 0) {
            fprintf (stderr, "bench: no good reply to a submit within %d ms\n", S_REPLY_MS);
            rc = -1;
            break;
        }
        *accepted += (uint64_t) n;
        *accepted_ns = bench_now_ns ();
        outstanding--;
    }
    return rc;
}

int
bench_submit_paced (rb_client_t *client, uint64_t rate, uint64_t total, bench_send_fn *send,
                    bench_reply_fn *on_reply, void *arg, int settle_ms, int64_t *sent_ns,
                    double *achieved)
{
    int64_t period = (int64_t) (S_NS / (double) rate);
    int64_t first = bench_now_ns (), next = first, last = first, settle = 0;
    uint64_t sent = 0, replies = 0;
    int rc = 0;
    //  Bounded: exactly total sends, one per tick; between ticks, replies
    //  are waited for at most until the next tick; after the last send,
    //  at most settle_ms.
    while (!rc && replies < total) {
        int64_t now = bench_now_ns ();
        if (sent < total && now >= next) {
            rc = send (arg, client, sent);
            last = sent_ns [sent++] = now;
            next += period;
            if (sent == total)
                settle = now + (int64_t) settle_ms * 1000000;
            continue;
        }
        if (sent == total && now >= settle)
            break;
        int64_t until = sent < total? next: settle;
        Regiebus__ApiReply *reply = rb_client_recv (client, (int) ((until - now + 999999) / 1000000));
        int64_t at = bench_now_ns ();
        if (reply) {
            replies++;
            rc = on_reply (arg, reply, at);
        }
        rb_wire_free (&reply);
    }
    *achieved = sent > 1 && last > first? (double) (sent - 1) / ((double) (last - first) / S_NS): 0;
    if (!rc && replies < total)
        fprintf (stderr, "bench: %llu of %llu requests answered within %d ms of the last\n",
                 (unsigned long long) replies, (unsigned long long) total, settle_ms);
    return rc;
}
