/*  unit_node: two nodes, the link between them, and clients on their APIs
 *  (rb_node.h, rb_link.h, rb_client.h, and rb_api behind them).
 *
 *  node-a sends, node-b receives. A client submits 1000 TEST events to
 *  node-b through node-a's ipc:// API; node-a commits them to its outbox
 *  and its link delivers them over CURVE; a second client lists them on
 *  node-b's tcp:// API, which takes only client certificates. Along the
 *  way the API's refusals are checked: an unknown destination, a request
 *  that is half bad (nothing of it is applied), an idempotency key reused
 *  for other content, a clock that may not move, a caller that is a peer.
 *
 *  Where the nodes run. Every rb_node starts its own zauth actor, and CZMQ
 *  allows one ZAP handler per process (a second zauth aborts binding
 *  inproc://zeromq.zap.01). So node-b runs in a thread of this process (a
 *  zactor), and node-a in a child process: this same executable started
 *  with `--node FILE`, which is all a daemon's main() does. node-b is
 *  stopped from its own thread: a commit hook sees the stop flag and calls
 *  rb_node_stop; node-a is stopped like a daemon, with SIGTERM.
 */
#include "rb_test.h"
#include "rb_client.h"
#include "rb_keys.h"
#include "rb_log.h"
#include "rb_node.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define EVENTS 1000             //  events sent from node-a to node-b
#define PER_REQUEST 100         //  events per submit request
#define CALL_MS 10000           //  longest wait for one API reply
#define DELIVERY_MS 30000       //  longest wait for all events to arrive

extern char **environ;

// ---------------------------------------------------------------------------
//  node-a: a daemon's main(), in a child process

static int
s_run_node (const char *config_path, pid_t parent)
{
    //  Do not outlive the test, whatever happens to it.
    prctl (PR_SET_PDEATHSIG, SIGTERM);
    if (getppid () != parent)
        return 1;
    rb_refusal_t r;
    rb_config_t *config = rb_config_load (config_path, NULL, 0, &r);
    if (!config) {
        fprintf (stderr, "node: %s: %s (%s)\n", config_path, r.message, r.field);
        return 2;
    }
    rb_log_setup ((rb_log_level_t) rb_log_level_parse (config->log_level), config->name);
    rb_node_t *node = rb_node_new (config, &r);
    if (!node) {
        fprintf (stderr, "node: cannot start: %s (%s)\n", r.message, r.field);
        rb_config_destroy (&config);
        return 3;
    }
    rb_node_run (node);                 //  until SIGTERM
    rb_node_destroy (&node);
    rb_config_destroy (&config);
    return 0;
}

static pid_t s_child;                   //  node-a's process, 0 when none

static void
s_kill_child (void *arg)
{
    (void) arg;
    if (s_child > 0) {
        kill (s_child, SIGKILL);
        waitpid (s_child, NULL, 0);
        s_child = 0;
    }
}

// ---------------------------------------------------------------------------
//  node-b: a node in a thread of this process

typedef struct {
    const rb_config_t *config;          //  node-b's configuration
    rb_node_t *node;                    //  used by the node's thread only
    rb_refusal_t refusal;               //  why it did not start
    bool started;                       //  rb_node_new succeeded
    atomic_bool stop;                   //  set by the test, seen by the commit hook
    atomic_bool stopped;                //  rb_node_run has returned
    atomic_uint_fast64_t handled;       //  envelopes the handler saw
    atomic_uint_fast64_t out_of_order;  //  ... not in origin_seq order
    uint64_t next_seq;                  //  handler: the seq expected next
} s_host_t;

//  What a daemon derives from each received envelope goes here. This one
//  checks that envelopes come once each and in order, answers "echo:X"
//  with "re:X" to the sender (rb_node_emit, caused by the event), and for
//  "nowhere:" tries to emit to a node that is no peer, which it refuses.
static rb_err_t
s_handler (rb_txn_t *txn, const Regiebus__Envelope *e, void *arg, rb_refusal_t *why)
{
    s_host_t *host = arg;
    if (e->origin_seq == host->next_seq)
        host->next_seq++;
    else
        atomic_fetch_add (&host->out_of_order, 1);
    atomic_fetch_add (&host->handled, 1);
    bool echo = e->payload.len > 5 && memcmp (e->payload.data, "echo:", 5) == 0;
    bool nowhere = e->payload.len >= 8 && memcmp (e->payload.data, "nowhere:", 8) == 0;
    if (!echo && !nowhere)
        return RB_OK;
    char reply [64];
    int size = snprintf (reply, sizeof reply, "re:%.*s", (int) e->payload.len - 5, e->payload.data + 5);
    rb_emit_t emit = {
        .destination = nowhere? "node-z": e->origin, .case_pseudonym = e->case_pseudonym,
        .kind = e->kind, .payload = (const uint8_t *) reply, .payload_size = (size_t) size,
        .causation_id = e->event_id.data,
    };
    return rb_node_emit (host->node, txn, &emit, NULL, why);
}

//  node-b's own API calls, as a daemon's. show_case emits a TEST event
//  "call" to node-a and answers with the case; for a case starting with
//  'f' it emits and then refuses, so nothing of it may remain. regie
//  stores a notification for node-b's own duty desk. Anything else is not
//  node-b's call.
static rb_err_t
s_call (rb_node_t *node, rb_call_t *call, rb_txn_t *txn, const Regiebus__ApiRequest *req,
        void *arg, rb_refusal_t *why)
{
    (void) arg;
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    if (req->call_case == REGIEBUS__API_REQUEST__CALL_SHOW_CASE) {
        const char *pseudonym = req->show_case->case_pseudonym;
        rb_emit_t emit = {
            .destination = "node-a", .case_pseudonym = pseudonym,
            .kind = REGIEBUS__EVENT_KIND__TEST, .payload = (const uint8_t *) "call", .payload_size = 4,
        };
        rb_err_t rc = rb_node_emit (node, txn, &emit, NULL, why);
        if (rc)
            return rc;
        rb_node_count (node, "test_show_case", 1);      //  taken back if refused below
        if (pseudonym [0] == 'f')
            return rb_refuse (why, RB_EPRECONDITION, "show_case.case_pseudonym", "refused after emitting");
        Regiebus__ShowCaseReply result = REGIEBUS__SHOW_CASE_REPLY__INIT;
        result.case_pseudonym = (char *) pseudonym;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_SHOW_CASE;
        reply.show_case = &result;
        return rb_call_reply (call, &reply);
    }
    if (req->call_case == REGIEBUS__API_REQUEST__CALL_REGIE) {
        uint8_t id [16] = { 7 };
        Regiebus__Actor me = REGIEBUS__ACTOR__INIT;
        me.node = "node-b";
        me.role = REGIEBUS__ROLE__DUTY_DESK;
        Regiebus__RegieChange change = REGIEBUS__REGIE_CHANGE__INIT;
        change.actor = &me;
        change.joined = true;
        Regiebus__Notification n = REGIEBUS__NOTIFICATION__INIT;
        n.notification_id = (ProtobufCBinaryData) { 16, id };
        n.subject = REGIEBUS__EVENT_KIND__REGIE_CHANGE;
        n.regie_change = &change;
        n.recipient = &me;
        rb_err_t rc = rb_node_notify_local (node, txn, req->regie->case_pseudonym, &n, why);
        if (rc)
            return rc;
        Regiebus__RegieReply result = REGIEBUS__REGIE_REPLY__INIT;
        result.changed = true;
        reply.result_case = REGIEBUS__API_REPLY__RESULT_REGIE;
        reply.regie = &result;
        return rb_call_reply (call, &reply);
    }
    return rb_refuse (why, RB_EPRECONDITION, "call", "node-b does not take call %d", (int) req->call_case);
}

//  node-b's name for the test case's child; account "stranger" sees nothing.
static bool
s_label (rb_txn_t *txn, const char *pseudonym, const char *account, char *label, size_t size,
         void *arg)
{
    (void) txn;
    (void) arg;
    if (streq (account, "stranger"))
        return false;
    snprintf (label, size, "%s", streq (pseudonym, rb_test_pseudonym)? "Pupil A": "");
    return true;
}

static rb_err_t
s_tick (rb_node_t *node, rb_txn_t *txn, void *arg, rb_refusal_t *why)
{
    (void) txn;
    (void) arg;
    (void) why;
    rb_node_count (node, "test_ticks", 1);
    return RB_OK;
}

//  After every commit that held, on the node's thread: stop when asked.
static void
s_commit_hook (void *arg)
{
    s_host_t *host = arg;
    if (atomic_load (&host->stop))
        rb_node_stop (host->node);
}

static void
s_node_actor (zsock_t *pipe, void *arg)
{
    s_host_t *host = arg;
    host->node = rb_node_new (host->config, &host->refusal);
    host->started = host->node != NULL;
    zsock_signal (pipe, 0);
    if (!host->node)
        return;
    rb_node_set_handler (host->node, s_handler, host);
    rb_node_set_call_handler (host->node, s_call, host);
    rb_node_set_label (host->node, s_label, host);
    rb_node_set_tick (host->node, 20, s_tick, host);
    rb_node_set_commit_hook (host->node, s_commit_hook, host);
    rb_node_run (host->node);
    rb_node_destroy (&host->node);
    atomic_store (&host->stopped, true);
}

// ---------------------------------------------------------------------------
//  Talking to a node as a client does

static Regiebus__ApiReply *
s_status (rb_client_t *client, int timeout_ms)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_STATUS;
    request.status = &status;
    return rb_client_call (client, &request, timeout_ms);
}

static uint64_t
s_counter (const Regiebus__ApiReply *reply, const char *name)
{
    for (size_t i = 0; i < reply->status->n_counters; i++)
        if (streq (reply->status->counters [i]->name, name))
            return reply->status->counters [i]->value;
    rb_test_fail (__FILE__, __LINE__, "no counter %s", name);
}

static Regiebus__ApiReply *
s_submit (rb_client_t *client, Regiebus__Submission **events, size_t count)
{
    Regiebus__SubmitRequest submit = REGIEBUS__SUBMIT_REQUEST__INIT;
    submit.n_events = count;
    submit.events = events;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_SUBMIT;
    request.submit = &submit;
    return rb_client_call (client, &request, CALL_MS);
}

static Regiebus__ApiReply *
s_list (rb_client_t *client, const char *origin, uint64_t after, uint32_t limit)
{
    Regiebus__ListReceivedRequest list = REGIEBUS__LIST_RECEIVED_REQUEST__INIT;
    list.origin = (char *) origin;
    list.after_seq = after;
    list.limit = limit;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_LIST_RECEIVED;
    request.list_received = &list;
    return rb_client_call (client, &request, CALL_MS);
}

static Regiebus__ApiReply *
s_advance (rb_client_t *client, int64_t by_ms)
{
    Regiebus__AdvanceClockRequest advance = REGIEBUS__ADVANCE_CLOCK_REQUEST__INIT;
    advance.by_ms = by_ms;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_ADVANCE_CLOCK;
    request.advance_clock = &advance;
    return rb_client_call (client, &request, CALL_MS);
}

//  An error reply with this code and field.
static void
s_check_refused (Regiebus__ApiReply *reply, rb_err_t code, const char *field, int line)
{
    if (!reply)
        rb_test_fail (__FILE__, line, "no reply");
    rb_refusal_t r = { .code = (rb_err_t) reply->code };
    snprintf (r.field, sizeof r.field, "%s", reply->field);
    snprintf (r.message, sizeof r.message, "%s", reply->message);
    rb_test_check_refusal (__FILE__, line, &r, code, field, true);
    if (reply->result_case != REGIEBUS__API_REPLY__RESULT__NOT_SET)
        rb_test_fail (__FILE__, line, "a refusal that carries a result");
    rb_wire_free (&reply);
}

#define CHECK_REFUSED(reply, code, field) s_check_refused ((reply), (code), (field), __LINE__)

//  A node's one peer, as its status shows it.
static Regiebus__PeerStatus *
s_peer (Regiebus__ApiReply *status)
{
    CHECK (status && status->code == REGIEBUS__ERROR_CODE__OK);
    CHECK_UINT (status->status->n_peers, 1);
    return status->status->peers [0];
}

// ---------------------------------------------------------------------------
//  The test

//  A handler at node-b derives events inside its commit and they reach
//  node-a; one it refuses is dead-lettered alone.
static void
s_test_emit (rb_client_t *a, rb_client_t *b)
{
    rb_test_section ("a handler emits events that commit with what caused them");
    Regiebus__ApiReply *status = s_status (b, CALL_MS);
    uint64_t refused_before = s_counter (status, "link_refused_unknown_peer");
    rb_wire_free (&status);
    rb_test_submission_t subs [4];
    Regiebus__Submission *list [4];
    const char *payloads [] = { "echo:1", "nowhere:x", "echo:2", "echo:3" };
    for (int i = 0; i < 4; i++) {
        char key [32];
        snprintf (key, sizeof key, "emit-%d", i);
        rb_test_submission (&subs [i], key, "node-b", payloads [i]);
        list [i] = &subs [i].msg;
    }
    Regiebus__ApiReply *reply = s_submit (a, list, 4);
    CHECK (reply && reply->code == REGIEBUS__ERROR_CODE__OK);
    uint8_t ids [4][16];
    for (int i = 0; i < 4; i++)
        memcpy (ids [i], reply->submit->accepted [i]->event_id.data, 16);
    rb_wire_free (&reply);

    Regiebus__ApiReply *got = NULL;
    int64_t deadline = zclock_mono () + 10000;
    while (zclock_mono () < deadline) {
        rb_wire_free (&got);
        got = s_list (a, "node-b", 0, 100);
        if (got && got->code == 0 && got->list_received->n_events >= 3)
            break;
        zclock_sleep (20);
    }
    CHECK (got && got->code == 0);
    CHECK_UINT (got->list_received->n_events, 3);
    const int echoed [] = { 0, 2, 3 };
    for (int i = 0; i < 3; i++) {
        Regiebus__Envelope *e = got->list_received->events [i];
        char expect [16];
        snprintf (expect, sizeof expect, "re:%d", i + 1);
        CHECK_UINT (e->origin_seq, (uint64_t) i + 1);
        CHECK_STR (e->origin, "node-b");
        CHECK (e->payload.len == strlen (expect) && memcmp (e->payload.data, expect, e->payload.len) == 0);
        CHECK (e->causation_id.len == 16 && memcmp (e->causation_id.data, ids [echoed [i]], 16) == 0);
    }
    rb_wire_free (&got);

    rb_test_section ("the refused one is a dead letter at node-b, counted, and sent nowhere");
    //  node-a lists the echoes once its commit held; its acknowledgement
    //  reaches node-b a moment later.
    status = NULL;
    deadline = zclock_mono () + 10000;
    while (zclock_mono () < deadline) {
        rb_wire_free (&status);
        status = s_status (b, CALL_MS);
        if (status && status->code == 0 && s_peer (status)->queue_depth == 0)
            break;
        zclock_sleep (20);
    }
    CHECK_UINT (s_counter (status, "link_refused_unknown_peer"), refused_before + 1);
    CHECK_UINT (s_peer (status)->last_assigned_seq, 3);
    CHECK_UINT (s_peer (status)->queue_depth, 0);
    rb_wire_free (&status);
}

static Regiebus__ApiReply *
s_call_show_case (rb_client_t *client, const char *pseudonym)
{
    Regiebus__ShowCaseRequest show = REGIEBUS__SHOW_CASE_REQUEST__INIT;
    show.case_pseudonym = (char *) pseudonym;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_SHOW_CASE;
    request.show_case = &show;
    return rb_client_call (client, &request, CALL_MS);
}

//  The events node-a has received from node-b, once there are at least n.
static Regiebus__ApiReply *
s_wait_received (rb_client_t *client, const char *origin, size_t n)
{
    Regiebus__ApiReply *got = NULL;
    int64_t deadline = zclock_mono () + 10000;
    while (zclock_mono () < deadline) {
        rb_wire_free (&got);
        got = s_list (client, origin, 0, 100);
        if (got && got->code == 0 && got->list_received->n_events >= n)
            break;
        zclock_sleep (20);
    }
    return got;
}

//  A daemon's call runs in its own child transaction: what it emits goes
//  out when it answers, and nothing of a refused call remains.
static void
s_test_calls (rb_client_t *a, rb_client_t *b)
{
    rb_test_section ("a daemon's call writes, emits and answers after the commit");
    Regiebus__ApiReply *status = s_status (b, CALL_MS);
    uint64_t assigned = s_peer (status)->last_assigned_seq;
    rb_wire_free (&status);
    Regiebus__ApiReply *reply = s_call_show_case (b, rb_test_pseudonym);
    CHECK (reply && reply->code == 0 && reply->result_case == REGIEBUS__API_REPLY__RESULT_SHOW_CASE);
    CHECK_STR (reply->show_case->case_pseudonym, rb_test_pseudonym);
    rb_wire_free (&reply);
    Regiebus__ApiReply *got = s_wait_received (a, "node-b", assigned + 1);
    CHECK (got && got->list_received->n_events == assigned + 1);
    Regiebus__Envelope *e = got->list_received->events [assigned];
    CHECK (e->payload.len == 4 && memcmp (e->payload.data, "call", 4) == 0);
    rb_wire_free (&got);

    rb_test_section ("a call that refuses after emitting leaves nothing behind");
    char doomed [RB_PSEUDONYM_LEN + 1];
    memset (doomed, 'f', RB_PSEUDONYM_LEN);
    doomed [RB_PSEUDONYM_LEN] = 0;
    CHECK_REFUSED (s_call_show_case (b, doomed), RB_EPRECONDITION, "show_case.case_pseudonym");
    status = s_status (b, CALL_MS);
    CHECK_UINT (s_peer (status)->last_assigned_seq, assigned + 1);
    CHECK_UINT (s_counter (status, "test_show_case"), 1);   //  the refused call's count went with it
    rb_wire_free (&status);
    CHECK_REFUSED (s_advance (a, 0), RB_EPRECONDITION, "advance_clock");   //  a round trip to a
    got = s_list (a, "node-b", assigned + 1, 100);
    CHECK (got && got->code == 0);
    CHECK_UINT (got->list_received->n_events, 0);
    rb_wire_free (&got);

    rb_test_section ("a call the daemon does not take, or a node without calls, is refused");
    Regiebus__CloseDayRequest close = REGIEBUS__CLOSE_DAY_REQUEST__INIT;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_CLOSE_DAY;
    request.close_day = &close;
    CHECK_REFUSED (rb_client_call (b, &request, CALL_MS), RB_EPRECONDITION, "call");
    CHECK_REFUSED (rb_client_call (a, &request, CALL_MS), RB_EPRECONDITION, "call");
}

static Regiebus__ApiReply *
s_notifications (rb_client_t *client, const char *account, const char *pseudonym, uint32_t limit)
{
    Regiebus__ListNotificationsRequest list = REGIEBUS__LIST_NOTIFICATIONS_REQUEST__INIT;
    list.account = (char *) account;
    list.case_pseudonym = (char *) pseudonym;
    list.limit = limit;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_LIST_NOTIFICATIONS;
    request.list_notifications = &list;
    return rb_client_call (client, &request, CALL_MS);
}

static Regiebus__ApiReply *
s_ack (rb_client_t *client, uint64_t seq, const char *by)
{
    Regiebus__AckNotificationRequest ack = REGIEBUS__ACK_NOTIFICATION_REQUEST__INIT;
    ack.seq = seq;
    ack.by = (char *) by;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_ACK_NOTIFICATION;
    request.ack_notification = &ack;
    return rb_client_call (client, &request, CALL_MS);
}

//  Submit a NOTIFICATION from node-a to node-b with payload bytes.
static void
s_send_notification (rb_client_t *a, const char *key, const uint8_t *payload, size_t size)
{
    rb_test_submission_t sub;
    rb_test_submission (&sub, key, "node-b", "");
    sub.msg.kind = REGIEBUS__EVENT_KIND__NOTIFICATION;
    sub.msg.payload = (ProtobufCBinaryData) { size, (uint8_t *) payload };
    Regiebus__Submission *list [] = { &sub.msg };
    Regiebus__ApiReply *reply = s_submit (a, list, 1);
    CHECK (reply && reply->code == 0);
    rb_wire_free (&reply);
}

//  Wait until node-b's counter reaches value.
static void
s_wait_counter (rb_client_t *b, const char *name, uint64_t value)
{
    uint64_t now = 0;
    int64_t deadline = zclock_mono () + 10000;
    while (zclock_mono () < deadline) {
        Regiebus__ApiReply *status = s_status (b, CALL_MS);
        now = status && status->code == 0? s_counter (status, name): 0;
        rb_wire_free (&status);
        if (now >= value)
            break;
        zclock_sleep (20);
    }
    CHECK_UINT (now, value);
}

//  Notifications arriving at a node are kept by the runtime, listed with
//  the daemon's local names and acknowledged once.
static void
s_test_notifications (rb_client_t *a, rb_client_t *b)
{
    rb_test_section ("a notification that arrives is stored once, named by the daemon");
    uint8_t id [16] = { 1, 2, 3 };
    Regiebus__Actor me = REGIEBUS__ACTOR__INIT;
    me.node = "node-b";
    me.role = REGIEBUS__ROLE__SCHOOL_MENTOR;
    Regiebus__AbsenceSignal absence = REGIEBUS__ABSENCE_SIGNAL__INIT;
    absence.signal = REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE;
    absence.date = 20261123;
    Regiebus__Notification n = REGIEBUS__NOTIFICATION__INIT;
    n.notification_id = (ProtobufCBinaryData) { 16, id };
    n.subject = REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL;
    n.absence = &absence;
    n.recipient = &me;
    n.expected = REGIEBUS__EXPECTED_ACTION__CONTACT_PARENTS;
    n.expected_by = 20261124;
    uint8_t packed [256];
    size_t size = regiebus__notification__pack (&n, packed);
    s_send_notification (a, "note-1", packed, size);
    s_send_notification (a, "note-1-again", packed, size);     //  the network repeats it
    s_send_notification (a, "note-garbage", (const uint8_t *) "\xff\xff\xff", 3);
    s_wait_counter (b, "link_refused_malformed", 1);
    Regiebus__ApiReply *reply = s_notifications (b, "", "", 0);
    CHECK (reply && reply->code == 0);
    CHECK_UINT (reply->list_notifications->n_items, 1);
    Regiebus__NotificationItem *item = reply->list_notifications->items [0];
    CHECK_UINT (item->seq, 1);
    CHECK (!item->acknowledged);
    CHECK_STR (item->origin, "node-a");
    CHECK_STR (item->case_pseudonym, rb_test_pseudonym);
    CHECK_STR (item->local_name, "Pupil A");
    CHECK (item->notification && item->notification->absence);
    CHECK_INT (item->notification->absence->signal, REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE);
    CHECK_INT (item->notification->expected_by, 20261124);
    CHECK_UINT (reply->list_notifications->new_count, 1);
    rb_wire_free (&reply);

    rb_test_section ("a daemon stores one for its own actor; filters narrow the list");
    Regiebus__RegieRequest regie = REGIEBUS__REGIE_REQUEST__INIT;
    char other [RB_PSEUDONYM_LEN + 1];
    memset (other, 'a', RB_PSEUDONYM_LEN);
    other [RB_PSEUDONYM_LEN] = 0;
    regie.case_pseudonym = other;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_REGIE;
    request.regie = &regie;
    reply = rb_client_call (b, &request, CALL_MS);
    CHECK (reply && reply->code == 0 && reply->regie->changed);
    rb_wire_free (&reply);
    reply = s_notifications (b, "", "", 0);
    CHECK (reply && reply->code == 0 && reply->list_notifications->n_items == 2);
    item = reply->list_notifications->items [1];
    CHECK_STR (item->origin, "node-b");
    CHECK_STR (item->case_pseudonym, other);
    CHECK_STR (item->local_name, "");
    CHECK_INT (item->notification->recipient->role, REGIEBUS__ROLE__DUTY_DESK);
    rb_wire_free (&reply);
    reply = s_notifications (b, "", other, 0);
    CHECK (reply && reply->code == 0 && reply->list_notifications->n_items == 1);
    rb_wire_free (&reply);
    reply = s_notifications (b, "stranger", "", 0);
    CHECK (reply && reply->code == 0 && reply->list_notifications->n_items == 0);
    rb_wire_free (&reply);
    reply = s_notifications (b, "", "", 1);
    CHECK (reply && reply->code == 0 && reply->list_notifications->n_items == 1);
    CHECK (reply->list_notifications->more);
    rb_wire_free (&reply);
    CHECK_REFUSED (s_notifications (b, "", "", 1001), RB_ETOOLARGE, "list_notifications.limit");
    CHECK_REFUSED (s_notifications (b, "", "not-hex", 0), RB_EINVALID, "list_notifications.case_pseudonym");

    rb_test_section ("acknowledged once, by a named desk; counters say so");
    reply = s_ack (b, 1, "desk-1");
    CHECK (reply && reply->code == 0 && reply->ack_notification->acked_at_ms > 0);
    rb_wire_free (&reply);
    CHECK_REFUSED (s_ack (b, 1, "desk-2"), RB_EPRECONDITION, "ack_notification.seq");
    CHECK_REFUSED (s_ack (b, 99, "desk-1"), RB_ENOTFOUND, "ack_notification.seq");
    //  The notice table's last key holds its counters, never a notice.
    CHECK_REFUSED (s_ack (b, UINT64_MAX, "desk-1"), RB_ENOTFOUND, "ack_notification.seq");
    CHECK_REFUSED (s_ack (b, 2, "desk 1"), RB_EINVALID, "ack_notification.by");
    reply = s_notifications (b, "", "", 0);
    CHECK (reply && reply->code == 0);
    CHECK (reply->list_notifications->items [0]->acknowledged);
    CHECK_STR (reply->list_notifications->items [0]->acked_by, "desk-1");
    rb_wire_free (&reply);
    Regiebus__ApiReply *status = s_status (b, CALL_MS);
    CHECK_UINT (s_counter (status, "notifications_received"), 2);
    CHECK_UINT (s_counter (status, "notifications_new"), 1);
    CHECK_UINT (s_counter (status, "notifications_acked"), 1);
    CHECK (s_counter (status, "test_ticks") > 0);
    rb_wire_free (&status);
}

typedef struct {
    char dir [256];
    int a_port, b_port, b_api_port;
    char a_key [41], b_key [41], tester_key [41];
    char a_api [300], b_api [64];
} s_region_t;

static void
s_test_submit (rb_client_t *a, rb_test_submission_t *subs)
{
    rb_test_section ("submit 1000 events to node-b, ten requests pipelined");
    Regiebus__Submission *list [EVENTS];
    for (int i = 0; i < EVENTS; i++) {
        char key [32], payload [32];
        snprintf (key, sizeof key, "event-%04d", i);
        snprintf (payload, sizeof payload, "payload-%04d", i);
        rb_test_submission (&subs [i], key, "node-b", payload);
        list [i] = &subs [i].msg;
    }
    Regiebus__SubmitRequest submits [EVENTS / PER_REQUEST];
    Regiebus__ApiRequest requests [EVENTS / PER_REQUEST];
    uint64_t ids [EVENTS / PER_REQUEST];
    for (int k = 0; k < EVENTS / PER_REQUEST; k++) {
        regiebus__submit_request__init (&submits [k]);
        submits [k].n_events = PER_REQUEST;
        submits [k].events = list + k * PER_REQUEST;
        regiebus__api_request__init (&requests [k]);
        requests [k].call_case = REGIEBUS__API_REQUEST__CALL_SUBMIT;
        requests [k].submit = &submits [k];
        ids [k] = rb_client_send (a, &requests [k]);
        CHECK (ids [k] != 0);
        CHECK_INT (requests [k].version, RB_WIRE_VERSION);
        CHECK (k == 0 || ids [k] > ids [k - 1]);
    }
    //  Replies come back in order, each after its commit.
    for (int k = 0; k < EVENTS / PER_REQUEST; k++) {
        Regiebus__ApiReply *reply = rb_client_recv (a, CALL_MS);
        CHECK (reply);
        CHECK_UINT (reply->request_id, ids [k]);
        CHECK_INT (reply->code, REGIEBUS__ERROR_CODE__OK);
        CHECK_INT (reply->result_case, REGIEBUS__API_REPLY__RESULT_SUBMIT);
        CHECK_UINT (reply->submit->n_accepted, PER_REQUEST);
        for (int i = 0; i < PER_REQUEST; i++) {
            Regiebus__Accepted *accepted = reply->submit->accepted [i];
            CHECK_UINT (accepted->origin_seq, k * PER_REQUEST + i + 1);
            CHECK_UINT (accepted->event_id.len, 16);
            CHECK (accepted->recorded_at_ms > 0);
            CHECK (!accepted->duplicate);
        }
        rb_wire_free (&reply);
    }
    CHECK (rb_client_recv (a, 50) == NULL);    //  nothing more is due
}

static void
s_test_refusals (rb_client_t *a, rb_test_submission_t *subs)
{
    rb_test_section ("an unknown destination is refused, and nothing is assigned");
    rb_test_submission_t bad;
    rb_test_submission (&bad, "to-nobody", "nobody", "x");
    Regiebus__Submission *one [] = { &bad.msg };
    CHECK_REFUSED (s_submit (a, one, 1), RB_EPEER, "events[0].destination");

    rb_test_section ("a request with one bad event applies none of its events");
    rb_test_submission_t good;
    rb_test_submission (&good, "would-be-1001", "node-b", "x");
    Regiebus__Submission *two [] = { &good.msg, &bad.msg };
    CHECK_REFUSED (s_submit (a, two, 2), RB_EPEER, "events[1].destination");
    good.msg.case_pseudonym = "NOT-HEX";
    Regiebus__Submission *bad_first [] = { &good.msg };
    CHECK_REFUSED (s_submit (a, bad_first, 1), RB_EINVALID, "events[0].case_pseudonym");
    CHECK_REFUSED (s_submit (a, NULL, 0), RB_EMISSING, "events");
    static char big [65537];            //  one byte over limits/max_payload_bytes
    rb_test_submission_t heavy;
    rb_test_submission (&heavy, "heavy", "node-b", "x");
    heavy.msg.payload.data = (uint8_t *) big;
    heavy.msg.payload.len = sizeof big;
    Regiebus__Submission *too_big [] = { &heavy.msg };
    CHECK_REFUSED (s_submit (a, too_big, 1), RB_ETOOLARGE, "events[0].payload");
    Regiebus__ApiReply *status = s_status (a, CALL_MS);
    CHECK_UINT (s_peer (status)->last_assigned_seq, EVENTS);
    rb_wire_free (&status);

    rb_test_section ("a retry with the same key and content gets the first outcome");
    Regiebus__Submission *retry [] = { &subs [0].msg, &subs [EVENTS - 1].msg };
    Regiebus__ApiReply *reply = s_submit (a, retry, 2);
    CHECK (reply && reply->code == REGIEBUS__ERROR_CODE__OK);
    CHECK_UINT (reply->submit->n_accepted, 2);
    CHECK (reply->submit->accepted [0]->duplicate);
    CHECK_UINT (reply->submit->accepted [0]->origin_seq, 1);
    CHECK (reply->submit->accepted [1]->duplicate);
    CHECK_UINT (reply->submit->accepted [1]->origin_seq, EVENTS);
    rb_wire_free (&reply);

    rb_test_section ("the same key for other content is a conflict");
    rb_test_submission_t changed;
    rb_test_submission (&changed, "event-0000", "node-b", "something else");
    Regiebus__Submission *conflict [] = { &changed.msg };
    CHECK_REFUSED (s_submit (a, conflict, 1), RB_ECONFLICT, "events[0].idempotency_key");

    rb_test_section ("a wall clock cannot be advanced");
    CHECK_REFUSED (s_advance (a, 1000), RB_EPRECONDITION, "advance_clock");

    rb_test_section ("node-a's counters and peer state say the same");
    status = s_status (a, CALL_MS);
    Regiebus__PeerStatus *peer = s_peer (status);
    CHECK_STR (status->status->node, "node-a");
    CHECK_STR (status->status->role, "node");
    CHECK (!status->status->test_clock);
    CHECK_STR (peer->name, "node-b");
    CHECK_UINT (peer->last_assigned_seq, EVENTS);
    CHECK_UINT (s_counter (status, "api_accepted"), EVENTS);
    CHECK_UINT (s_counter (status, "api_duplicates"), 2);
    CHECK_UINT (s_counter (status, "api_refused_unknown_peer"), 2);
    CHECK_UINT (s_counter (status, "api_refused_invalid_field"), 1);
    CHECK_UINT (s_counter (status, "api_refused_missing_field"), 1);
    CHECK_UINT (s_counter (status, "api_refused_idempotency_conflict"), 1);
    CHECK_UINT (s_counter (status, "api_refused_failed_precondition"), 1);
    CHECK_UINT (s_counter (status, "api_refused_too_large"), 1);
    CHECK (status->status->store_used_bytes > 0);
    CHECK (status->status->store_used_bytes <= status->status->store_map_bytes);
    rb_wire_free (&status);
}

//  Receive every event at node-b: list after the last one seen until all
//  have arrived, checking order and content on the way.
static void
s_test_delivery (rb_client_t *b)
{
    rb_test_section ("node-b lists all 1000, in order, as they were submitted");
    uint64_t seen = 0;
    int64_t deadline = zclock_mono () + DELIVERY_MS;
    while (seen < EVENTS && zclock_mono () < deadline) {
        Regiebus__ApiReply *reply = s_list (b, "node-a", seen, 0);
        CHECK (reply && reply->code == REGIEBUS__ERROR_CODE__OK);
        Regiebus__ListReceivedReply *list = reply->list_received;
        for (size_t i = 0; i < list->n_events; i++) {
            Regiebus__Envelope *e = list->events [i];
            CHECK_UINT (e->origin_seq, seen + 1);
            CHECK_STR (e->origin, "node-a");
            CHECK_STR (e->destination, "node-b");
            CHECK_INT (e->kind, REGIEBUS__EVENT_KIND__TEST);
            CHECK_STR (e->case_pseudonym, rb_test_pseudonym);
            char payload [32];
            snprintf (payload, sizeof payload, "payload-%04llu", (unsigned long long) seen);
            CHECK_UINT (e->payload.len, strlen (payload));
            CHECK (memcmp (e->payload.data, payload, e->payload.len) == 0);
            CHECK (e->recorded_at_ms > 0 && e->occurred_at_ms == e->recorded_at_ms);
            seen++;
        }
        bool idle = list->n_events == 0;
        rb_wire_free (&reply);
        if (idle)
            zclock_sleep (20);
    }
    CHECK_UINT (seen, EVENTS);

    rb_test_section ("listing pages, every origin, and its refusals");
    Regiebus__ApiReply *reply = s_list (b, "node-a", 0, 10);
    CHECK (reply && reply->code == REGIEBUS__ERROR_CODE__OK);
    CHECK_UINT (reply->list_received->n_events, 10);
    CHECK (reply->list_received->more);
    rb_wire_free (&reply);
    reply = s_list (b, "node-a", EVENTS - 5, 0);
    CHECK_UINT (reply->list_received->n_events, 5);
    CHECK (!reply->list_received->more);
    rb_wire_free (&reply);
    reply = s_list (b, "", 0, 0);       //  every origin; the default limit is 1000
    CHECK_UINT (reply->list_received->n_events, 1000);
    CHECK (!reply->list_received->more);
    rb_wire_free (&reply);
    reply = s_list (b, "node-c", 0, 0);
    CHECK_UINT (reply->list_received->n_events, 0);
    rb_wire_free (&reply);
    CHECK_REFUSED (s_list (b, "node-a", 0, 10001), RB_ETOOLARGE, "list_received.limit");
    CHECK_REFUSED (s_list (b, "Node_A", 0, 0), RB_EINVALID, "list_received.origin");
}

static bool
s_drained (void *arg)
{
    rb_client_t *a = arg;
    Regiebus__ApiReply *status = s_status (a, CALL_MS);
    Regiebus__PeerStatus *peer = s_peer (status);
    bool drained = peer->queue_depth == 0 && peer->acked_seq == EVENTS;
    rb_wire_free (&status);
    return drained;
}

static void
s_test_counters (rb_client_t *a, rb_client_t *b, s_host_t *host)
{
    rb_test_section ("node-b counted 1000 received, handled once each, in order");
    Regiebus__ApiReply *status = s_status (b, CALL_MS);
    CHECK (status && status->code == REGIEBUS__ERROR_CODE__OK);
    CHECK_STR (status->status->node, "node-b");
    CHECK (status->status->test_clock);
    CHECK_UINT (s_counter (status, "link_received"), EVENTS);
    CHECK_UINT (s_counter (status, "api_accepted"), 0);
    Regiebus__PeerStatus *peer = s_peer (status);
    CHECK_STR (peer->name, "node-a");
    CHECK_UINT (peer->received_seq, EVENTS);
    CHECK_UINT (peer->refused, 0);
    rb_wire_free (&status);
    CHECK_UINT (atomic_load (&host->handled), EVENTS);
    CHECK_UINT (atomic_load (&host->out_of_order), 0);

    rb_test_section ("node-a's queue to node-b drains: all acknowledged");
    CHECK (rb_test_wait (s_drained, a, DELIVERY_MS));
    status = s_status (a, CALL_MS);
    peer = s_peer (status);
    CHECK (peer->up);
    CHECK_UINT (peer->queue_depth, 0);
    CHECK_UINT (peer->acked_seq, EVENTS);
    CHECK_INT (peer->oldest_unacked_age_ms, 0);
    CHECK (peer->last_heard_ms > 0);
    CHECK_UINT (s_counter (status, "link_received"), 0);
    rb_wire_free (&status);
}

static void
s_test_clock (rb_client_t *b)
{
    rb_test_section ("node-b's test clock moves forward, by a valid step only");
    Regiebus__ApiReply *before = s_status (b, CALL_MS);
    CHECK (before && before->code == REGIEBUS__ERROR_CODE__OK);
    const int64_t week_ms = 7LL * 24 * 3600 * 1000;
    Regiebus__ApiReply *reply = s_advance (b, week_ms);
    CHECK (reply && reply->code == REGIEBUS__ERROR_CODE__OK);
    CHECK_INT (reply->result_case, REGIEBUS__API_REPLY__RESULT_ADVANCE_CLOCK);
    CHECK (reply->advance_clock->now_ms >= before->status->now_ms + week_ms);
    rb_wire_free (&reply);
    Regiebus__ApiReply *after = s_status (b, CALL_MS);
    CHECK (after->status->now_ms >= before->status->now_ms + week_ms);
    rb_wire_free (&after);
    rb_wire_free (&before);
    CHECK_REFUSED (s_advance (b, 0), RB_EINVALID, "advance_clock.by_ms");
    CHECK_REFUSED (s_advance (b, -1), RB_EINVALID, "advance_clock.by_ms");
}

static void
s_test_callers (s_region_t *region)
{
    rb_test_section ("on a tcp API, a peer's key is refused; a stranger's cannot connect");
    rb_refusal_t r;
    zcert_t *peer_cert = rb_keys_load ("keys/node-a.cert", &r);
    CHECK (peer_cert);
    rb_client_t *as_peer = rb_client_new (region->b_api, region->b_key, peer_cert);
    CHECK (as_peer);
    CHECK_REFUSED (s_status (as_peer, CALL_MS), RB_EDENIED, "key");
    rb_client_destroy (&as_peer);
    zcert_destroy (&peer_cert);
    zcert_t *stranger = zcert_new ();
    rb_client_t *unknown = rb_client_new (region->b_api, region->b_key, stranger);
    CHECK (unknown);
    CHECK (s_status (unknown, 500) == NULL);
    rb_client_destroy (&unknown);
    zcert_destroy (&stranger);

    rb_test_section ("bytes that are not a request get MALFORMED, request_id 0");
    //  A raw DEALER, since rb_client only sends well-formed requests.
    zsock_t *raw = zsock_new (ZMQ_DEALER);
    CHECK (zsock_connect (raw, "%s", region->a_api) == 0);
    CHECK (zstr_send (raw, "this is not protobuf \xff\xff\xff") == 0);
    zsock_set_rcvtimeo (raw, CALL_MS);
    zframe_t *frame = zframe_recv (raw);
    CHECK (frame);
    Regiebus__ApiReply *reply = regiebus__api_reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    zframe_destroy (&frame);
    CHECK (reply);
    CHECK_UINT (reply->request_id, 0);
    CHECK_REFUSED (reply, RB_EMALFORMED, "request");
    zsock_destroy (&raw);

    rb_test_section ("a client that cannot connect is not made; one that gets no answer times out");
    CHECK (rb_client_new ("nonsense://", NULL, NULL) == NULL);
    rb_client_t *nobody = rb_client_new ("ipc://nobody-listens-here", NULL, NULL);
    CHECK (nobody);
    CHECK (s_status (nobody, 100) == NULL);
    CHECK (rb_client_recv (nobody, 10) == NULL);
    rb_client_destroy (&nobody);
    CHECK (nobody == NULL);
    rb_client_destroy (&nobody);        //  idempotent
}

//  A TCP port that is taken: a plain socket listening on it.
static int
s_occupy_port (int *port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    CHECK (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0 && listen (fd, 1) == 0);
    CHECK (getsockname (fd, (struct sockaddr *) &addr, &len) == 0);
    *port = ntohs (addr.sin_port);
    return fd;
}

//  Every way node-b's configuration can be right on paper and still not
//  start; each refusal names the key to fix, and a node half-built is
//  taken apart without a leak.
static void
s_test_start_refused (const rb_config_t *good)
{
    rb_test_section ("a node refuses to start, naming the key at fault");
    rb_refusal_t r;
    rb_config_t broken = *good;
    snprintf (broken.cert, sizeof broken.cert, "keys/node-z.cert");
    CHECK (rb_node_new (&broken, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/cert");

    rb_test_write_file ("not-a-dir", "a file\n");
    broken = *good;
    snprintf (broken.data_dir, sizeof broken.data_dir, "not-a-dir/b");
    CHECK (rb_node_new (&broken, &r) == NULL);
    CHECK_REFUSAL (&r, RB_ESTORE, "node/data_dir");

    int port;
    int fd = s_occupy_port (&port);
    broken = *good;
    snprintf (broken.bind, sizeof broken.bind, "tcp://127.0.0.1:%d", port);
    CHECK (rb_node_new (&broken, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/bind");
    broken = *good;
    snprintf (broken.api_endpoint, sizeof broken.api_endpoint, "tcp://127.0.0.1:%d", port);
    CHECK (rb_node_new (&broken, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "api/endpoint");
    close (fd);

    broken = *good;
    snprintf (broken.api_clients_dir, sizeof broken.api_clients_dir, "no-such-clients");
    CHECK (rb_node_new (&broken, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "api/clients_dir");
}

int
main (int argc, char *argv [])
{
    if (argc == 4 && streq (argv [1], "--node"))
        return s_run_node (argv [2], (pid_t) atoi (argv [3]));

    rb_test_begin ("node");
    s_region_t region = { .a_port = 0 };
    snprintf (region.dir, sizeof region.dir, "%s", rb_test_dir ());

    rb_test_section ("a region of two: keys, ports, configurations");
    rb_refusal_t r;
    CHECK_INT (rb_keys_make ("keys", "node-a", region.a_key, &r), RB_OK);
    CHECK_INT (rb_keys_make ("keys", "node-b", region.b_key, &r), RB_OK);
    CHECK_INT (rb_keys_make ("clients", "tester", region.tester_key, &r), RB_OK);
    region.a_port = rb_test_free_port ();
    region.b_port = rb_test_free_port ();
    region.b_api_port = rb_test_free_port ();
    snprintf (region.a_api, sizeof region.a_api, "ipc://%s/a.api", region.dir);
    snprintf (region.b_api, sizeof region.b_api, "tcp://127.0.0.1:%d", region.b_api_port);

    //  node-a from a file, as an operator writes it.
    rb_test_write_file ("node-a.cfg",
        "node\n"
        "    name = node-a\n"
        "    data_dir = \"%s/a\"\n"
        "    bind = \"tcp://127.0.0.1:%d\"\n"
        "    cert = \"%s/keys/node-a.cert\"\n"
        "    map_size_mb = 64\n"
        "    log_level = warn\n"
        "api\n"
        "    endpoint = \"%s\"\n"
        "link\n"
        "    heartbeat_ms = 100\n"
        "peer\n"
        "    node-b\n"
        "        endpoint = \"tcp://127.0.0.1:%d\"\n"
        "        public_key = \"%s\"\n",
        region.dir, region.a_port, region.dir, region.a_api, region.b_port, region.b_key);

    //  node-b from flags alone, with a test clock and a tcp API.
    char bind [64], api [96], peer_endpoint [80], peer_key [80];
    snprintf (bind, sizeof bind, "node/bind=tcp://127.0.0.1:%d", region.b_port);
    snprintf (api, sizeof api, "api/endpoint=%s", region.b_api);
    snprintf (peer_endpoint, sizeof peer_endpoint, "peer/node-a/endpoint=tcp://127.0.0.1:%d", region.a_port);
    snprintf (peer_key, sizeof peer_key, "peer/node-a/public_key=%s", region.a_key);
    const char *flags [] = {
        "node/name=node-b", "node/data_dir=b", bind, "node/cert=keys/node-b.cert",
        "node/map_size_mb=64", "node/clock=test", api, "api/clients_dir=clients",
        "link/heartbeat_ms=100", peer_endpoint, peer_key, "peer/node-a/role=municipality",
    };
    rb_config_t *config_b = rb_config_load (NULL, flags, sizeof flags / sizeof flags [0], &r);
    if (!config_b)
        printf ("  %s: %s\n", r.field, r.message);
    CHECK (config_b);

    s_test_start_refused (config_b);

    rb_test_section ("node-a starts in a child process, node-b in a thread");
    char parent [16];
    snprintf (parent, sizeof parent, "%d", (int) getpid ());
    char *child_argv [] = { argv [0], "--node", "node-a.cfg", parent, NULL };
    rb_test_on_failure (s_kill_child, NULL);
    CHECK (posix_spawn (&s_child, "/proc/self/exe", NULL, NULL, child_argv, environ) == 0);

    s_host_t host = { .config = config_b, .next_seq = 1 };
    zactor_t *node_b = zactor_new (s_node_actor, &host);
    CHECK (node_b);
    if (!host.started)
        printf ("  node-b: %s: %s\n", host.refusal.field, host.refusal.message);
    CHECK (host.started);

    rb_client_t *a = rb_client_new (region.a_api, NULL, NULL);
    CHECK (a);
    zcert_t *tester = rb_keys_load ("clients/tester.cert", &r);
    CHECK (tester);
    rb_client_t *b = rb_client_new (region.b_api, region.b_key, tester);
    CHECK (b);
    //  node-a needs a moment to start; a status call answers once it has.
    Regiebus__ApiReply *status = NULL;
    for (int tries = 0; !status && tries < 50; tries++)
        status = s_status (a, 200);
    CHECK (status && status->code == REGIEBUS__ERROR_CODE__OK);
    CHECK_UINT (s_peer (status)->last_assigned_seq, 0);
    rb_wire_free (&status);

    rb_test_submission_t *subs = calloc (EVENTS, sizeof *subs);
    CHECK (subs);
    s_test_submit (a, subs);
    s_test_refusals (a, subs);
    s_test_delivery (b);
    s_test_counters (a, b, &host);
    s_test_clock (b);
    s_test_emit (a, b);
    s_test_calls (a, b);
    s_test_notifications (a, b);
    s_test_callers (&region);
    free (subs);

    rb_test_section ("node-b stops from its own thread after its next commit");
    atomic_store (&host.stop, true);
    Regiebus__ApiReply *last = s_advance (b, 1);   //  a write, so a commit; its reply may be lost
    rb_wire_free (&last);
    int64_t deadline = zclock_mono () + 10000;
    while (!atomic_load (&host.stopped) && zclock_mono () < deadline)
        zclock_sleep (10);
    CHECK (atomic_load (&host.stopped));
    zactor_destroy (&node_b);

    rb_test_section ("node-a stops on SIGTERM and exits cleanly (no leaks)");
    CHECK (kill (s_child, SIGTERM) == 0);
    int wstatus = 0;
    pid_t done = 0;
    deadline = zclock_mono () + 10000;
    while ((done = waitpid (s_child, &wstatus, WNOHANG)) == 0 && zclock_mono () < deadline)
        zclock_sleep (10);
    CHECK (done == s_child);
    s_child = 0;
    CHECK (WIFEXITED (wstatus));
    CHECK_INT (WEXITSTATUS (wstatus), 0);

    rb_client_destroy (&a);
    rb_client_destroy (&b);
    zcert_destroy (&tester);
    rb_config_destroy (&config_b);
    return rb_test_end ();
}
