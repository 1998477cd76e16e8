/*  fuzz_node: the in-process node of a fuzz target; see fuzz_node.h.
 *
 *  Oracles beyond the sanitizers: every API request is answered exactly
 *  once with an ApiReply that decodes, and the region's story before the
 *  first input must succeed call by call, or the target stops at once
 *  (a target that fuzzes an empty store would look green and test little).
 */
#include "fuzz_node.h"
#include "rb_calendar.h"
#include "rb_daemon.h"
#include "rb_keys.h"
#include "rb_log.h"
#include "regiebus.pb-c.h"
#include <ftw.h>
#include <unistd.h>

#define S_NOW_MS 1795420800000LL    //  2026-11-23, the envelopes' times
#define S_PEERS 4

const char *fuzz_case_a = "4d6f699a35791f4deb7744c8606c99924b35c1e564c3e0328e8977b353b4189e";
const char *fuzz_case_b = "64ec219a3f6589bb60bd0a72f693679013c3d6b3f4313a6bdc993db9d21e39f3";

//  The one node of this process and what it was started with.
static struct {
    rb_node_t *node;
    rb_config_t *config;
    void *state;                        //  the daemon's
    rb_daemon_setup_fn *setup;          //  kept by rb_daemon_main below
    rb_daemon_teardown_fn *teardown;
    char dir [64];                      //  its temporary directory
    char peers [S_PEERS][16];           //  its peers' names
    uint64_t next_seq [S_PEERS];        //  the next origin_seq from each
    uint64_t event;                     //  event ids given out
    bool keep;                          //  FUZZ_KEEP: keep every turn
    bool verbose;                       //  FUZZ_VERBOSE: log and print every reply
} s_fuzz;

//  The daemon's main() (its main.c, main renamed) hands its setup here.
int fuzz_daemon_main (int argc, char *argv []);

int
rb_daemon_main (int argc, char *argv [], const char *program, const char *role,
                rb_daemon_setup_fn *setup, rb_daemon_teardown_fn *teardown)
{
    (void) argc;
    (void) argv;
    (void) program;
    (void) role;
    s_fuzz.setup = setup;
    s_fuzz.teardown = teardown;
    return 0;
}

static void
s_die (const char *what, const char *detail)
{
    fprintf (stderr, "fuzz_node: %s: %s\n", what, detail);
    abort ();
}

static int
s_remove (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static void
s_stop (void)
{
    if (s_fuzz.teardown)
        s_fuzz.teardown (&s_fuzz.state);
    rb_node_destroy (&s_fuzz.node);
    rb_config_destroy (&s_fuzz.config);
    if (*s_fuzz.dir)
        nftw (s_fuzz.dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}


// ---------------------------------------------------------------------------
//  Configuration: this node and its three peers

//  The region's four nodes, and the daemon each runs.
static const struct {
    const char *role;
    const char *name;
} s_region [] = {
    { "municipality", FUZZ_MUNICIPALITY },
    { "school", FUZZ_SCHOOL },
    { "care", FUZZ_CARE },
    { "portal", FUZZ_PORTAL },
};

typedef struct {
    char text [32][600];
    const char *list [32];
    int count;
} s_overrides_t;

static void
s_set (s_overrides_t *o, const char *key, const char *value)
{
    snprintf (o->text [o->count], sizeof o->text [o->count], "%s=%s", key, value);
    o->list [o->count] = o->text [o->count];
    o->count++;
}

//  The role's own sections: the nodes that hold citizen numbers read the
//  region key and their homes (0363 is mun-a).
static void
s_daemon_sections (s_overrides_t *o, const char *role, const char *key_file)
{
    if (streq (role, "school")) {
        s_set (o, "school/location", "12AB00");
        s_set (o, "school/close_day_at", "never");
    }
    else
    if (streq (role, "care"))
        s_set (o, "care/municipality", FUZZ_MUNICIPALITY);
    else
    if (streq (role, "portal"))
        s_set (o, "portal/municipality", FUZZ_MUNICIPALITY);
    else
        return;
    s_set (o, "region/key_file", key_file);
    s_set (o, "homes/0363", FUZZ_MUNICIPALITY);
}

static void
s_write_region_key (const char *path)
{
    FILE *file = fopen (path, "w");
    if (!file)
        s_die ("cannot write the region key", path);
    for (int i = 0; i < 32; i++)
        fprintf (file, "%02x", i);
    fprintf (file, "\n");
    fclose (file);
}

static rb_config_t *
s_config (const char *role, const char *name)
{
    rb_refusal_t r;
    char path [128], key [41];
    s_overrides_t *o = calloc (1, sizeof *o);
    if (!o)
        s_die ("config", "out of memory");
    snprintf (path, sizeof path, "%s/region.key", s_fuzz.dir);
    s_write_region_key (path);
    s_daemon_sections (o, role, path);
    s_set (o, "node/name", name);
    s_set (o, "node/role", role);
    s_set (o, "node/data_dir", s_fuzz.dir);
    s_set (o, "node/bind", "tcp://127.0.0.1:9");
    s_set (o, "node/map_size_mb", "64");
    s_set (o, "node/clock", "test");
    snprintf (path, sizeof path, "ipc://%s/api", s_fuzz.dir);
    s_set (o, "api/endpoint", path);
    int peers = 0;
    for (size_t i = 0; i < sizeof s_region / sizeof s_region [0]; i++) {
        if (streq (s_region [i].name, name))
            continue;
        if (rb_keys_make (s_fuzz.dir, s_region [i].name, key, &r))
            s_die ("cannot make a peer's key", r.message);
        snprintf (path, sizeof path, "peer/%s/endpoint", s_region [i].name);
        s_set (o, path, "tcp://127.0.0.1:9");
        snprintf (path, sizeof path, "peer/%s/public_key", s_region [i].name);
        s_set (o, path, key);
        snprintf (path, sizeof path, "peer/%s/role", s_region [i].name);
        s_set (o, path, s_region [i].role);
        snprintf (s_fuzz.peers [peers++], sizeof s_fuzz.peers [0], "%s", s_region [i].name);
    }
    if (rb_keys_make (s_fuzz.dir, name, key, &r))
        s_die ("cannot make the node's key", r.message);
    snprintf (path, sizeof path, "%s/%s.cert", s_fuzz.dir, name);
    s_set (o, "node/cert", path);
    rb_config_t *config = rb_config_load (NULL, o->list, o->count, &r);
    free (o);
    if (!config)
        s_die (r.field, r.message);
    return config;
}


// ---------------------------------------------------------------------------
//  Feeding the node

void
fuzz_end_turn (rb_node_t *node, bool keep)
{
    rb_node_end_turn (node, keep || s_fuzz.keep);
}

//  Every API request is answered once, with an ApiReply that decodes;
//  returns its code.
static int
s_reply (rb_node_t *node, const char *what)
{
    zframe_t *body = rb_node_api_reply (node);
    if (!body)
        s_die (what, "the request was not answered");
    Regiebus__ApiReply *reply = regiebus__api_reply__unpack (NULL, zframe_size (body), zframe_data (body));
    zframe_destroy (&body);
    if (!reply)
        s_die (what, "the reply does not decode as an ApiReply");
    if ((body = rb_node_api_reply (node)))
        s_die (what, "the request was answered twice");
    int code = reply->code;
    if (s_fuzz.verbose || (code && streq (what, "seed")))
        fprintf (stderr, "fuzz_node: %s: reply %s field=\"%s\" %s\n", what, rb_errname (code),
                 reply->field, reply->message);
    regiebus__api_reply__free_unpacked (reply, NULL);
    return code;
}

static int
s_api (rb_node_t *node, const uint8_t *data, size_t size, bool keep, const char *what)
{
    rb_node_take_api_frame (node, data, size);
    fuzz_end_turn (node, keep);
    return s_reply (node, what);
}

void
fuzz_api (rb_node_t *node, const uint8_t *data, size_t size)
{
    s_api (node, data, size, false, "input");
}

static int
s_peer_index (const char *peer)
{
    for (int i = 0; i < S_PEERS; i++)
        if (streq (s_fuzz.peers [i], peer))
            return i;
    s_die ("not a peer", peer);
    return -1;
}

uint64_t
fuzz_next_seq (const char *peer)
{
    return s_fuzz.next_seq [s_peer_index (peer)];
}

//  A Batch of one envelope's bytes from peer, with the next seq.
static void
s_batch (rb_node_t *node, const char *peer, const uint8_t *envelope, size_t size, bool keep)
{
    int index = s_peer_index (peer);
    ProtobufCBinaryData entry = { size, (uint8_t *) envelope };
    Regiebus__Batch batch = REGIEBUS__BATCH__INIT;
    batch.first_seq = s_fuzz.next_seq [index];
    batch.n_envelopes = 1;
    batch.envelopes = &entry;
    Regiebus__LinkFrame frame = REGIEBUS__LINK_FRAME__INIT;
    frame.version = RB_WIRE_VERSION;
    frame.body_case = REGIEBUS__LINK_FRAME__BODY_BATCH;
    frame.batch = &batch;
    zframe_t *bytes = rb_wire_frame (&frame.base);
    if (!bytes)
        s_die ("batch", "out of memory");
    rb_node_take_peer_frame (node, peer, zframe_data (bytes), zframe_size (bytes));
    zframe_destroy (&bytes);
    fuzz_end_turn (node, keep);
    if (keep || s_fuzz.keep)
        s_fuzz.next_seq [index]++;
}

void
fuzz_batch (rb_node_t *node, const char *peer, const uint8_t *envelope, size_t size)
{
    s_batch (node, peer, envelope, size, false);
}

static void
s_envelope (rb_node_t *node, const char *peer, const char *case_pseudonym, int kind,
            const uint8_t *payload, size_t size, bool keep)
{
    uint8_t event_id [16] = { 0 };
    memcpy (event_id, &s_fuzz.event, sizeof s_fuzz.event);
    s_fuzz.event++;
    Regiebus__Envelope e = REGIEBUS__ENVELOPE__INIT;
    e.version = RB_WIRE_VERSION;
    e.event_id = (ProtobufCBinaryData) { 16, event_id };
    e.origin = (char *) peer;
    e.origin_seq = s_fuzz.next_seq [s_peer_index (peer)];
    e.destination = (char *) rb_node_name (node);
    e.case_pseudonym = (char *) case_pseudonym;
    e.kind = (Regiebus__EventKind) kind;
    e.occurred_at_ms = e.recorded_at_ms = S_NOW_MS;
    e.payload = (ProtobufCBinaryData) { size, (uint8_t *) payload };
    zframe_t *bytes = rb_wire_frame (&e.base);
    if (!bytes)
        s_die ("envelope", "out of memory");
    s_batch (node, peer, zframe_data (bytes), zframe_size (bytes), keep);
    zframe_destroy (&bytes);
}

void
fuzz_envelope (rb_node_t *node, const char *peer, const char *case_pseudonym, int kind,
               const uint8_t *payload, size_t size)
{
    s_envelope (node, peer, case_pseudonym, kind, payload, size, false);
}


// ---------------------------------------------------------------------------
//  The region's story before the first input

//  A call that must succeed, kept.
static void
s_seed_call (rb_node_t *node, Regiebus__ApiRequest *request)
{
    request->version = RB_WIRE_VERSION;
    request->request_id = 1;
    zframe_t *bytes = rb_wire_frame (&request->base);
    if (!bytes || s_api (node, zframe_data (bytes), zframe_size (bytes), true, "seed"))
        s_die ("seed", "a call of the region's story was refused");
    zframe_destroy (&bytes);
}

//  An event that must be taken, kept; payload is any message.
static void
s_seed_event (rb_node_t *node, const char *peer, const char *case_pseudonym, int kind,
              const ProtobufCMessage *payload)
{
    zframe_t *bytes = rb_wire_frame (payload);
    if (!bytes)
        s_die ("seed", "out of memory");
    s_envelope (node, peer, case_pseudonym, kind, zframe_data (bytes), zframe_size (bytes), true);
    zframe_destroy (&bytes);
}

//  The story's events were all taken: none refused, each received.
static void
s_check_seeded (rb_node_t *node, uint64_t events)
{
    Regiebus__StatusRequest status = REGIEBUS__STATUS_REQUEST__INIT;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.version = RB_WIRE_VERSION;
    request.request_id = 1;
    request.call_case = REGIEBUS__API_REQUEST__CALL_STATUS;
    request.status = &status;
    zframe_t *bytes = rb_wire_frame (&request.base);
    rb_node_take_api_frame (node, zframe_data (bytes), zframe_size (bytes));
    zframe_destroy (&bytes);
    bytes = rb_node_api_reply (node);
    Regiebus__ApiReply *reply = bytes?
        regiebus__api_reply__unpack (NULL, zframe_size (bytes), zframe_data (bytes)): NULL;
    zframe_destroy (&bytes);
    if (!reply || reply->result_case != REGIEBUS__API_REPLY__RESULT_STATUS)
        s_die ("seed", "no status");
    for (size_t i = 0; i < reply->status->n_counters; i++) {
        const Regiebus__Counter *c = reply->status->counters [i];
        if ((strncmp (c->name, "link_refused_", 13) == 0 && c->value)
        ||  (streq (c->name, "link_received") && c->value != events))
            s_die ("seed: an event of the region's story was not taken", c->name);
    }
    regiebus__api_reply__free_unpacked (reply, NULL);
}

//  School-a registers plan 1 on child A's case, its milestone two weeks on.
static void
s_seed_plan (rb_node_t *node)
{
    Regiebus__Actor school = REGIEBUS__ACTOR__INIT;
    school.node = FUZZ_SCHOOL;
    school.role = REGIEBUS__ROLE__SCHOOL_MENTOR;
    Regiebus__PlanStep step = REGIEBUS__PLAN_STEP__INIT;
    step.label = "opp-draft";
    step.date = rb_calendar_add_days (rb_calendar_date_at (rb_node_now_ms (node)), 14);
    Regiebus__PlanStep *steps [] = { &step };
    Regiebus__PlanRegistration registration = REGIEBUS__PLAN_REGISTRATION__INIT;
    registration.type = REGIEBUS__PLAN_TYPE__PLAN_OPP;
    registration.owner = &school;
    registration.review_interval_days = 28;
    registration.n_milestones = 1;
    registration.milestones = steps;
    Regiebus__PlanCommand command = REGIEBUS__PLAN_COMMAND__INIT;
    command.actor = &school;
    command.command_case = REGIEBUS__PLAN_COMMAND__COMMAND_REGISTER;
    command.register_ = &registration;
    s_seed_event (node, FUZZ_SCHOOL, fuzz_case_a, REGIEBUS__EVENT_KIND__PLAN_COMMAND, &command.base);
}

static void
s_seed_municipality (rb_node_t *node)
{
    Regiebus__Enrolment enrolment = REGIEBUS__ENROLMENT__INIT;
    enrolment.school_location = "12AB00";
    enrolment.enrolled_on = 20260831;
    enrolment.contact = "desk 020-1234567";
    s_seed_event (node, FUZZ_SCHOOL, fuzz_case_a, REGIEBUS__EVENT_KIND__ENROLMENT, &enrolment.base);
    s_seed_event (node, FUZZ_SCHOOL, fuzz_case_b, REGIEBUS__EVENT_KIND__ENROLMENT, &enrolment.base);
    Regiebus__ParentLink link = REGIEBUS__PARENT_LINK__INIT;
    link.linked = true;
    s_seed_event (node, FUZZ_PORTAL, fuzz_case_a, REGIEBUS__EVENT_KIND__PARENT_LINK, &link.base);
    Regiebus__Involvement involvement = REGIEBUS__INVOLVEMENT__INIT;
    involvement.role = REGIEBUS__ROLE__JEUGDHULP;
    involvement.involved = true;
    involvement.contact = "team west";
    s_seed_event (node, FUZZ_CARE, fuzz_case_a, REGIEBUS__EVENT_KIND__INVOLVEMENT, &involvement.base);
    s_seed_plan (node);
    s_check_seeded (node, 5);
}

//  A notification from the municipality for the node's actor in role.
static void
s_seed_notice (rb_node_t *node, Regiebus__Role role)
{
    uint8_t id [16] = { 1 };
    Regiebus__Actor recipient = REGIEBUS__ACTOR__INIT;
    recipient.node = (char *) rb_node_name (node);
    recipient.role = role;
    Regiebus__ParentReport report = REGIEBUS__PARENT_REPORT__INIT;
    report.report = REGIEBUS__PARENT_REPORT_KIND__PARENT_SICKNESS;
    report.from_date = 20261120;
    Regiebus__Notification notice = REGIEBUS__NOTIFICATION__INIT;
    notice.notification_id = (ProtobufCBinaryData) { sizeof id, id };
    notice.subject = REGIEBUS__EVENT_KIND__PARENT_REPORT;
    notice.parent_report = &report;
    notice.recipient = &recipient;
    notice.expected = REGIEBUS__EXPECTED_ACTION__NO_ACTION;
    notice.from_node = FUZZ_PORTAL;
    s_seed_event (node, FUZZ_MUNICIPALITY, fuzz_case_a, REGIEBUS__EVENT_KIND__NOTIFICATION,
                  &notice.base);
    s_check_seeded (node, 1);
}

static void
s_seed_school (rb_node_t *node)
{
    Regiebus__Pupil a = REGIEBUS__PUPIL__INIT, b = REGIEBUS__PUPIL__INIT;
    a.local_id = "p1";
    a.citizen_number = FUZZ_BSN_A;
    a.birth_date = 20150312;
    a.home_municipality = "0363";
    a.enrolled_on = 20260831;
    a.display_name = "Sanne de Vries";
    b = a;
    b.local_id = "p2";
    b.citizen_number = FUZZ_BSN_B;
    b.display_name = "Daan Bakker";
    Regiebus__Pupil *pupils [] = { &a, &b };
    Regiebus__EnrolRequest enrol = REGIEBUS__ENROL_REQUEST__INIT;
    enrol.n_pupils = 2;
    enrol.pupils = pupils;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_ENROL;
    request.enrol = &enrol;
    s_seed_call (node, &request);
    Regiebus__AttendanceRecord record = REGIEBUS__ATTENDANCE_RECORD__INIT;
    record.idempotency_key = "seed-1";
    record.local_id = "p1";
    record.date = 20261116;
    record.minutes = 60;
    record.reason = REGIEBUS__ABSENCE_REASON__UNEXCUSED;
    Regiebus__AttendanceRecord *records [] = { &record };
    Regiebus__RecordAttendanceRequest attendance = REGIEBUS__RECORD_ATTENDANCE_REQUEST__INIT;
    attendance.n_records = 1;
    attendance.records = records;
    request.call_case = REGIEBUS__API_REQUEST__CALL_RECORD_ATTENDANCE;
    request.record_attendance = &attendance;
    s_seed_call (node, &request);
    s_seed_notice (node, REGIEBUS__ROLE__SCHOOL_MENTOR);
}

static void
s_seed_care (rb_node_t *node)
{
    Regiebus__InvolvementRequest involvement = REGIEBUS__INVOLVEMENT_REQUEST__INIT;
    involvement.citizen_number = FUZZ_BSN_A;
    involvement.role = REGIEBUS__ROLE__JEUGDHULP;
    involvement.involved = true;
    involvement.contact = "team west";
    involvement.local_name = "Sanne";
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_INVOLVEMENT;
    request.involvement = &involvement;
    s_seed_call (node, &request);
    s_seed_notice (node, REGIEBUS__ROLE__JEUGDHULP);
}

static void
s_seed_portal (rb_node_t *node)
{
    Regiebus__ParentLinkRequest link = REGIEBUS__PARENT_LINK_REQUEST__INIT;
    link.account = "ouder-1";
    link.citizen_number = FUZZ_BSN_A;
    link.child_name = "Sanne";
    link.linked = true;
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_PARENT_LINK;
    request.parent_link = &link;
    s_seed_call (node, &request);
    s_seed_notice (node, REGIEBUS__ROLE__PARENT);
}


// ---------------------------------------------------------------------------
//  Start

static const char *
s_name (const char *role)
{
    for (size_t i = 0; i < sizeof s_region / sizeof s_region [0]; i++)
        if (streq (s_region [i].role, role))
            return s_region [i].name;
    return "node-a";
}

static void
s_start (const char *role)
{
    s_fuzz.keep = getenv ("FUZZ_KEEP") && streq (getenv ("FUZZ_KEEP"), "1");
    s_fuzz.verbose = getenv ("FUZZ_VERBOSE") && streq (getenv ("FUZZ_VERBOSE"), "1");
    zsys_init ();
    zsys_set_logstream (NULL);
    rb_log_setup (s_fuzz.verbose? RB_LOG_INFO: RB_LOG_ERROR, s_name (role));
    const char *tmp = access ("/dev/shm", W_OK) == 0? "/dev/shm": "/tmp";
    snprintf (s_fuzz.dir, sizeof s_fuzz.dir, "%s/rb-fuzz-XXXXXX", tmp);
    if (!mkdtemp (s_fuzz.dir))
        s_die ("cannot make a directory", s_fuzz.dir);
    atexit (s_stop);
    for (int i = 0; i < S_PEERS; i++)
        s_fuzz.next_seq [i] = 1;
    s_fuzz.config = s_config (role, s_name (role));
    rb_refusal_t r;
    s_fuzz.node = rb_node_open (s_fuzz.config, &r);
    if (!s_fuzz.node)
        s_die (r.field, r.message);
    char program [] = "fuzz";
    char *argv [] = { program, NULL };
    fuzz_daemon_main (1, argv);
    if (s_fuzz.setup && s_fuzz.setup (s_fuzz.node, s_fuzz.config, &s_fuzz.state, &r))
        s_die (r.field, r.message);
}

rb_node_t *
fuzz_node (const char *role)
{
    if (s_fuzz.node)
        return s_fuzz.node;
    s_start (role);
    if (streq (role, "municipality"))
        s_seed_municipality (s_fuzz.node);
    else
    if (streq (role, "school"))
        s_seed_school (s_fuzz.node);
    else
    if (streq (role, "care"))
        s_seed_care (s_fuzz.node);
    else
    if (streq (role, "portal"))
        s_seed_portal (s_fuzz.node);
    return s_fuzz.node;
}
