/*  unit_link: one peer link, both directions (rb_link.h).
 *
 *  The sender's side is driven against a stand-in for the peer: a ROUTER
 *  with CURVE on (this process runs no zauth, so CURVE alone admits the
 *  link), which reads what the link sends and answers with Acks written by
 *  hand. Time is the monotonic clock, pushed forward where a timeout is
 *  the point. The receiver's side (remembering the peer's routing id and
 *  answering it) is driven over an inproc ROUTER/DEALER pair.
 *
 *  Settings: window 6, batch_events 4, heartbeat 50 ms, retransmit 1 s,
 *  peer timeout 10 s; ten envelopes wait in the outbox for mun-a, two
 *  more arrive while the peer is down.
 */
#include "rb_test.h"
#include "rb_link.h"
#include "rb_clock.h"

#define RETRANSMIT_MS 1000
#define ACK_STAGE_MS 200
#define PEER_TIMEOUT_MS 10000

static rb_store_t *s_store;
static rb_outbox_t *s_outbox;
static zsock_t *s_peer;             //  the stand-in for mun-a's ROUTER
static zframe_t *s_peer_route;      //  routing id of our link at that ROUTER

// ---------------------------------------------------------------------------
//  The stand-in peer

//  Receive the next frame of the given body at the peer, skipping pings
//  unless a ping is what is wanted. NULL after timeout_ms.
static Regiebus__LinkFrame *
s_peer_expect (int body_case, int timeout_ms)
{
    int64_t deadline = rb_clock_mono_ms () + timeout_ms;
    while (rb_clock_mono_ms () < deadline) {
        zsock_set_rcvtimeo (s_peer, (int) (deadline - rb_clock_mono_ms ()) + 1);
        zmsg_t *msg = zmsg_recv (s_peer);
        if (!msg)
            return NULL;
        CHECK_UINT (zmsg_size (msg), 2);
        zframe_destroy (&s_peer_route);
        s_peer_route = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        rb_refusal_t r;
        Regiebus__LinkFrame *frame = rb_wire_link_decode (body, 1 << 20, &r);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
        CHECK (frame);
        if ((int) frame->body_case == body_case)
            return frame;
        rb_wire_free (&frame);
    }
    return NULL;
}

//  Expect a batch at the peer: first_seq and count, each envelope in place.
static void
s_peer_expect_batch (uint64_t first_seq, size_t count, int line)
{
    Regiebus__LinkFrame *frame = s_peer_expect (REGIEBUS__LINK_FRAME__BODY_BATCH, 2000);
    if (!frame)
        rb_test_fail (__FILE__, line, "no batch reached the peer");
    Regiebus__Batch *batch = frame->batch;
    if (batch->first_seq != first_seq || batch->n_envelopes != count)
        rb_test_fail (__FILE__, line, "batch first_seq %llu with %zu envelopes, expected %llu with %zu",
                      (unsigned long long) batch->first_seq, batch->n_envelopes,
                      (unsigned long long) first_seq, count);
    for (size_t i = 0; i < count; i++) {
        Regiebus__Envelope *e = rb_wire_envelope_decode (batch->envelopes [i].data, batch->envelopes [i].len);
        if (!e || e->origin_seq != first_seq + i)
            rb_test_fail (__FILE__, line, "envelope %zu is not seq %llu", i,
                          (unsigned long long) (first_seq + i));
        rb_wire_free (&e);
    }
    rb_wire_free (&frame);
}

#define PEER_EXPECT_BATCH(first, count) s_peer_expect_batch ((first), (count), __LINE__)

//  The peer answers on its ROUTER, to our link's DEALER.
static void
s_peer_send (Regiebus__LinkFrame *frame)
{
    frame->version = RB_WIRE_VERSION;
    zframe_t *route = zframe_dup (s_peer_route);
    zframe_t *body = rb_wire_frame (&frame->base);
    CHECK (zframe_send (&route, s_peer, ZFRAME_MORE) == 0);
    CHECK (zframe_send (&body, s_peer, 0) == 0);
}

static void
s_peer_ack (uint64_t committed, bool gap, int64_t sent_at)
{
    Regiebus__Ack ack = REGIEBUS__ACK__INIT;
    ack.committed_seq = committed;
    ack.gap = gap;
    ack.sent_at_ms = sent_at;
    Regiebus__LinkFrame frame = REGIEBUS__LINK_FRAME__INIT;
    frame.body_case = REGIEBUS__LINK_FRAME__BODY_ACK;
    frame.ack = &ack;
    s_peer_send (&frame);
}

// ---------------------------------------------------------------------------
//  What the node does around a link

//  Receive one frame on the link's DEALER and hand it to the link, as the
//  node's loop does. Returns the frame's body case.
static int
s_link_receive (rb_link_t *link)
{
    zsock_t *dealer = rb_link_socket (link);
    zsock_set_rcvtimeo (dealer, 2000);
    zframe_t *body = zframe_recv (dealer);
    CHECK (body);
    rb_refusal_t r;
    Regiebus__LinkFrame *frame = rb_wire_link_decode (body, 1 << 20, &r);
    zframe_destroy (&body);
    CHECK (frame);
    int body_case = frame->body_case;
    rb_link_on_frame (link, frame, rb_clock_mono_ms ());
    rb_wire_free (&frame);
    return body_case;
}

//  The peer acknowledges; the link hears it.
static void
s_ack (rb_link_t *link, uint64_t committed, bool gap)
{
    s_peer_ack (committed, gap, 0);
    CHECK_INT (s_link_receive (link), REGIEBUS__LINK_FRAME__BODY_ACK);
}

//  Stage acknowledged progress in a group transaction and commit it.
static void
s_commit (rb_link_t *link)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_link_stage (link, txn), RB_OK);
    rb_err_t rc = rb_txn_commit (&txn);
    CHECK_INT (rc, RB_OK);
    rb_link_committed (link, true);
}

//  Send what the window allows, reading batches in a read transaction.
static void
s_pump (rb_link_t *link)
{
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    rb_link_pump (link, txn);
    rb_txn_destroy (&txn);
}

//  Commit count more envelopes for mun-a to the outbox.
static void
s_append (int count)
{
    rb_txn_t *txn;
    rb_refusal_t why;
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    for (int i = 0; i < count; i++) {
        rb_test_envelope_t env;
        rb_test_envelope (&env, "school-a", "mun-a", 0, 1700000000000 + i);
        CHECK_INT (rb_outbox_append (s_outbox, txn, "mun-a", &env.msg, &why), RB_OK);
    }
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
}

static rb_outstate_t
s_stored (void)
{
    rb_txn_t *txn;
    rb_outstate_t state;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_outbox_state (s_outbox, txn, "mun-a", &state), RB_OK);
    rb_txn_destroy (&txn);
    return state;
}

// ---------------------------------------------------------------------------

static void
s_test_keys (rb_config_t *config, zcert_t *cert)
{
    rb_test_section ("a link admits the peer's keys, both while it rotates");
    rb_peer_config_t peer = config->peers [0];
    zcert_t *next = zcert_new ();
    snprintf (peer.next_public_key, sizeof peer.next_public_key, "%s", zcert_public_txt (next));
    rb_link_t *link = rb_link_new (&peer, config, cert, s_outbox);
    CHECK (link);
    CHECK (rb_link_admits (link, peer.public_key));
    CHECK (rb_link_admits (link, peer.next_public_key));
    CHECK (!rb_link_admits (link, zcert_public_txt (cert)));
    CHECK (!rb_link_admits (link, NULL));
    CHECK_STR (rb_link_server_key (link), peer.public_key);

    rb_test_section ("silent for the peer timeout, it connects again with the peer's other key");
    rb_link_tick (link, rb_clock_mono_ms () + PEER_TIMEOUT_MS + 100);
    CHECK_STR (rb_link_server_key (link), peer.next_public_key);
    //  The socket itself now expects the other key (not only the link's
    //  note of it); comparing socket pointers would depend on the allocator.
    CHECK (rb_link_socket (link));
    char *expects = zsock_curve_serverkey (rb_link_socket (link));
    CHECK_STR (expects, peer.next_public_key);
    zstr_free (&expects);
    CHECK (!rb_link_stats (link)->up);

    rb_test_section ("revoked, it admits no key, has no socket and sends nothing");
    peer.revoked = true;
    CHECK_INT (rb_link_configure (link, &peer, cert), RB_OK);
    CHECK (!rb_link_admits (link, peer.public_key));
    CHECK (!rb_link_admits (link, peer.next_public_key));
    CHECK (rb_link_socket (link) == NULL);
    CHECK_STR (rb_link_server_key (link), "");
    rb_link_tick (link, rb_clock_mono_ms () + PEER_TIMEOUT_MS + 100);
    CHECK (rb_link_socket (link) == NULL);

    rb_test_section ("configured again with one key, it connects with that one");
    peer.revoked = false;
    peer.next_public_key [0] = '\0';
    CHECK_INT (rb_link_configure (link, &peer, cert), RB_OK);
    CHECK (rb_link_socket (link));
    CHECK_STR (rb_link_server_key (link), peer.public_key);
    CHECK (!rb_link_admits (link, zcert_public_txt (next)));
    rb_link_destroy (&link);
    zcert_destroy (&next);
}

static void
s_test_sender (rb_config_t *config, zcert_t *cert)
{
    rb_test_section ("a new link loads its numbers and waits for the peer");
    rb_link_t *link = rb_link_new (&config->peers [0], config, cert, s_outbox);
    CHECK (link);
    CHECK_STR (rb_link_name (link), "mun-a");
    CHECK_STR (rb_link_public_key (link), config->peers [0].public_key);
    CHECK (rb_link_socket (link));
    rb_link_stats_t *stats = rb_link_stats (link);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_link_load (link, txn), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_UINT (stats->assigned, 10);
    CHECK_UINT (stats->acked, 0);
    CHECK_UINT (stats->sent, 0);
    CHECK (!stats->up);
    CHECK_INT (stats->heard_mono_ms, 0);
    //  Nothing is sent to a peer that is not up.
    s_pump (link);
    CHECK_UINT (stats->sent, 0);
    CHECK_UINT (stats->batches, 0);

    rb_test_section ("heartbeats go out; the first Ack brings the peer up");
    Regiebus__LinkFrame *ping = NULL;
    int64_t deadline = rb_clock_mono_ms () + 5000;
    while (!ping && rb_clock_mono_ms () < deadline) {
        rb_link_tick (link, rb_clock_mono_ms ());
        ping = s_peer_expect (REGIEBUS__LINK_FRAME__BODY_PING, 20);
    }
    CHECK (ping);
    int64_t sent_at = ping->ping->sent_at_ms;
    CHECK (sent_at > 0);
    rb_wire_free (&ping);
    s_peer_ack (0, false, sent_at);
    CHECK_INT (s_link_receive (link), REGIEBUS__LINK_FRAME__BODY_ACK);
    CHECK (stats->up);
    CHECK (stats->heard_mono_ms > 0);
    CHECK (stats->rtt_ms >= 0 && stats->rtt_ms < 5000);
    CHECK (!rb_link_has_progress (link));

    rb_test_section ("the window bounds what is in flight");
    s_pump (link);
    PEER_EXPECT_BATCH (1, 4);
    PEER_EXPECT_BATCH (5, 2);
    CHECK_UINT (stats->sent, 6);
    CHECK_UINT (stats->batches, 2);
    s_pump (link);                      //  no credit left: nothing more
    CHECK_UINT (stats->sent, 6);

    rb_test_section ("an Ack moves acked at once; the outbox trim is staged, then committed");
    s_ack (link, 4, false);
    CHECK (rb_link_has_progress (link));
    CHECK_UINT (stats->acked, 4);       //  what the peer holds, at once
    CHECK_UINT (rb_link_stored (link), 0);  //  the outbox: not yet trimmed
    CHECK_UINT (s_stored ().acked, 0);
    //  Four of a window of six wait to be trimmed: worth a commit now.
    int64_t acked_at = rb_clock_mono_ms ();
    CHECK (rb_link_stage_due (link, acked_at));
    s_commit (link);
    CHECK_UINT (stats->acked, 4);
    CHECK_UINT (rb_link_stored (link), 4);
    CHECK (!rb_link_has_progress (link));
    CHECK (!rb_link_stage_due (link, acked_at + ACK_STAGE_MS + 100));
    CHECK_UINT (s_stored ().acked, 4);
    //  Credit came back: the rest goes out.
    s_pump (link);
    PEER_EXPECT_BATCH (7, 4);
    CHECK_UINT (stats->sent, 10);

    rb_test_section ("a small trim waits link/ack_stage_ms for a commit to ride with");
    s_ack (link, 6, false);
    acked_at = rb_clock_mono_ms ();
    CHECK (!rb_link_stage_due (link, acked_at));
    CHECK (rb_link_stage_due (link, acked_at + ACK_STAGE_MS + 100));

    rb_test_section ("a group commit that fails leaves the trim pending");
    CHECK_INT (rb_txn_begin (s_store, true, &txn), RB_OK);
    CHECK_INT (rb_link_stage (link, txn), RB_OK);
    rb_txn_destroy (&txn);
    rb_link_committed (link, false);
    CHECK_UINT (stats->acked, 6);
    CHECK_UINT (rb_link_stored (link), 4);
    CHECK_UINT (s_stored ().acked, 4);
    CHECK (rb_link_has_progress (link));
    s_commit (link);                    //  the next commit carries it
    CHECK_UINT (rb_link_stored (link), 6);
    CHECK_UINT (s_stored ().acked, 6);

    rb_test_section ("an Ack beyond what was assigned is ignored");
    s_ack (link, 11, false);
    CHECK (!rb_link_has_progress (link));
    CHECK_UINT (stats->acked, 6);
    CHECK_UINT (stats->sent, 10);

    rb_test_section ("a gap rewinds to the receiver's position, once per gap");
    uint64_t retransmits = stats->retransmits;
    s_ack (link, 8, true);
    CHECK_UINT (stats->sent, 8);
    CHECK_UINT (stats->retransmits, retransmits + 2);
    s_pump (link);
    PEER_EXPECT_BATCH (9, 2);
    CHECK_UINT (stats->sent, 10);
    //  The same gap reported by the next batch in flight: no second rewind.
    s_ack (link, 8, true);
    CHECK_UINT (stats->sent, 10);
    CHECK_UINT (stats->retransmits, retransmits + 2);
    s_commit (link);
    CHECK_UINT (stats->acked, 8);

    rb_test_section ("no acknowledgement progress for retransmit_ms: resend");
    int64_t now = rb_clock_mono_ms ();
    rb_link_tick (link, now + RETRANSMIT_MS / 2);
    CHECK_UINT (stats->sent, 10);       //  not yet
    rb_link_tick (link, now + RETRANSMIT_MS + 100);
    CHECK_UINT (stats->sent, 8);
    CHECK_UINT (stats->retransmits, retransmits + 4);
    CHECK (stats->up);
    s_pump (link);
    PEER_EXPECT_BATCH (9, 2);

    rb_test_section ("silence for peer_timeout_ms: the peer is down, nothing is sent");
    rb_link_tick (link, now + PEER_TIMEOUT_MS + 100);
    CHECK (!stats->up);
    //  Two more envelopes are committed while the peer is down.
    s_append (2);
    rb_link_assigned (link, 12);
    uint64_t batches = stats->batches;
    s_pump (link);
    CHECK_UINT (stats->batches, batches);
    CHECK_UINT (stats->sent, 10);

    rb_test_section ("any Ack brings it back up; sending resumes after what it confirms");
    s_ack (link, 8, false);
    CHECK (stats->up);
    CHECK_UINT (stats->sent, 8);
    s_pump (link);
    PEER_EXPECT_BATCH (9, 4);
    CHECK_UINT (stats->sent, 12);
    s_ack (link, 12, false);
    s_commit (link);
    CHECK_UINT (stats->acked, 12);
    CHECK_UINT (s_stored ().acked, 12);

    rb_test_section ("a Refusal from the peer is counted");
    Regiebus__Refusal refusal = REGIEBUS__REFUSAL__INIT;
    refusal.code = REGIEBUS__ERROR_CODE__OUT_OF_SEQUENCE;
    refusal.field = "envelopes[0].origin_seq";
    refusal.message = "test";
    refusal.seq = 9;
    Regiebus__LinkFrame frame = REGIEBUS__LINK_FRAME__INIT;
    frame.body_case = REGIEBUS__LINK_FRAME__BODY_REFUSAL;
    frame.refusal = &refusal;
    s_peer_send (&frame);
    CHECK_INT (s_link_receive (link), REGIEBUS__LINK_FRAME__BODY_REFUSAL);
    CHECK_UINT (stats->refusals, 1);
    CHECK_UINT (stats->acked, 12);

    rb_test_section ("new envelopes committed to the outbox are announced");
    rb_link_assigned (link, 14);
    CHECK_UINT (stats->assigned, 14);
    rb_link_assigned (link, 13);        //  never backwards
    CHECK_UINT (stats->assigned, 14);
    rb_link_destroy (&link);
    CHECK (link == NULL);
    rb_link_destroy (&link);            //  idempotent

    rb_test_section ("a restarted link picks up the stored numbers");
    link = rb_link_new (&config->peers [0], config, cert, s_outbox);
    CHECK_INT (rb_txn_begin (s_store, false, &txn), RB_OK);
    CHECK_INT (rb_link_load (link, txn), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_UINT (rb_link_stats (link)->assigned, 12);
    CHECK_UINT (rb_link_stats (link)->acked, 12);
    CHECK_UINT (rb_link_stats (link)->sent, 12);
    rb_link_destroy (&link);
}

//  What our ROUTER hands to the link for the peer's DEALER.
static Regiebus__LinkFrame *
s_dealer_expect (zsock_t *dealer, int body_case)
{
    zsock_set_rcvtimeo (dealer, 2000);
    zframe_t *body = zframe_recv (dealer);
    CHECK (body);
    rb_refusal_t r;
    Regiebus__LinkFrame *frame = rb_wire_link_decode (body, 1 << 20, &r);
    zframe_destroy (&body);
    CHECK (frame);
    CHECK_INT (frame->body_case, body_case);
    return frame;
}

static void
s_expect_ack (zsock_t *dealer, uint64_t committed, bool gap, int64_t sent_at, int line)
{
    Regiebus__LinkFrame *frame = s_dealer_expect (dealer, REGIEBUS__LINK_FRAME__BODY_ACK);
    if (frame->ack->committed_seq != committed || frame->ack->gap != gap || frame->ack->sent_at_ms != sent_at)
        rb_test_fail (__FILE__, line, "Ack{%llu, %d, %lld}, expected Ack{%llu, %d, %lld}",
                      (unsigned long long) frame->ack->committed_seq, frame->ack->gap,
                      (long long) frame->ack->sent_at_ms, (unsigned long long) committed, gap,
                      (long long) sent_at);
    rb_wire_free (&frame);
}

#define EXPECT_ACK(dealer, committed, gap, sent_at) \
    s_expect_ack ((dealer), (committed), (gap), (sent_at), __LINE__)

//  The peer's DEALER says something so that our ROUTER learns its id.
static zframe_t *
s_hello (zsock_t *router, zsock_t *dealer)
{
    CHECK (zstr_send (dealer, "hello") == 0);
    zsock_set_rcvtimeo (router, 2000);
    zmsg_t *msg = zmsg_recv (router);
    CHECK (msg && zmsg_size (msg) == 2);
    zframe_t *id = zmsg_pop (msg);
    zmsg_destroy (&msg);
    return id;
}

static void
s_test_receiver (rb_config_t *config, zcert_t *cert)
{
    rb_test_section ("inbound: an Ack is due after each applied batch, and goes to the peer");
    rb_link_t *link = rb_link_new (&config->peers [0], config, cert, s_outbox);
    zsock_t *router = zsock_new_router ("inproc://our-router");
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_identity (dealer, "mun-a-dealer");
    CHECK (zsock_connect (dealer, "inproc://our-router") == 0);
    zframe_t *id = s_hello (router, dealer);
    CHECK (zframe_streq (id, "mun-a-dealer"));
    rb_link_inbound (link, id);
    zframe_destroy (&id);

    CHECK (!rb_link_ack_due (link));
    rb_link_inbound_result (link, 5, false);
    CHECK (rb_link_ack_due (link));
    CHECK_UINT (rb_link_stats (link)->received, 5);
    rb_link_send_ack (link, router);
    CHECK (!rb_link_ack_due (link));
    EXPECT_ACK (dealer, 5, false, 0);

    rb_test_section ("inbound: a Ping is answered by an Ack that echoes it");
    rb_link_inbound_ping (link, 1234);
    CHECK (rb_link_ack_due (link));
    rb_link_send_ack (link, router);
    EXPECT_ACK (dealer, 5, false, 1234);
    //  The echo is sent once.
    rb_link_inbound_result (link, 6, false);
    rb_link_send_ack (link, router);
    EXPECT_ACK (dealer, 6, false, 0);

    rb_test_section ("inbound: a gap is reported once, in the next Ack");
    rb_link_inbound_result (link, 7, true);
    rb_link_inbound_result (link, 7, false);   //  a later batch in the same turn
    rb_link_send_ack (link, router);
    EXPECT_ACK (dealer, 7, true, 0);
    rb_link_inbound_result (link, 8, false);
    rb_link_send_ack (link, router);
    EXPECT_ACK (dealer, 8, false, 0);

    rb_test_section ("inbound: other frames go the same way");
    Regiebus__Refusal refusal = REGIEBUS__REFUSAL__INIT;
    refusal.code = REGIEBUS__ERROR_CODE__UNKNOWN_KIND;
    refusal.field = "envelopes[0].kind";
    refusal.seq = 9;
    Regiebus__LinkFrame out = REGIEBUS__LINK_FRAME__INIT;
    out.version = RB_WIRE_VERSION;
    out.body_case = REGIEBUS__LINK_FRAME__BODY_REFUSAL;
    out.refusal = &refusal;
    zframe_t *frame = rb_wire_frame (&out.base);
    rb_link_send_inbound (link, router, &frame);
    CHECK (frame == NULL);
    Regiebus__LinkFrame *got = s_dealer_expect (dealer, REGIEBUS__LINK_FRAME__BODY_REFUSAL);
    CHECK_STR (got->refusal->field, "envelopes[0].kind");
    CHECK_UINT (got->refusal->seq, 9);
    rb_wire_free (&got);

    rb_test_section ("inbound: a reconnected peer is answered on its new connection");
    zsock_t *again = zsock_new (ZMQ_DEALER);
    zsock_set_identity (again, "mun-a-again");
    CHECK (zsock_connect (again, "inproc://our-router") == 0);
    id = s_hello (router, again);
    rb_link_inbound (link, id);
    zframe_destroy (&id);
    rb_link_inbound_result (link, 9, false);
    rb_link_send_ack (link, router);
    EXPECT_ACK (again, 9, false, 0);
    zsock_destroy (&again);

    rb_test_section ("inbound: before the peer has spoken there is no one to answer");
    rb_link_t *silent = rb_link_new (&config->peers [0], config, cert, s_outbox);
    frame = rb_wire_frame (&out.base);
    rb_link_send_inbound (silent, router, &frame);
    CHECK (frame == NULL);              //  dropped, not leaked
    rb_link_inbound_result (silent, 1, false);
    rb_link_send_ack (silent, router);
    CHECK (!rb_link_ack_due (silent));
    rb_link_destroy (&silent);

    zsock_destroy (&dealer);
    zsock_destroy (&router);
    rb_link_destroy (&link);
}

int
main (void)
{
    rb_test_begin ("link");
    rb_refusal_t r;
    s_store = rb_store_new ("db", 16, &r);
    CHECK (s_store);
    s_outbox = rb_outbox_new (s_store);
    CHECK (s_outbox);
    s_append (10);

    //  The peer's keypair and ROUTER, on a free port.
    zcert_t *peer_cert = zcert_new ();
    s_peer = zsock_new (ZMQ_ROUTER);
    zcert_apply (peer_cert, s_peer);
    zsock_set_curve_server (s_peer, 1);
    int port = rb_test_free_port ();
    CHECK (zsock_bind (s_peer, "tcp://127.0.0.1:%d", port) == port);

    //  Our side: a config from flags, and our own keypair.
    char endpoint [64], key [80];
    snprintf (endpoint, sizeof endpoint, "peer/mun-a/endpoint=tcp://127.0.0.1:%d", port);
    snprintf (key, sizeof key, "peer/mun-a/public_key=%s", zcert_public_txt (peer_cert));
    const char *flags [] = {
        "node/name=school-a", "node/data_dir=db", "node/bind=tcp://127.0.0.1:1",
        "node/cert=unused.cert", "api/endpoint=ipc://unused",
        "link/window=6", "link/batch_events=4", "link/heartbeat_ms=50",
        "link/retransmit_ms=1000", "link/peer_timeout_ms=10000", "link/ack_stage_ms=200",
        endpoint, key,
    };
    rb_config_t *config = rb_config_load (NULL, flags, 13, &r);
    CHECK (config);
    CHECK_UINT (config->retransmit_ms, RETRANSMIT_MS);
    CHECK_UINT (config->ack_stage_ms, ACK_STAGE_MS);
    CHECK_UINT (config->peer_timeout_ms, PEER_TIMEOUT_MS);
    zcert_t *cert = zcert_new ();

    s_test_sender (config, cert);
    s_test_receiver (config, cert);

    s_test_keys (config, cert);

    rb_test_section ("a link to an endpoint that cannot be used is not made");
    rb_peer_config_t bad = config->peers [0];
    snprintf (bad.endpoint, sizeof bad.endpoint, "tcp://127.0.0.1:not-a-port");
    CHECK (rb_link_new (&bad, config, cert, s_outbox) == NULL);

    zcert_destroy (&cert);
    rb_config_destroy (&config);
    zframe_destroy (&s_peer_route);
    zsock_destroy (&s_peer);
    zcert_destroy (&peer_cert);
    rb_outbox_destroy (&s_outbox);
    rb_store_destroy (&s_store);
    return rb_test_end ();
}
