/*  bench_first: the latency of a first absence through a region.
 *
 *  The region: regiebus-municipality mun-a, regiebus-school school-a, and
 *  two holder nodes, portal-a and care-a (bench_holder.h). It is set up
 *  the way agencies set it up: the school enrols the pupils (enrol calls
 *  of 1,000), which sends an ENROLMENT per pupil to mun-a; portal-a links
 *  every child (the PARENT_LINK the portal daemon sends when a child's
 *  first parent links) and care-a registers its involvement as JEUGDHULP
 *  (the INVOLVEMENT the care daemon sends), to which the parents consent
 *  (the CONSENT the portal sends). Every case then has three holders: the
 *  school, the portal and care, and mun-a has routed every REGIE_CHANGE
 *  and CONSENT_CHANGE of that to them.
 *
 *  Then one record_attendance call per tick, paced by absolute deadlines,
 *  each an absence of another pupil, which the school's rules turn into a
 *  FIRST_ABSENCE: the school commits the record with its ABSENCE_SIGNAL
 *  and answers; mun-a routes the signal to the case's three holders; each
 *  commits its copy. "Accepted" is when the school's OK reply reached the
 *  client; "committed" is when the commit holding the copy held at
 *  portal-a and at care-a (their commit hooks); the figure is the later of
 *  the two, per absence. The school's own copy cannot be stamped that way
 *  (it is the real daemon): its notification list says when it stored the
 *  copy, on its wall clock in whole milliseconds, which is taken onto the
 *  monotonic clock with the offset between the two clocks and shown
 *  beside the figure, not in it.
 */
#include "bench_region.h"
#include "bench_submit.h"
#include "rb_pseudonym.h"
#include <czmq.h>

#define S_NS 1000000000.0
#define S_ENROL_BATCH 1000      //  pupils per enrol call
#define S_CALL_MS 60000         //  longest wait for one setup call
#define S_SETUP_MS 180000       //  longest wait for the setup to be routed
#define S_SETTLE_MS 10000       //  longest wait for replies and holders after the last call
#define S_LIST_LIMIT 1000       //  notifications per list call

//  One run: the region, its pupils, and what was seen of each absence.
typedef struct {
    bench_region_t region;
    uint64_t pupils;            //  enrolled
    uint64_t total;             //  absences recorded, pupils 0 .. total-1
    char **cases;               //  per pupil: its case pseudonym
    zhashx_t *index;            //  case pseudonym -> pupil + 1
    //  the paced calls: one record per request
    Regiebus__RecordAttendanceRequest records;
    Regiebus__AttendanceRecord record, *list [1];
    char key [32], local_id [32];
    uint64_t first_id;          //  the request id of pupil 0; pupil n's is first_id + n
    uint64_t first_absences;    //  replies that raised FIRST_ABSENCE
    uint64_t not_first;         //  replies that raised something else
    //  per pupil, CLOCK_MONOTONIC ns; 0 unknown, accepted -1: not a first absence
    int64_t *sent_ns, *accepted_ns, *school_ns;
    int64_t *applied_ns [2], *commit_ns [2];    //  at portal-a, care-a
} s_run_t;

// ---------------------------------------------------------------------------
//  Setting the region up

//  The citizen number of candidate k: eight digits from k and the digit
//  that passes the 11-check; false for a k whose check digit would be 10.
static bool
s_bsn (uint64_t k, char out [10])
{
    snprintf (out, 10, "%08llu", (unsigned long long) (10000000 + k % 90000000));
    int sum = 0;
    for (int i = 0; i < 8; i++)
        sum += (out [i] - '0') * (9 - i);
    if (sum % 11 == 10)
        return false;
    out [8] = (char) ('0' + sum % 11);
    out [9] = 0;
    return rb_pseudonym_bsn_valid (out);
}

//  Enrol pupils from..from+count-1; candidate is the next citizen number
//  candidate to try. Notes each pupil's case.
static int
s_enrol_batch (s_run_t *self, bench_node_t *school, uint64_t from, size_t count, uint64_t *candidate)
{
    Regiebus__Pupil pupils [S_ENROL_BATCH], *list [S_ENROL_BATCH];
    char ids [S_ENROL_BATCH][24], bsns [S_ENROL_BATCH][10];
    for (size_t i = 0; i < count; i++) {
        while (!s_bsn ((*candidate)++, bsns [i]))
            ;
        snprintf (ids [i], sizeof ids [i], "p%llu", (unsigned long long) (from + i));
        regiebus__pupil__init (&pupils [i]);
        pupils [i].local_id = ids [i];
        pupils [i].citizen_number = bsns [i];
        pupils [i].birth_date = 20150301;
        pupils [i].home_municipality = "0363";
        pupils [i].enrolled_on = self->region.enrolled_on;
        list [i] = &pupils [i];
    }
    Regiebus__EnrolRequest enrol = REGIEBUS__ENROL_REQUEST__INIT;
    enrol.pupils = list;
    enrol.n_pupils = count;
    Regiebus__ApiReply *reply = bench_region_call (school, REGIEBUS__API_REQUEST__CALL_ENROL, &enrol.base,
                                                   S_CALL_MS);
    int rc = reply && reply->enrol->n_results == count? 0: -1;
    for (size_t i = 0; !rc && i < count; i++) {
        self->cases [from + i] = strdup (reply->enrol->results [i]->case_pseudonym);
        if (!self->cases [from + i]
        ||  zhashx_insert (self->index, self->cases [from + i], (void *) (uintptr_t) (from + i + 1)))
            rc = -1;
    }
    rb_wire_free (&reply);
    return rc;
}

//  Every pupil enrolled at the school, linked at the portal, with care
//  involved; then wait until mun-a has routed all of it.
static int
s_setup (s_run_t *self, const bench_opts_t *opts)
{
    bench_region_t *region = &self->region;
    bench_node_t *school = &region->nodes [1], *portal = &region->nodes [2], *care = &region->nodes [3];
    uint64_t candidate = 0;
    int rc = 0;
    for (uint64_t from = 0; !rc && from < self->pupils; from += S_ENROL_BATCH)
        rc = s_enrol_batch (self, school, from,
                            self->pupils - from < S_ENROL_BATCH? self->pupils - from: S_ENROL_BATCH, &candidate);
    Regiebus__ParentLink link = REGIEBUS__PARENT_LINK__INIT;
    link.linked = true;
    Regiebus__Involvement involvement = REGIEBUS__INVOLVEMENT__INIT;
    involvement.role = REGIEBUS__ROLE__JEUGDHULP;
    involvement.involved = true;
    involvement.contact = "Jeugdhulp, 020-5550200";
    if (!rc)
        rc = bench_region_submit (region, portal, REGIEBUS__EVENT_KIND__PARENT_LINK, &link.base,
                                  self->cases, self->pupils, self->pupils, "link", opts, NULL);
    //  The parents consent to sharing with youth care: without it care
    //  would get no absence at all.
    Regiebus__Consent consent = REGIEBUS__CONSENT__INIT;
    consent.role = REGIEBUS__ROLE__JEUGDHULP;
    consent.given = true;
    if (!rc)
        rc = bench_region_submit (region, care, REGIEBUS__EVENT_KIND__INVOLVEMENT, &involvement.base,
                                  self->cases, self->pupils, self->pupils, "involve", opts, NULL);
    if (!rc)
        rc = bench_region_submit (region, portal, REGIEBUS__EVENT_KIND__CONSENT, &consent.base,
                                  self->cases, self->pupils, self->pupils, "consent", opts, NULL);
    uint64_t received [4] = { 0, self->pupils, 2 * self->pupils, self->pupils };
    if (!rc)
        rc = bench_region_settle (region, received, S_SETUP_MS);
    bench_region_mark (region);
    return rc;
}

// ---------------------------------------------------------------------------
//  The absences

static int
s_send (void *arg, rb_client_t *client, uint64_t n)
{
    s_run_t *self = arg;
    snprintf (self->key, sizeof self->key, "a-%llu", (unsigned long long) n);
    snprintf (self->local_id, sizeof self->local_id, "p%llu", (unsigned long long) n);
    Regiebus__ApiRequest request = REGIEBUS__API_REQUEST__INIT;
    request.call_case = REGIEBUS__API_REQUEST__CALL_RECORD_ATTENDANCE;
    request.record_attendance = &self->records;
    uint64_t id = rb_client_send (client, &request);
    if (n == 0)
        self->first_id = id;
    //  One client, requests in order: ids follow each other.
    return id && id == self->first_id + n? 0: -1;
}

static int
s_reply (void *arg, Regiebus__ApiReply *reply, int64_t at_ns)
{
    s_run_t *self = arg;
    uint64_t n = reply->request_id - self->first_id;
    if (reply->code != REGIEBUS__ERROR_CODE__OK || n >= self->total
    ||  reply->result_case != REGIEBUS__API_REPLY__RESULT_RECORD_ATTENDANCE
    ||  reply->record_attendance->n_results != 1) {
        fprintf (stderr, "bench: not the answer to a record_attendance call: %s on '%s': %s\n",
                 rb_errname ((rb_err_t) reply->code), reply->field, reply->message);
        return -1;
    }
    const Regiebus__AttendanceResult *result = reply->record_attendance->results [0];
    bool first = result->n_signals == 1
              && result->signals [0] == REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE;
    self->accepted_ns [n] = first? at_ns: -1;
    self->first_absences += first;
    self->not_first += !first;
    return 0;
}

//  The paced calls, then the holders' commits of every copy, bounded.
static int
s_absences (s_run_t *self, const bench_opts_t *opts, bench_first_absence_t *out)
{
    regiebus__record_attendance_request__init (&self->records);
    regiebus__attendance_record__init (&self->record);
    self->record.idempotency_key = self->key;
    self->record.local_id = self->local_id;
    self->record.date = self->region.date;
    self->record.minutes = 50;
    self->record.reason = REGIEBUS__ABSENCE_REASON__SICK;
    self->list [0] = &self->record;
    self->records.records = self->list;
    self->records.n_records = 1;
    int rc = bench_submit_paced (self->region.nodes [1].client, opts->rate, self->total, s_send, s_reply,
                                 self, S_SETTLE_MS, self->sent_ns, &out->achieved_rate);
    //  Every first absence is one notification at each holder.
    uint64_t want [4] = { 0, 0, self->first_absences, self->first_absences };
    return rc? rc: bench_region_wait_stamped (&self->region, want, S_SETTLE_MS);
}

//  When the school stored its own copy of each first absence: its list of
//  notifications, on its wall clock (ms), taken onto the monotonic clock.
static int
s_school_copies (s_run_t *self)
{
    struct timespec wall, mono;
    clock_gettime (CLOCK_REALTIME, &wall);
    clock_gettime (CLOCK_MONOTONIC, &mono);
    int64_t offset = ((int64_t) wall.tv_sec - mono.tv_sec) * 1000000000 + (wall.tv_nsec - mono.tv_nsec);
    Regiebus__ListNotificationsRequest list = REGIEBUS__LIST_NOTIFICATIONS_REQUEST__INIT;
    list.limit = S_LIST_LIMIT;
    bool more = true;
    //  Bounded: every page moves after_seq on, and the school holds a
    //  known number of notices (a few per pupil).
    for (uint64_t page = 0; more && page <= 10 * self->pupils / S_LIST_LIMIT + 10; page++) {
        Regiebus__ApiReply *reply = bench_region_call (&self->region.nodes [1],
            REGIEBUS__API_REQUEST__CALL_LIST_NOTIFICATIONS, &list.base, S_CALL_MS);
        if (!reply)
            return -1;
        Regiebus__ListNotificationsReply *r = reply->list_notifications;
        for (size_t i = 0; i < r->n_items; i++) {
            const Regiebus__NotificationItem *item = r->items [i];
            uintptr_t pupil = (uintptr_t) zhashx_lookup (self->index, item->case_pseudonym);
            //  The middle of the millisecond: within 0.5 ms either way.
            if (pupil && item->notification
            &&  item->notification->subject == REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL)
                self->school_ns [pupil - 1] = item->received_at_ms * 1000000 + 500000 - offset;
            list.after_seq = item->seq;
        }
        more = r->more;
        rb_wire_free (&reply);
    }
    return more? -1: 0;
}

//  Each holder's copy of each first absence, from what it stamped after
//  the setup: the first commit that held one.
static void
s_holder_commits (s_run_t *self, const bench_node_t *holder, int64_t *applied_ns, int64_t *commit_ns)
{
    const bench_stamps_t *stamps = holder->stamps;
    uint64_t published = atomic_load (&stamps->published);
    for (uint64_t i = holder->baseline; i < published; i++) {
        const bench_stamp_t *entry = &stamps->entries [i];
        char name [65];
        memcpy (name, entry->case_pseudonym, 64);
        name [64] = 0;
        uintptr_t pupil = (uintptr_t) zhashx_lookup (self->index, name);
        if (pupil && (!commit_ns [pupil - 1] || entry->commit_ns < commit_ns [pupil - 1])) {
            applied_ns [pupil - 1] = entry->applied_ns;
            commit_ns [pupil - 1] = entry->commit_ns;
        }
    }
}

// ---------------------------------------------------------------------------
//  The figures

//  Each node's group commits and the time they took so far.
static void
s_commit_counts (s_run_t *self, int64_t counts [4][2])
{
    for (int i = 0; i < 4; i++) {
        counts [i][0] = bench_region_counter (&self->region.nodes [i], "commits");
        counts [i][1] = bench_region_counter (&self->region.nodes [i], "commit_us");
    }
}

//  What each node committed while the absences ran: how often, how long.
static void
s_commit_figures (s_run_t *self, int64_t before [4][2], int64_t start_ns, bench_first_absence_t *out)
{
    int64_t after [4][2];
    s_commit_counts (self, after);
    out->absences_seconds = (double) (bench_now_ns () - start_ns) / S_NS;
    for (int i = 0; i < 4; i++) {
        bool known = before [i][0] >= 0 && after [i][0] >= 0 && before [i][1] >= 0 && after [i][1] >= 0;
        out->commits [i] = known? after [i][0] - before [i][0]: -1;
        out->commit_us [i] = known? after [i][1] - before [i][1]: -1;
        out->commit_us_max [i] = bench_region_counter (&self->region.nodes [i], "commit_us_max");
    }
}

//  The spans of one counted absence n, into spans [..][count]; false
//  when a time is missing.
static bool
s_spans (const s_run_t *self, uint64_t n, int64_t **spans, size_t count)
{
    int64_t accepted = self->accepted_ns [n], last = 0;
    for (int h = 0; h < 2; h++) {
        if (!self->commit_ns [h][n] || !accepted)
            return false;
        spans [2 + h] [count] = self->applied_ns [h][n] - accepted;
        spans [4 + h] [count] = self->commit_ns [h][n] - accepted;
        if (self->commit_ns [h][n] > last)
            last = self->commit_ns [h][n];
    }
    spans [0] [count] = last - accepted;
    spans [1] [count] = accepted - self->sent_ns [n];
    return true;
}

static void
s_figures (s_run_t *self, uint64_t warm, bench_first_absence_t *out)
{
    int64_t *spans [7];
    bool ok = true;
    for (int i = 0; i < 7; i++)
        ok &= (spans [i] = calloc (self->total, sizeof (int64_t))) != NULL;
    size_t count = 0, schools = 0;
    for (uint64_t n = warm; ok && n < self->total; n++) {
        if (self->accepted_ns [n] < 0)
            continue;           //  not a first absence: counted in not_first
        if (!s_spans (self, n, spans, count)) {
            out->missing++;
            continue;
        }
        out->negative += spans [0] [count] < 0;
        count++;
        if (self->school_ns [n])
            spans [6] [schools++] = self->school_ns [n] - self->accepted_ns [n];
    }
    out->ran = ok && count > 0;
    out->samples = count;
    out->school_samples = schools;
    out->latency = bench_dist (spans [0], count);
    out->submit = bench_dist (spans [1], count);
    for (int h = 0; h < 2; h++) {
        out->applied [h] = bench_dist (spans [2 + h], count);
        out->committed [h] = bench_dist (spans [4 + h], count);
    }
    out->school = bench_dist (spans [6], schools);
    for (int i = 0; i < 7; i++)
        free (spans [i]);
}

// ---------------------------------------------------------------------------
//  The run

static void
s_run_destroy (s_run_t *self)
{
    for (uint64_t i = 0; self->cases && i < self->pupils; i++)
        free (self->cases [i]);
    free (self->cases);
    zhashx_destroy (&self->index);
    free (self->sent_ns);
    free (self->accepted_ns);
    free (self->school_ns);
    for (int h = 0; h < 2; h++) {
        free (self->applied_ns [h]);
        free (self->commit_ns [h]);
    }
}

int
bench_first_absence (const bench_opts_t *opts, const char *dir, bench_first_absence_t *out)
{
    memset (out, 0, sizeof *out);
    uint64_t warm = (uint64_t) ((double) opts->rate * opts->warmup_seconds);
    s_run_t self = { .pupils = opts->pupils };
    self.total = warm + (uint64_t) ((double) opts->rate * opts->latency_seconds);
    if (self.total <= warm || self.total > self.pupils)
        return -1;
    self.cases = calloc (self.pupils, sizeof *self.cases);
    self.index = zhashx_new ();
    int64_t **arrays [] = { &self.sent_ns, &self.accepted_ns, &self.school_ns, &self.applied_ns [0],
                            &self.applied_ns [1], &self.commit_ns [0], &self.commit_ns [1] };
    bool ok = self.cases && self.index;
    for (int i = 0; i < 7; i++)
        ok &= (*arrays [i] = calloc (self.pupils, sizeof (int64_t))) != NULL;
    //  Holders' stamps: every REGIE_CHANGE of the setup and every absence.
    bench_member_t members [] = {
        { "mun-a", BENCH_MUNICIPALITY, 0 }, { "school-a", BENCH_SCHOOL, 0 },
        { "portal-a", BENCH_HOLDER, 4 * self.pupils + 64 }, { "care-a", BENCH_HOLDER, 4 * self.pupils + 64 }
    };
    int64_t start = bench_now_ns ();
    int rc = ok? bench_region_start (&self.region, opts, dir, "first-absence", members, 4): -1;
    if (!rc)
        rc = s_setup (&self, opts);
    out->setup_seconds = (double) (bench_now_ns () - start) / S_NS;
    if (!rc)
        fprintf (stderr, "bench: %llu pupils enrolled, linked and involved in %.1f s; absences ...\n",
                 (unsigned long long) self.pupils, out->setup_seconds);
    int64_t before [4][2];
    int64_t absences_start = bench_now_ns ();
    if (!rc)
        s_commit_counts (&self, before);
    if (!rc)
        rc = s_absences (&self, opts, out);
    if (!rc)
        s_commit_figures (&self, before, absences_start, out);
    if (!rc)
        rc = s_school_copies (&self);
    if (bench_region_stop (&self.region))
        rc = -1;
    if (!rc) {
        for (int h = 0; h < 2; h++)
            s_holder_commits (&self, &self.region.nodes [2 + h], self.applied_ns [h], self.commit_ns [h]);
        out->pupils = self.pupils;
        out->not_first = self.not_first;
        s_figures (&self, warm, out);
    }
    bench_region_destroy (&self.region);
    s_run_destroy (&self);
    return out->ran? 0: -1;
}
