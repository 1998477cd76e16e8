/*  bench_fanout: how many notifications per second one case fans out to.
 *
 *  The region: regiebus-municipality mun-f and four holder nodes
 *  (bench_holder.h). The case gets eight holders, eight distinct actors,
 *  through the real flows:
 *
 *    school-f   SCHOOL_MENTOR          its ENROLMENT (it plays the school on the wire)
 *    portal-f   PARENT                 its PARENT_LINK, then CONSENT for the three care types
 *    care-f1    JEUGDHULP              its INVOLVEMENT
 *    care-f2    WIJKTEAM, SAMENWERKINGSVERBAND   two INVOLVEMENTs
 *    care-f1    CASUSREGISSEUR         staff, a regie call at mun-f
 *    care-f2    DUTY_DESK              staff, a regie call
 *    mun-f      LEERPLICHT             staff, a regie call: its copies are local notices
 *
 *  Then school-f submits `signals` ABSENCE_SIGNAL envelopes (daily
 *  digests) on the case, as fast as it takes them. mun-f turns each into
 *  one notification with eight copies in the signal's receive transaction:
 *  seven NOTIFICATION envelopes (a node with two or three roles gets that
 *  many) and one local notice. The rate is the copies committed for the
 *  case's holders from the first submit until the last holder commit
 *  held, as the holders' commit hooks stamp it; a local notice commits
 *  with its signal, before its envelopes even leave mun-f.
 */
#include "bench_region.h"
#include <czmq.h>

#define S_NS 1000000000.0
#define S_CALL_MS 10000         //  longest wait for one setup call
#define S_SETUP_MS 30000        //  longest wait for the setup to be routed
#define S_STREAM_MS 120000      //  longest wait for the holders after the last signal
#define S_HOLDERS 8             //  actors on the case

//  The case: any 64 lowercase hex will do for a municipality.
static char s_case [] = "9c1d4e7f2a5b8c0d3e6f9a2b5c8d1e4f7a0b3c6d9e2f5a8b1c4d7e0f3a6b9c2d";

//  The holder nodes, and how many copies of each signal each gets.
static const struct {
    const char *name;
    uint64_t copies;
} s_holders [] = {
    { "school-f", 1 }, { "portal-f", 1 }, { "care-f1", 2 }, { "care-f2", 3 }
};

#define S_NODES (sizeof s_holders / sizeof s_holders [0])

// ---------------------------------------------------------------------------
//  Eight holders on the case

//  From node i of the region, one envelope of kind with payload.
static int
s_submit (bench_region_t *region, const bench_opts_t *opts, int i, int kind, const ProtobufCMessage *payload,
          const char *key)
{
    char *cases [1] = { s_case };
    return bench_region_submit (region, &region->nodes [i], kind, payload, cases, 1, 1, key, opts, NULL);
}

//  What mun-f has received from each node once the case is set up: the
//  enrolment; the parents' link and their consent for the three care
//  types; one involvement; two.
static const uint64_t s_received [1 + S_NODES] = { 0, 1, 4, 1, 2 };

//  The school, the parents and care join by the events they send.
static int
s_join (bench_region_t *region, const bench_opts_t *opts)
{
    Regiebus__Enrolment enrolment = REGIEBUS__ENROLMENT__INIT;
    enrolment.school_location = BENCH_LOCATION;
    enrolment.enrolled_on = region->enrolled_on;
    enrolment.contact = "Attendance desk, 020-5550100";
    Regiebus__ParentLink link = REGIEBUS__PARENT_LINK__INIT;
    link.linked = true;
    Regiebus__Involvement involvement [3];
    Regiebus__Role roles [3] = { REGIEBUS__ROLE__JEUGDHULP, REGIEBUS__ROLE__WIJKTEAM,
                                 REGIEBUS__ROLE__SAMENWERKINGSVERBAND };
    for (int i = 0; i < 3; i++) {
        regiebus__involvement__init (&involvement [i]);
        involvement [i].role = roles [i];
        involvement [i].involved = true;
        involvement [i].contact = "Care desk, 020-5550200";
    }
    uint64_t received [1 + S_NODES] = { 0, 1, 0, 0, 0 };
    int rc = s_submit (region, opts, 1, REGIEBUS__EVENT_KIND__ENROLMENT, &enrolment.base, "enrol");
    //  The case must be open before the others join it as holders.
    if (!rc)
        rc = bench_region_settle (region, received, S_SETUP_MS);
    if (!rc)
        rc = s_submit (region, opts, 2, REGIEBUS__EVENT_KIND__PARENT_LINK, &link.base, "link");
    if (!rc)
        rc = s_submit (region, opts, 3, REGIEBUS__EVENT_KIND__INVOLVEMENT, &involvement [0].base, "jeugdhulp");
    if (!rc)
        rc = s_submit (region, opts, 4, REGIEBUS__EVENT_KIND__INVOLVEMENT, &involvement [1].base, "wijkteam");
    if (!rc)
        rc = s_submit (region, opts, 4, REGIEBUS__EVENT_KIND__INVOLVEMENT, &involvement [2].base, "swv");
    //  The parents consent to sharing with every care type, so care gets the signals.
    Regiebus__Consent consent [3];
    const char *keys [3] = { "consent-jeugdhulp", "consent-wijkteam", "consent-swv" };
    for (int i = 0; i < 3 && !rc; i++) {
        regiebus__consent__init (&consent [i]);
        consent [i].role = roles [i];
        consent [i].given = true;
        rc = s_submit (region, opts, 2, REGIEBUS__EVENT_KIND__CONSENT, &consent [i].base, keys [i]);
    }
    return rc? rc: bench_region_settle (region, s_received, S_SETUP_MS);
}

//  Staff assign an actor on the case at the municipality.
static int
s_assign (bench_region_t *region, const char *node, Regiebus__Role role)
{
    Regiebus__Actor actor = REGIEBUS__ACTOR__INIT;
    actor.node = (char *) node;
    actor.role = role;
    Regiebus__RegieRequest regie = REGIEBUS__REGIE_REQUEST__INIT;
    regie.case_pseudonym = s_case;
    regie.actor = &actor;
    regie.joined = true;
    regie.contact = "Staff desk, 020-5550300";
    Regiebus__ApiReply *reply = bench_region_call (&region->nodes [0], REGIEBUS__API_REQUEST__CALL_REGIE,
                                                   &regie.base, S_CALL_MS);
    int rc = reply && reply->regie->changed? 0: -1;
    rb_wire_free (&reply);
    return rc;
}

//  The holders the municipality has for the case; -1 when unknown.
static int
s_holder_count (bench_region_t *region)
{
    Regiebus__ShowCaseRequest show = REGIEBUS__SHOW_CASE_REQUEST__INIT;
    show.case_pseudonym = s_case;
    Regiebus__ApiReply *reply = bench_region_call (&region->nodes [0], REGIEBUS__API_REQUEST__CALL_SHOW_CASE,
                                                   &show.base, S_CALL_MS);
    int count = reply? (int) reply->show_case->n_holders: -1;
    rb_wire_free (&reply);
    return count;
}

static int
s_setup (bench_region_t *region, const bench_opts_t *opts)
{
    int rc = s_join (region, opts);
    if (!rc)
        rc = s_assign (region, "care-f1", REGIEBUS__ROLE__CASUSREGISSEUR);
    if (!rc)
        rc = s_assign (region, "care-f2", REGIEBUS__ROLE__DUTY_DESK);
    if (!rc)
        rc = s_assign (region, region->nodes [0].name, REGIEBUS__ROLE__LEERPLICHT);
    int holders = rc? -1: s_holder_count (region);
    if (!rc && holders != S_HOLDERS) {
        fprintf (stderr, "bench: the case has %d holders, not %d\n", holders, S_HOLDERS);
        rc = -1;
    }
    if (!rc)
        rc = bench_region_settle (region, s_received, S_SETUP_MS);
    bench_region_mark (region);
    return rc;
}

// ---------------------------------------------------------------------------
//  The stream

//  Submit the signals, then wait until every holder committed its copies.
static int
s_stream (bench_region_t *region, const bench_opts_t *opts, int64_t *accepted_ns)
{
    Regiebus__AbsenceSignal signal = REGIEBUS__ABSENCE_SIGNAL__INIT;
    signal.signal = REGIEBUS__ABSENCE_SIGNAL_KIND__DAILY_DIGEST;
    signal.episode = 1;
    signal.date = signal.episode_started = region->date;
    signal.reason = REGIEBUS__ABSENCE_REASON__SICK;
    signal.streak_days = 1;
    signal.absent_minutes_4w = 50;
    signal.absences_today = 1;
    signal.school_location = BENCH_LOCATION;
    char *cases [1] = { s_case };
    int rc = bench_region_submit (region, &region->nodes [1], REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL,
                                  &signal.base, cases, 1, opts->signals, "signal", opts, accepted_ns);
    uint64_t want [1 + S_NODES] = { 0 };
    for (size_t i = 0; i < S_NODES; i++)
        want [1 + i] = s_holders [i].copies * opts->signals;
    if (!rc)
        rc = bench_region_wait_stamped (region, want, S_STREAM_MS);
    //  Exactly: a copy more would be something else than the signals.
    for (size_t i = 0; !rc && i < S_NODES; i++)
        if (bench_region_stamped (&region->nodes [1 + i]) != want [1 + i]) {
            fprintf (stderr, "bench: %s committed %llu notifications, not %llu\n", region->nodes [1 + i].name,
                     (unsigned long long) bench_region_stamped (&region->nodes [1 + i]),
                     (unsigned long long) want [1 + i]);
            rc = -1;
        }
    return rc;
}

//  What the holders stamped: copies, commits, the last commit.
static void
s_holder_figures (bench_region_t *region, bench_fanout_t *out, int64_t *last_ns)
{
    uint64_t copies = 0;
    for (size_t i = 0; i < S_NODES; i++) {
        const bench_node_t *node = &region->nodes [1 + i];
        uint64_t published = atomic_load (&node->stamps->published);
        int64_t previous = 0;
        //  Entries are published in commit order: a new time, a new commit.
        for (uint64_t j = node->baseline; j < published; j++) {
            const bench_stamp_t *entry = &node->stamps->entries [j];
            copies++;
            out->holder_commits += entry->commit_ns != previous;
            previous = entry->commit_ns;
            if (entry->commit_ns > *last_ns)
                *last_ns = entry->commit_ns;
        }
        out->holders_cpu_seconds += region->nodes [1 + i].child.cpu;
    }
    out->notifications += copies;
    out->holder_mean_batch = out->holder_commits? (double) copies / (double) out->holder_commits: 0;
}

int
bench_fanout (const bench_opts_t *opts, const char *dir, bench_fanout_t *out)
{
    memset (out, 0, sizeof *out);
    bench_member_t members [1 + S_NODES] = { { "mun-f", BENCH_MUNICIPALITY, 0 } };
    for (size_t i = 0; i < S_NODES; i++)
        members [1 + i] = (bench_member_t) { s_holders [i].name, BENCH_HOLDER, 3 * opts->signals + 64 };
    bench_region_t region;
    int rc = bench_region_start (&region, opts, dir, "fan-out", members, 1 + S_NODES);
    if (!rc)
        rc = s_setup (&region, opts);
    //  The municipality's own notices: leerplicht's copies.
    int64_t local = rc? -1: bench_region_counter (&region.nodes [0], "notifications_received");
    if (local < 0)
        rc = -1;
    int64_t start = bench_now_ns (), accepted_ns = start, last_ns = start;
    if (!rc)
        rc = s_stream (&region, opts, &accepted_ns);
    if (!rc) {
        int64_t after = bench_region_counter (&region.nodes [0], "notifications_received");
        out->local = (uint64_t) (after - local);
        if (out->local != opts->signals) {
            fprintf (stderr, "bench: %s stored %llu notices for leerplicht, not %llu\n", region.nodes [0].name,
                     (unsigned long long) out->local, (unsigned long long) opts->signals);
            rc = -1;
        }
    }
    if (bench_region_stop (&region))
        rc = -1;
    if (!rc) {
        out->ran = true;
        out->signals = opts->signals;
        out->holders = S_HOLDERS;
        out->holder_nodes = (int) S_NODES;
        out->notifications = out->local;
        s_holder_figures (&region, out, &last_ns);
        out->seconds = (double) (last_ns - start) / S_NS;
        out->rate = out->seconds > 0? (double) out->notifications / out->seconds: 0;
        out->accept_seconds = (double) (accepted_ns - start) / S_NS;
        out->mun_cpu_seconds = region.nodes [0].child.cpu;
        out->mun_sys_seconds = region.nodes [0].child.sys;
    }
    bench_region_destroy (&region);
    return out->ran? 0: -1;
}
