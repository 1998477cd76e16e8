/*  rb_reload: keys and peers applied to a running node, and the keys it
 *  shows. Part of rb_node (see rb_node_priv.h).
 *
 *  The config file stays the single source of truth. A reload (SIGHUP or
 *  the API's `reload`) reads it again with the same --set flags and
 *  applies it only when everything that differs may change live: the
 *  peers (added, removed, endpoints, keys, revocations), node/cert,
 *  node/next_cert and node/log_level. Any other change, or an error in the
 *  file, is refused with the key named, and the running config stays.
 *
 *  It runs between two group commits, when no transaction is open and no
 *  link index is held by anyone, in four steps:
 *
 *    check   load the file, compare it with the running one, load the keys
 *    admit   rewrite the allowlist; zauth reads it again
 *    relink  stop removed peers, connect added ones, reconnect changed ones
 *    drop    when a key lost admission (revoked, replaced, removed, or this
 *            node's own key changed), rebind the ROUTER: every inbound
 *            connection drops at once, and only admitted keys get back in;
 *            a tcp API takes a new key of the node's a moment after the
 *            reply, which still reaches a client on the old key
 *
 *  Nothing queued is lost: outboxes are on disk, keyed by peer name. A
 *  revoked peer's queue waits for it (submits and daemons' emits to it are
 *  still accepted); a removed peer's waits on disk and flows on, in
 *  sequence, when the peer is configured again. Connections that drop
 *  take only frames in flight, which the delivery protocol resends.
 */
#include "rb_node_priv.h"
#include "rb_keys.h"
#include "rb_log.h"
#include <signal.h>

#define S_REBIND_TRIES 200      //  the old listener closes in ZeroMQ's I/O thread:
#define S_REBIND_WAIT_MS 10     //  wait for its port at most 2 s
#define S_API_REBIND_MS 250     //  a tcp API takes a new key this long after the reply

static volatile sig_atomic_t s_hangup;     //  SIGHUP arrived: reload at the next turn

static void
s_on_hangup (int signum)
{
    (void) signum;
    s_hangup = 1;
}

void
rb_node_set_reload (rb_node_t *self, rb_config_t *config, const char *path,
                    const char **overrides, int override_count)
{
    self->reload_config = config;
    self->reload_path = strdup (path);
    self->reload_overrides = calloc (override_count + 1, sizeof (char *));
    for (int i = 0; self->reload_overrides && i < override_count; i++)
        self->reload_overrides [self->reload_override_count++] = strdup (overrides [i]);
    struct sigaction action = { .sa_handler = s_on_hangup, .sa_flags = SA_RESTART };
    sigemptyset (&action.sa_mask);
    sigaction (SIGHUP, &action, NULL);
}

void
rb_reload_free (rb_node_t *self)
{
    for (int i = 0; i < self->reload_override_count; i++)
        free (self->reload_overrides [i]);
    free (self->reload_overrides);
    free (self->reload_path);
    zmsg_destroy (&self->reload_route);
}

static void
s_reply (rb_node_t *self, zmsg_t **route_p, uint64_t request_id, const rb_refusal_t *why,
         Regiebus__ApiReply__ResultCase result_case, void *result)
{
    Regiebus__ApiReply reply = REGIEBUS__API_REPLY__INIT;
    reply.request_id = request_id;
    reply.code = (Regiebus__ErrorCode) why->code;
    reply.field = (char *) why->field;
    reply.message = (char *) why->message;
    if (!why->code && result_case == REGIEBUS__API_REPLY__RESULT_RELOAD)
        reply.reload = result;
    else
    if (!why->code && result_case == REGIEBUS__API_REPLY__RESULT_KEYS)
        reply.keys = result;
    if (!why->code)
        reply.result_case = result_case;
    rb_api_reply (self, route_p, &reply, false);
}

// ---------------------------------------------------------------------------
//  Check

//  What a reload will do, worked out before anything changes.
typedef struct {
    rb_config_t *next;          //  the config file as it reads now
    zcert_t *cert;              //  next's node/cert, loaded
    bool own_key_changed;       //  it is not the key this node uses
    bool drop;                  //  some key lost admission: drop inbound connections
} s_plan_t;

//  True when config admits key as peer name's.
static bool
s_admits (const rb_config_t *config, const char *name, const char *key)
{
    const rb_peer_config_t *p = rb_config_peer (config, name);
    return *key && p && !p->revoked && (streq (p->public_key, key) || streq (p->next_public_key, key));
}

static bool
s_admission_lost (const rb_config_t *running, const rb_config_t *next)
{
    for (int i = 0; i < running->peer_count; i++) {
        const rb_peer_config_t *p = &running->peers [i];
        if (p->revoked)
            continue;
        if (!s_admits (next, p->name, p->public_key)
        ||  (*p->next_public_key && !s_admits (next, p->name, p->next_public_key)))
            return true;
    }
    return false;
}

static rb_err_t
s_check (rb_node_t *self, s_plan_t *plan, rb_refusal_t *why)
{
    plan->next = rb_config_load (self->reload_path, (const char **) self->reload_overrides,
                                 self->reload_override_count, why);
    if (!plan->next || rb_config_check_reload (self->reload_config, plan->next, why))
        return why->code;
    if (!(plan->cert = rb_keys_load (plan->next->cert, why)))
        return why->code;
    if (*plan->next->next_cert) {
        zcert_t *next = rb_keys_load_as (plan->next->next_cert, "node/next_cert", why);
        bool same = next && zcert_eq (next, plan->cert);
        zcert_destroy (&next);
        if (why->code)
            return why->code;
        if (same)
            return rb_refuse (why, RB_EINVALID, "node/next_cert",
                              "config: node/next_cert is the key node/cert holds already");
    }
    plan->own_key_changed = !zcert_eq (plan->cert, self->cert);
    plan->drop = plan->own_key_changed || s_admission_lost (self->config, plan->next);
    return RB_OK;
}

// ---------------------------------------------------------------------------
//  Admit, relink, drop

static rb_err_t
s_admit (rb_node_t *self, s_plan_t *plan, rb_refusal_t *why)
{
    char allow [600];
    snprintf (allow, sizeof allow, "%s/allowlist", self->config->data_dir);
    zhashx_t *clients = zhashx_new ();
    if (!clients || rb_keys_write_allowlist (plan->next, allow, clients, why)) {
        zhashx_destroy (&clients);
        rb_refusal_t again;     //  put the running allowlist back
        if (rb_keys_write_allowlist (self->config, allow, NULL, &again))
            rb_log_error ("msg=\"cannot restore the allowlist\" detail=\"%s\"", again.message);
        return why->code? why->code: rb_refuse (why, RB_EINTERNAL, "", "out of memory");
    }
    zhashx_destroy (&self->api_clients);
    self->api_clients = clients;
    if (zstr_sendx (self->auth, "CURVE", allow, NULL) || zsock_wait (self->auth))
        return rb_refuse (why, RB_EINTERNAL, "", "the authenticator did not take the new allowlist");
    return RB_OK;
}

//  The peers a reload added, removed and changed, by name.
typedef struct {
    char names [3][RB_MAX_PEERS][RB_NAME_MAX + 1];
    char *lists [3][RB_MAX_PEERS];
    size_t counts [3];
} s_report_t;

enum { S_ADDED, S_REMOVED, S_CHANGED };

static void
s_report (s_report_t *report, int what, const char *name)
{
    size_t n = report->counts [what]++;
    snprintf (report->names [what][n], RB_NAME_MAX + 1, "%s", name);
    report->lists [what][n] = report->names [what][n];
}

static bool
s_peer_changed (const rb_peer_config_t *a, const rb_peer_config_t *b)
{
    return !streq (a->endpoint, b->endpoint) || !streq (a->public_key, b->public_key)
        || !streq (a->next_public_key, b->next_public_key) || a->revoked != b->revoked;
}

//  Links to peers the new config no longer has stop; their queues stay.
static void
s_unlink_removed (rb_node_t *self, const rb_config_t *next, s_report_t *report)
{
    int kept = 0;
    for (int i = 0; i < self->link_count; i++) {
        rb_link_t *link = self->links [i];
        if (rb_config_peer (next, rb_link_name (link))) {
            self->links [kept++] = link;
            continue;
        }
        rb_link_stats_t *s = rb_link_stats (link);
        rb_log_warn ("msg=\"peer removed: link stopped, its queue stays on disk\" peer=%s queued=%llu",
                     rb_link_name (link), (unsigned long long) (s->assigned - s->acked));
        s_report (report, S_REMOVED, rb_link_name (link));
        rb_link_destroy (&link);
    }
    self->link_count = kept;
}

//  A link to a peer new to this run: its streams continue from the store.
static rb_err_t
s_link_added (rb_node_t *self, const rb_peer_config_t *peer, zcert_t *cert, rb_refusal_t *why)
{
    rb_link_t *link = rb_link_new (peer, self->config, cert, self->outbox);
    rb_txn_t *txn = NULL;
    rb_err_t rc = link? rb_txn_begin (self->store, false, &txn): RB_EINVALID;
    if (!rc)
        rc = rb_link_load (link, txn);
    if (!rc)
        rc = rb_inbox_last (self->inbox, txn, peer->name, &rb_link_stats (link)->received);
    rb_txn_destroy (&txn);
    if (rc) {
        rb_link_destroy (&link);
        char field [96];
        snprintf (field, sizeof field, "peer/%s", peer->name);
        return rb_refuse (why, rc, field, "cannot set up the link to %s", peer->name);
    }
    self->links [self->link_count++] = link;
    return RB_OK;
}

static rb_err_t
s_grow (rb_node_t *self, int count)
{
    size_t size = (count + 1) * sizeof (uint64_t);
    void *links = realloc (self->links, (count + 1) * sizeof *self->links);
    if (links)
        self->links = links;
    uint64_t **arrays [] = { &self->assigned, &self->assigned_batch, &self->assigned_saved };
    for (size_t i = 0; links && i < 3; i++) {
        void *grown = realloc (*arrays [i], size);
        if (!grown)
            return RB_EINTERNAL;
        *arrays [i] = grown;
        memset (grown, 0, size);    //  between commits: nothing is assigned
    }
    return links? RB_OK: RB_EINTERNAL;
}

static rb_err_t
s_relink (rb_node_t *self, s_plan_t *plan, s_report_t *report, rb_refusal_t *why)
{
    zcert_t *cert = plan->own_key_changed? plan->cert: self->cert;
    s_unlink_removed (self, plan->next, report);
    if (s_grow (self, self->link_count + plan->next->peer_count))
        return rb_refuse (why, RB_EINTERNAL, "", "out of memory");
    for (int i = 0; i < plan->next->peer_count; i++) {
        const rb_peer_config_t *peer = &plan->next->peers [i];
        const rb_peer_config_t *was = rb_config_peer (self->config, peer->name);
        rb_link_t *link = rb_node_link (self, peer->name, NULL);
        bool changed = link && was && s_peer_changed (was, peer);
        //  A role is read from the config where it is checked: it needs
        //  no new connection, only to be reported.
        bool role_changed = link && was && !streq (was->role, peer->role);
        if (!link && s_link_added (self, peer, cert, why) == RB_OK)
            s_report (report, S_ADDED, peer->name);
        else
        if (changed || (link && plan->own_key_changed))
            rb_link_configure (link, peer, cert);
        if (changed || role_changed)
            s_report (report, S_CHANGED, peer->name);
        if (changed && peer->revoked)
            rb_log_warn ("msg=\"peer revoked: no key of it gets in, its queue waits\" peer=%s queued=%llu",
                         peer->name, (unsigned long long) (rb_link_stats (link)->assigned
                                                           - rb_link_stats (link)->acked));
    }
    return why->code;
}

//  Bind sock again with cert: its listener goes, and with it every
//  connection it accepted; each peer has to pass the allowlist again.
static rb_err_t
s_rebind (zsock_t *sock, const char *endpoint, zcert_t *cert)
{
    char *bound = zsock_last_endpoint (sock);
    if (bound)
        zsock_unbind (sock, "%s", bound);
    zstr_free (&bound);
    zcert_apply (cert, sock);
    for (int i = 0; i < S_REBIND_TRIES; i++) {
        if (zsock_bind (sock, "%s", endpoint) >= 0)
            return RB_OK;
        zclock_sleep (S_REBIND_WAIT_MS);
    }
    rb_log_error ("msg=\"cannot bind again\" endpoint=%s error=\"%s\"", endpoint, zmq_strerror (zmq_errno ()));
    return RB_EINTERNAL;
}

//  A tcp API takes the node's new key a moment after the reload's reply,
//  so that the reply still reaches a client connected with the old one.
static rb_err_t
s_drop (rb_node_t *self, s_plan_t *plan, rb_refusal_t *why)
{
    zcert_t *cert = plan->own_key_changed? plan->cert: self->cert;
    if (plan->drop && s_rebind (self->router, self->config->bind, cert))
        return rb_refuse (why, RB_EINTERNAL, "node/bind", "cannot bind %s again", self->config->bind);
    if (plan->own_key_changed && strncmp (self->config->api_endpoint, "tcp://", 6) == 0)
        self->api_rebind_mono_ms = rb_clock_mono_ms () + S_API_REBIND_MS;
    return RB_OK;
}

static void
s_api_rebind (rb_node_t *self)
{
    self->api_rebind_mono_ms = 0;
    if (s_rebind (self->api, self->config->api_endpoint, self->cert) == RB_OK)
        rb_log_info ("msg=\"API bound again with the node's new key\" endpoint=%s", self->config->api_endpoint);
}

// ---------------------------------------------------------------------------
//  Reload

static rb_err_t
s_reload (rb_node_t *self, s_report_t *report, Regiebus__ReloadReply *reply, rb_refusal_t *why)
{
    s_plan_t plan = { 0 };
    if (!s_check (self, &plan, why) && !s_admit (self, &plan, why) && !s_relink (self, &plan, report, why)
    &&  !s_drop (self, &plan, why)) {
        rb_config_apply_reload (self->reload_config, plan.next);
        rb_log_setup ((rb_log_level_t) rb_log_level_parse (self->config->log_level), self->config->name);
        if (plan.own_key_changed) {
            zcert_destroy (&self->cert);
            self->cert = plan.cert;
            plan.cert = NULL;
        }
        reply->own_key_changed = plan.own_key_changed;
        reply->connections_dropped = plan.drop;
    }
    zcert_destroy (&plan.cert);
    rb_config_destroy (&plan.next);
    reply->added = report->lists [S_ADDED];
    reply->n_added = report->counts [S_ADDED];
    reply->removed = report->lists [S_REMOVED];
    reply->n_removed = report->counts [S_REMOVED];
    reply->changed = report->lists [S_CHANGED];
    reply->n_changed = report->counts [S_CHANGED];
    return why->code;
}

void
rb_reload_request (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    rb_refusal_t why = { 0 };
    if (!self->reload_config)
        rb_refuse (&why, RB_EPRECONDITION, "reload", "this node was not started from a config file");
    else
    if (self->reload_route)
        rb_refuse (&why, RB_EPRECONDITION, "reload", "a reload is under way");
    if (why.code) {
        s_reply (self, route_p, req->request_id, &why, 0, NULL);
        return;
    }
    self->reload_route = *route_p;
    self->reload_request_id = req->request_id;
    *route_p = NULL;
}

void
rb_reload_turn (rb_node_t *self)
{
    if (self->api_rebind_mono_ms && rb_clock_mono_ms () >= self->api_rebind_mono_ms)
        s_api_rebind (self);
    bool hangup = s_hangup && self->reload_config;
    if (!hangup && !self->reload_route)
        return;
    s_hangup = 0;
    s_report_t *report = calloc (1, sizeof *report);
    Regiebus__ReloadReply reply = REGIEBUS__RELOAD_REPLY__INIT;
    rb_refusal_t why = { 0 };
    if (!report)
        rb_refuse (&why, RB_EINTERNAL, "", "out of memory");
    else
        s_reload (self, report, &reply, &why);
    const char *source = self->reload_route? "api": "sighup";
    if (why.code) {
        self->counters.reloads_refused++;
        rb_log_warn ("msg=\"reload refused: the running config stays\" source=%s code=%s field=\"%s\" "
                     "detail=\"%s\"", source, rb_errname (why.code), why.field, why.message);
    }
    else {
        self->counters.reloads++;
        rb_log_info ("msg=\"reloaded\" source=%s added=%zu removed=%zu changed=%zu own_key_changed=%d "
                     "connections_dropped=%d", source, reply.n_added, reply.n_removed, reply.n_changed,
                     reply.own_key_changed, reply.connections_dropped);
    }
    if (self->reload_route)
        s_reply (self, &self->reload_route, self->reload_request_id, &why,
                 REGIEBUS__API_REPLY__RESULT_RELOAD, &reply);
    free (report);
}

// ---------------------------------------------------------------------------
//  The keys in use

static void
s_key_info (Regiebus__KeyInfo *info, const char *public_key, char fingerprint [20])
{
    regiebus__key_info__init (info);
    info->public_key = (char *) public_key;
    info->fingerprint = fingerprint;
    if (!rb_keys_fingerprint (public_key, fingerprint))
        *fingerprint = '\0';
}

//  One peer's keys: up to two, with their fingerprints.
typedef struct {
    Regiebus__PeerKeys keys;
    Regiebus__KeyInfo info [2];
    Regiebus__KeyInfo *list [2];
    char fingerprints [2][20];
} s_peer_keys_t;

static void
s_peer_keys (rb_node_t *self, const rb_peer_config_t *peer, s_peer_keys_t *out)
{
    regiebus__peer_keys__init (&out->keys);
    out->keys.name = (char *) peer->name;
    out->keys.revoked = peer->revoked;
    const char *keys [2] = { peer->public_key, peer->next_public_key };
    for (int i = 0; i < 2 && *keys [i]; i++) {
        s_key_info (&out->info [i], keys [i], out->fingerprints [i]);
        out->list [out->keys.n_keys++] = &out->info [i];
    }
    out->keys.keys = out->list;
    rb_link_t *link = rb_node_link (self, peer->name, NULL);
    out->keys.server_key = (char *) (link? rb_link_server_key (link): "");
    if (link) {
        rb_link_stats_t *s = rb_link_stats (link);
        out->keys.up = s->up;
        out->keys.queue_depth = s->assigned - s->acked;
    }
}

void
rb_reload_keys (rb_node_t *self, zmsg_t **route_p, const Regiebus__ApiRequest *req)
{
    const rb_config_t *c = self->config;
    s_peer_keys_t *peers = calloc (c->peer_count + 1, sizeof *peers);
    Regiebus__PeerKeys **list = calloc (c->peer_count + 1, sizeof *list);
    rb_refusal_t why = { 0 };
    if (!peers || !list)
        rb_refuse (&why, RB_EINTERNAL, "", "out of memory");
    Regiebus__KeysReply keys = REGIEBUS__KEYS_REPLY__INIT;
    Regiebus__KeyInfo node_key, next_key;
    char node_print [20], next_print [20];
    s_key_info (&node_key, zcert_public_txt (self->cert), node_print);
    keys.node_key = &node_key;
    zcert_t *next = *c->next_cert? zcert_load (c->next_cert): NULL;
    if (next) {
        s_key_info (&next_key, zcert_public_txt (next), next_print);
        keys.next_key = &next_key;
    }
    for (int i = 0; !why.code && i < c->peer_count; i++) {
        s_peer_keys (self, &c->peers [i], &peers [i]);
        list [keys.n_peers++] = &peers [i].keys;
    }
    keys.peers = list;
    s_reply (self, route_p, req->request_id, &why, REGIEBUS__API_REPLY__RESULT_KEYS, &keys);
    zcert_destroy (&next);
    free (list);
    free (peers);
}
