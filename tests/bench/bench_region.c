/*  bench_region: a region of real daemons and holder nodes to measure;
 *  see bench_region.h.
 */
#include "bench_region.h"
#include "bench_submit.h"
#include "rb_calendar.h"
#include "rb_keys.h"
#include "rb_pseudonym.h"
#include <czmq.h>
#include <sys/mman.h>

#define S_START_MS 30000        //  longest wait for a region to come up
#define S_STOP_MS 10000         //  longest wait for a node to exit on SIGTERM
#define S_CALL_MS 500           //  a status call while waiting

//  The binaries of the roles; a holder is this program run again.
static const char *
s_program (const bench_opts_t *opts, bench_role_t role)
{
    return role == BENCH_MUNICIPALITY? opts->municipality_bin:
           role == BENCH_SCHOOL? opts->school_bin: "/proc/self/exe";
}

//  The daemon's own configuration sections, written into buf.
static const char *
s_sections (bench_region_t *self, bench_role_t role, char *buf, size_t size)
{
    if (role == BENCH_SCHOOL)
        snprintf (buf, size,
                  "school\n"
                  "    location = %s\n"
                  "    contact = \"Attendance desk, 020-5550100\"\n"
                  "    close_day_at = never\n"
                  "homes\n"
                  "    0363 = %s\n"
                  "region\n"
                  "    key_file = \"%s\"\n",
                  BENCH_LOCATION, self->nodes [0].name, self->key_file);
    else
    if (role == BENCH_MUNICIPALITY)
        snprintf (buf, size, "municipality\n    leerplicht_contact = \"Leerplicht, 020-5550000\"\n");
    return role == BENCH_HOLDER? NULL: buf;
}

//  The role a node's peers give it, which says what it may send them: a
//  holder plays the agency its name says (school-f, portal-a, care-a).
static const char *
s_plays (const bench_node_t *node)
{
    static const char *roles [] = { "municipality", "school", "node" };
    static const char *agencies [] = { "school", "portal", "care" };
    for (size_t i = 0; node->role == BENCH_HOLDER && i < 3; i++)
        if (strncmp (node->name, agencies [i], strlen (agencies [i])) == 0)
            return agencies [i];
    return roles [node->role];
}

//  Write node i's configuration: the municipality peers with everyone,
//  everyone else with the municipality.
static int
s_configure (bench_region_t *self, int i, const int *ports, const char *path)
{
    bench_node_t *node = &self->nodes [i];
    bench_peer_t peers [BENCH_REGION_MAX];
    int count = 0;
    static const char *roles [] = { "municipality", "school", "node" };
    for (int j = 0; j < self->count; j++)
        if (j != i && (i == 0 || j == 0))
            peers [count++] = (bench_peer_t) { self->nodes [j].name, ports [j], self->nodes [j].key,
                                               s_plays (&self->nodes [j]) };
    char sections [1200];
    return bench_config_write (path, self->dir, node->name, roles [node->role], ports [i], node->api,
                               peers, count, s_sections (self, node->role, sections, sizeof sections));
}

//  Start node i as a child process.
static int
s_spawn (bench_region_t *self, const bench_opts_t *opts, int i, const char *config)
{
    bench_node_t *node = &self->nodes [i];
    char log [480];
    snprintf (log, sizeof log, "%s/%s.log", self->dir, node->name);
    const char *program = s_program (opts, node->role);
    const char *daemon [] = { program, "-c", config };
    const char *holder [] = { program, "--holder", node->stamps_name, "-c", config };
    return node->role == BENCH_HOLDER? bench_child_start (&node->child, node->name, holder, 5, opts, log):
                                       bench_child_start (&node->child, node->name, daemon, 3, opts, log);
}

//  Keys, the region key, dates: what the nodes need before they start.
static int
s_prepare (bench_region_t *self, const char *parent, const char *name, const bench_member_t *members,
           int count)
{
    char keys [460];
    rb_refusal_t why;
    snprintf (self->dir, sizeof self->dir, "%s/%s", parent, name);
    snprintf (keys, sizeof keys, "%s/keys", self->dir);
    snprintf (self->key_file, sizeof self->key_file, "%s/region.key", self->dir);
    if (zsys_dir_create ("%s", self->dir) || rb_pseudonym_make_key (self->key_file, &why)) {
        fprintf (stderr, "bench: cannot prepare %s\n", self->dir);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        bench_node_t *node = &self->nodes [self->count++];
        snprintf (node->name, sizeof node->name, "%s", members [i].name);
        node->role = members [i].role;
        snprintf (node->api, sizeof node->api, "ipc://%s/%s/%s.api", parent, name, members [i].name);
        if (rb_keys_make (keys, node->name, node->key, &why)) {
            fprintf (stderr, "bench: cannot make keys for %s: %s\n", node->name, why.message);
            return -1;
        }
        snprintf (node->stamps_name, sizeof node->stamps_name, "/regiebus-bench-%d-%s-%s",
                  (int) getpid (), name, members [i].name);
        if (node->role == BENCH_HOLDER && !(node->stamps = bench_stamps_new (node->stamps_name,
                                                                            members [i].stamps))) {
            fprintf (stderr, "bench: cannot make the stamp table %s\n", node->stamps_name);
            return -1;
        }
    }
    //  The school's dates are local dates: this process has its time zone.
    rb_calendar_t *calendar = rb_calendar_new ();
    int32_t today = rb_calendar_date_at (zclock_time ());
    if (calendar)
        self->date = rb_calendar_is_school_day (calendar, today)?
            today: rb_calendar_previous_school_day (calendar, today);
    self->enrolled_on = rb_calendar_add_days (self->date, -28);
    rb_calendar_destroy (&calendar);
    return self->date && self->enrolled_on? 0: -1;
}

//  Bounded: timeout_ms, each round at most one status call per node.
static int
s_wait_up (bench_region_t *self, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    int up = 0;
    while (up < self->count && zclock_mono () < deadline) {
        bench_node_t *node = &self->nodes [up];
        if (!bench_child_alive (&node->child))
            return -1;
        if (bench_peers_up (node->client, up == 0? (size_t) self->count - 1: 1))
            up++;
        else
            zclock_sleep (20);
    }
    if (up < self->count)
        fprintf (stderr, "bench: %s did not see its peers up within %d ms; see %s\n",
                 self->nodes [up].name, timeout_ms, self->nodes [up].child.log);
    return up == self->count? 0: -1;
}

int
bench_region_start (bench_region_t *self, const bench_opts_t *opts, const char *parent,
                    const char *name, const bench_member_t *members, int count)
{
    memset (self, 0, sizeof *self);
    int ports [BENCH_REGION_MAX];
    if (count > BENCH_REGION_MAX || s_prepare (self, parent, name, members, count)
    ||  bench_free_ports (ports, count))
        return -1;
    for (int i = 0; i < count; i++) {
        bench_node_t *node = &self->nodes [i];
        char config [480];
        snprintf (config, sizeof config, "%s/%s.cfg", self->dir, node->name);
        if (s_configure (self, i, ports, config) || s_spawn (self, opts, i, config))
            return -1;
        if (!(node->client = rb_client_new (node->api, NULL, NULL)))
            return -1;
    }
    int rc = s_wait_up (self, S_START_MS);
    //  Each holder mapped its table before its API answered: the names
    //  can go, so that nothing is left behind whatever happens next.
    for (int i = 0; i < count; i++)
        if (self->nodes [i].stamps)
            shm_unlink (self->nodes [i].stamps_name);
    return rc;
}

int
bench_region_stop (bench_region_t *self)
{
    int rc = 0;
    for (int i = 0; i < self->count; i++) {
        rb_client_destroy (&self->nodes [i].client);
        bench_child_term (&self->nodes [i].child);
    }
    for (int i = 0; i < self->count; i++)
        if (bench_child_wait (&self->nodes [i].child, S_STOP_MS))
            rc = -1;
    return rc;
}

int
bench_region_stop_node (bench_region_t *self, int i)
{
    rb_client_destroy (&self->nodes [i].client);
    bench_child_term (&self->nodes [i].child);
    return bench_child_wait (&self->nodes [i].child, S_STOP_MS);
}

int
bench_region_start_node (bench_region_t *self, const bench_opts_t *opts, int i)
{
    bench_node_t *node = &self->nodes [i];
    char config [480];
    snprintf (config, sizeof config, "%s/%s.cfg", self->dir, node->name);
    if (s_spawn (self, opts, i, config) || !(node->client = rb_client_new (node->api, NULL, NULL)))
        return -1;
    int64_t deadline = zclock_mono () + S_START_MS;
    while (zclock_mono () < deadline && bench_child_alive (&node->child))
        if (bench_peers_up (node->client, i == 0? (size_t) self->count - 1: 1))
            return 0;
        else
            zclock_sleep (20);
    fprintf (stderr, "bench: %s did not come up again; see %s\n", node->name, node->child.log);
    return -1;
}

void
bench_region_destroy (bench_region_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (self->nodes [i].role == BENCH_HOLDER)
            bench_stamps_destroy (&self->nodes [i].stamps, self->nodes [i].stamps_name);
}

Regiebus__ApiReply *
bench_region_call (bench_node_t *node, Regiebus__ApiRequest__CallCase call, const ProtobufCMessage *msg,
                   int timeout_ms)
{
    Regiebus__ApiReply *reply = rb_client_invoke (node->client, call, msg, timeout_ms);
    if (reply && reply->code == REGIEBUS__ERROR_CODE__OK)
        return reply;
    if (reply)
        fprintf (stderr, "bench: %s refused a call: %s on '%s': %s\n", node->name,
                 rb_errname ((rb_err_t) reply->code), reply->field, reply->message);
    else
        fprintf (stderr, "bench: %s did not answer a call within %d ms\n", node->name, timeout_ms);
    rb_wire_free (&reply);
    return NULL;
}

static Regiebus__ApiReply *
s_status (bench_node_t *node)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    return bench_region_call (node, REGIEBUS__API_REQUEST__CALL_STATUS, &status.base, S_CALL_MS);
}

int64_t
bench_region_counter (bench_node_t *node, const char *name)
{
    Regiebus__ApiReply *reply = s_status (node);
    int64_t value = -1;
    for (size_t i = 0; reply && i < reply->status->n_counters; i++)
        if (streq (reply->status->counters [i]->name, name))
            value = (int64_t) reply->status->counters [i]->value;
    rb_wire_free (&reply);
    return value;
}

//  True when the municipality's status shows all it was to receive
//  committed and every outbound queue empty.
static bool
s_settled (bench_region_t *self, const uint64_t *received)
{
    Regiebus__ApiReply *reply = s_status (&self->nodes [0]);
    bool settled = reply != NULL;
    for (int i = 1; settled && i < self->count; i++) {
        settled = false;
        for (size_t j = 0; j < reply->status->n_peers; j++) {
            const Regiebus__PeerStatus *peer = reply->status->peers [j];
            if (streq (peer->name, self->nodes [i].name))
                settled = peer->received_seq == received [i] && peer->queue_depth == 0;
        }
    }
    rb_wire_free (&reply);
    return settled;
}

int
bench_region_settle (bench_region_t *self, const uint64_t *received, int timeout_ms)
{
    //  Bounded: timeout_ms, each round one status call of at most S_CALL_MS.
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        if (s_settled (self, received))
            return 0;
        zclock_sleep (20);
    }
    fprintf (stderr, "bench: %s did not receive and route everything within %d ms; see %s\n",
             self->nodes [0].name, timeout_ms, self->nodes [0].child.log);
    return -1;
}

void
bench_region_mark (bench_region_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (self->nodes [i].stamps)
            self->nodes [i].baseline = atomic_load (&self->nodes [i].stamps->published);
}

uint64_t
bench_region_stamped (const bench_node_t *node)
{
    return node->stamps? atomic_load (&node->stamps->published) - node->baseline: 0;
}

int
bench_region_wait_stamped (bench_region_t *self, const uint64_t *want, int timeout_ms)
{
    //  Bounded: timeout_ms for all of them together.
    int64_t deadline = zclock_mono () + timeout_ms;
    for (int i = 1; i < self->count; i++) {
        bench_node_t *node = &self->nodes [i];
        while (node->stamps && bench_region_stamped (node) < want [i] && zclock_mono () < deadline)
            zclock_sleep (1);
        if (node->stamps && bench_region_stamped (node) < want [i]) {
            fprintf (stderr, "bench: %s committed %llu of %llu notifications within %d ms"
                     " (%llu past its stamp table); see %s\n", node->name,
                     (unsigned long long) bench_region_stamped (node), (unsigned long long) want [i],
                     timeout_ms, (unsigned long long) atomic_load (&node->stamps->dropped), node->child.log);
            return -1;
        }
    }
    return 0;
}

int
bench_region_submit (bench_region_t *self, bench_node_t *node, int kind, const ProtobufCMessage *payload,
                     char **cases, size_t case_count, uint64_t count, const char *prefix,
                     const bench_opts_t *opts, int64_t *accepted_ns)
{
    uint8_t bytes [256];
    size_t size = protobuf_c_message_get_packed_size (payload);
    if (size > sizeof bytes)
        return -1;
    protobuf_c_message_pack (payload, bytes);
    bench_submit_t sub;
    uint64_t accepted = 0;
    int64_t at = 0;
    size_t per_request = opts->per_request < count? opts->per_request: count;
    int rc = bench_submit_new (&sub, per_request, self->nodes [0].name, kind, cases, case_count, bytes, size);
    if (!rc)
        rc = bench_submit_stream (&sub, node->client, prefix, count, per_request, opts->in_flight,
                                  opts->seconds, &accepted, &at);
    bench_submit_destroy (&sub);
    if (accepted_ns)
        *accepted_ns = at;
    return rc || accepted < count? -1: 0;
}
