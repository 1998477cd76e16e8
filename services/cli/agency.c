/*  agency: the regiebus tool's commands for the agency daemons' calls.
 *
 *  One command per call of agency.proto: a school enrols pupils, records
 *  attendance, closes days and lets pupils leave; a care provider registers involvement; the
 *  parents' portal links parents, passes on their reports and their
 *  consent, and shows them the consent on their child's case; a
 *  municipality shows and changes a case's regie register. Each command
 *  reads its options, fills the call's request, makes the call and says
 *  what the node answered. What is valid is the node's to decide: the
 *  tool only checks that options are there and well-formed (a date is
 *  eight digits, a number is a number), so a refusal always comes from the
 *  node, with the field named as the call names it (pupils[0].citizen_number).
 *
 *  attendance --file reads many records from a CSV file into one request,
 *  which the node takes all or nothing.
 */
#include "rb_cli.h"

// ---------------------------------------------------------------------------
//  School

static int
s_enrol_text (const Regiebus__ApiReply *reply, void *arg)
{
    const Regiebus__Pupil *pupil = arg;
    if (reply->enrol->n_results != 1) {
        fprintf (stderr, "regiebus enrol: the node answered with %zu results for one pupil\n",
                 reply->enrol->n_results);
        return RB_CLI_EXIT_NO_ANSWER;
    }
    const Regiebus__EnrolResult *r = reply->enrol->results [0];
    printf ("enrolled %s: case %s, home municipality node %s%s\n", pupil->local_id, r->case_pseudonym,
            r->municipality_node, r->duplicate? " (enrolled before with this content: nothing changed)": "");
    return RB_CLI_EXIT_OK;
}

int
rb_cli_enrol (rb_cli_t *cli)
{
    Regiebus__Pupil pupil = REGIEBUS__PUPIL__INIT;
    pupil.local_id = (char *) rb_cli_text (cli, "--id", true);
    pupil.citizen_number = (char *) rb_cli_text (cli, "--bsn", true);
    pupil.birth_date = rb_cli_date (cli, "--born", true);
    pupil.home_municipality = (char *) rb_cli_text (cli, "--municipality", true);
    pupil.school_location = rb_cli_field (cli, "--location");
    pupil.enrolled_on = rb_cli_date (cli, "--since", false);
    pupil.display_name = rb_cli_field (cli, "--name");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    Regiebus__Pupil *pupils [1] = { &pupil };
    Regiebus__EnrolRequest enrol = REGIEBUS__ENROL_REQUEST__INIT;
    enrol.n_pupils = 1;
    enrol.pupils = pupils;
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_ENROL, &enrol.base, s_enrol_text, &pupil);
}

//  The records of one attendance call, and the file lines they came from.
typedef struct {
    Regiebus__AttendanceRecord *records;
    Regiebus__AttendanceRecord **list;
    int *lines;                     //  line in the file of each record, 0 for options
    size_t count, size;
    char *text;                     //  the file's text; records point into it
} s_records_t;

static void
s_records_free (s_records_t *r)
{
    free (r->records);
    free (r->list);
    free (r->lines);
    free (r->text);
}

static Regiebus__AttendanceRecord *
s_records_add (s_records_t *r, int line)
{
    if (r->count == r->size) {
        size_t size = r->size? r->size * 2: 16;
        Regiebus__AttendanceRecord *records = realloc (r->records, size * sizeof *records);
        if (records)
            r->records = records;
        int *lines = realloc (r->lines, size * sizeof *lines);
        if (lines)
            r->lines = lines;
        if (!records || !lines)
            return NULL;
        r->size = size;
    }
    Regiebus__AttendanceRecord *record = &r->records [r->count];
    regiebus__attendance_record__init (record);
    r->lines [r->count++] = line;
    return record;
}

//  The record from --key --pupil --date and one of --minutes, --lessons, --present.
static void
s_record_from_options (rb_cli_t *cli, s_records_t *r)
{
    Regiebus__AttendanceRecord *record = s_records_add (r, 0);
    if (!record) {
        rb_cli_error (cli, "out of memory");
        return;
    }
    record->idempotency_key = (char *) rb_cli_text (cli, "--key", true);
    record->local_id = (char *) rb_cli_text (cli, "--pupil", true);
    record->date = rb_cli_date (cli, "--date", true);
    bool minutes = rb_cli_text (cli, "--minutes", false), lessons = rb_cli_text (cli, "--lessons", false);
    record->present = rb_cli_flag (cli, "--present");
    if (minutes + lessons + record->present != 1)
        rb_cli_error (cli, "give exactly one of --minutes M, --lessons N, --present");
    record->minutes = (uint32_t) rb_cli_number (cli, "--minutes", UINT32_MAX, 0);
    record->lessons = (uint32_t) rb_cli_number (cli, "--lessons", UINT32_MAX, 0);
    record->reason = rb_cli_choice (cli, "--reason", rb_cli_reasons, false, 0);
}

//  One CSV line: key,pupil,date,minutes,lessons,present,reason (empty
//  fields allowed, no quoting). Cuts line in place; false after a message.
static bool
s_record_from_line (rb_cli_t *cli, s_records_t *r, char *line, int number, const char *path)
{
    char *field [7] = { 0 };
    int count = 0;
    for (char *at = line; at && count < 7; count++) {
        field [count] = at;
        at = strchr (at, ',');
        if (at)
            *at++ = '\0';
    }
    if (count != 7 || strchr (field [6], ','))
        return rb_cli_error (cli, "%s line %d: want 7 fields key,pupil,date,minutes,lessons,present,reason",
                             path, number);
    Regiebus__AttendanceRecord *record = s_records_add (r, number);
    if (!record)
        return rb_cli_error (cli, "out of memory");
    record->idempotency_key = field [0];
    record->local_id = field [1];
    uint64_t minutes = 0, lessons = 0;
    if (!rb_cli_date_parse (field [2], &record->date)
    ||  (*field [3] && !rb_cli_number_parse (field [3], UINT32_MAX, &minutes))
    ||  (*field [4] && !rb_cli_number_parse (field [4], UINT32_MAX, &lessons)))
        return rb_cli_error (cli, "%s line %d: date must be YYYYMMDD, minutes and lessons numbers", path, number);
    record->minutes = (uint32_t) minutes;
    record->lessons = (uint32_t) lessons;
    record->present = streq (field [5], "1") || streq (field [5], "true") || streq (field [5], "yes");
    if (!record->present && *field [5] && !streq (field [5], "0") && !streq (field [5], "false")
    &&  !streq (field [5], "no"))
        return rb_cli_error (cli, "%s line %d: present must be 1/0, true/false or yes/no", path, number);
    int reason = 0;
    if (*field [6] && !rb_cli_word_value (rb_cli_reasons, field [6], &reason))
        return rb_cli_error (cli, "%s line %d: reason '%s' is not sick, unexcused, excused, late, "
                             "suspended or no-place", path, number, field [6]);
    record->reason = reason;
    return true;
}

//  Every record of the CSV file: blank lines, lines starting with '#'
//  and a first line starting with "key," are skipped.
static void
s_records_from_file (rb_cli_t *cli, s_records_t *r, const char *path)
{
    zfile_t *file = zfile_new (NULL, path);
    zchunk_t *chunk = file && zfile_input (file) == 0? zfile_read (file, zfile_cursize (file), 0): NULL;
    //  The chunk's bytes end without a NUL: copy them and add one.
    size_t size = chunk? zchunk_size (chunk): 0;
    r->text = chunk? malloc (size + 1): NULL;
    if (r->text) {
        memcpy (r->text, zchunk_data (chunk), size);
        r->text [size] = '\0';
    }
    zchunk_destroy (&chunk);
    zfile_destroy (&file);
    if (!r->text) {
        rb_cli_error (cli, "cannot read %s", path);
        return;
    }
    int number = 0;
    for (char *line = r->text, *next; line && !rb_cli_bad (cli); line = next) {
        next = strchr (line, '\n');
        if (next)
            *next++ = '\0';
        number++;
        line [strcspn (line, "\r")] = '\0';
        bool skip = !*line || *line == '#' || (number == 1 && strncmp (line, "key,", 4) == 0);
        if (!skip)
            s_record_from_line (cli, r, line, number, path);
    }
    if (!rb_cli_bad (cli) && r->count == 0)
        rb_cli_error (cli, "%s holds no records", path);
}

static int
s_attendance_text (const Regiebus__ApiReply *api_reply, void *arg)
{
    const s_records_t *r = arg;
    const Regiebus__RecordAttendanceReply *reply = api_reply->record_attendance;
    for (size_t i = 0; i < reply->n_results && i < r->count; i++) {
        const Regiebus__AttendanceRecord *record = r->records + i;
        const Regiebus__AttendanceResult *result = reply->results [i];
        char date [16];
        printf ("%s (pupil %s, %s): %s", record->idempotency_key, record->local_id,
                rb_cli_date_text (record->date, date, sizeof date),
                result->duplicate? "recorded before, nothing changed": "recorded");
        for (size_t k = 0; k < result->n_signals; k++)
            printf ("%s%s", k? ", ": "; signals raised: ",
                    rb_cli_enum_name (&regiebus__absence_signal_kind__descriptor, result->signals [k]));
        printf ("%s\n", result->n_signals || result->duplicate? "": "; no signal");
    }
    return RB_CLI_EXIT_OK;
}

//  A refusal of records[i]: say which line of the file that is.
static void
s_refused_line (rb_cli_t *cli, const s_records_t *r, const char *path)
{
    unsigned long index;
    if (path && sscanf (cli->refused, "records[%lu]", &index) == 1 && index < r->count)
        fprintf (stderr, "regiebus attendance: records[%lu] is line %d of %s\n", index, r->lines [index], path);
}

int
rb_cli_attendance (rb_cli_t *cli)
{
    s_records_t r = { 0 };
    const char *path = rb_cli_text (cli, "--file", false);
    const char *single [] = { "--key", "--pupil", "--date", "--minutes", "--lessons", "--present", "--reason" };
    for (size_t i = 0; path && i < sizeof single / sizeof single [0]; i++)
        if (rb_cli_flag (cli, single [i]))
            rb_cli_error (cli, "--file takes the records from the file: %s is not for it", single [i]);
    if (path)
        s_records_from_file (cli, &r, path);
    else
        s_record_from_options (cli, &r);
    r.list = rb_cli_bad (cli)? NULL: calloc (r.count, sizeof *r.list);
    if (!rb_cli_bad (cli) && !r.list)
        rb_cli_error (cli, "out of memory");
    if (rb_cli_bad (cli)) {
        s_records_free (&r);
        return rb_cli_usage (cli);
    }
    for (size_t i = 0; i < r.count; i++)
        r.list [i] = &r.records [i];
    Regiebus__RecordAttendanceRequest record = REGIEBUS__RECORD_ATTENDANCE_REQUEST__INIT;
    record.n_records = r.count;
    record.records = r.list;
    int rc = rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_RECORD_ATTENDANCE, &record.base,
                         s_attendance_text, &r);
    if (rc == RB_CLI_EXIT_REFUSED)
        s_refused_line (cli, &r, path);
    s_records_free (&r);
    return rc;
}

static int
s_close_day_text (const Regiebus__ApiReply *reply, void *arg)
{
    char date [16];
    printf ("closed %s: %u pupils counted present, %u signals sent\n",
            rb_cli_date_text (*(int32_t *) arg, date, sizeof date), reply->close_day->pupils,
            reply->close_day->signals);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_close_day (rb_cli_t *cli)
{
    Regiebus__CloseDayRequest close = REGIEBUS__CLOSE_DAY_REQUEST__INIT;
    const char *text = rb_cli_word (cli, 0, "YYYYMMDD");
    if (!rb_cli_bad (cli) && !rb_cli_date_parse (text, &close.date))
        rb_cli_error (cli, "'%s' is not a date: write YYYYMMDD or YYYY-MM-DD", text);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_CLOSE_DAY, &close.base, s_close_day_text, &close.date);
}

static int
s_unenrol_text (const Regiebus__ApiReply *reply, void *arg)
{
    const Regiebus__UnenrolRequest *unenrol = arg;
    char date [16];
    if (reply->unenrol->duplicate)
        printf ("%s had left the school before: nothing changed (case %s)\n", unenrol->local_id,
                reply->unenrol->case_pseudonym);
    else
        printf ("%s left the school %s%s: case %s, the home municipality is told\n", unenrol->local_id,
                unenrol->left_on? "on ": "today",
                unenrol->left_on? rb_cli_date_text (unenrol->left_on, date, sizeof date): "",
                reply->unenrol->case_pseudonym);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_unenrol (rb_cli_t *cli)
{
    Regiebus__UnenrolRequest unenrol = REGIEBUS__UNENROL_REQUEST__INIT;
    unenrol.local_id = (char *) rb_cli_text (cli, "--pupil", true);
    unenrol.left_on = rb_cli_date (cli, "--on", false);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_UNENROL, &unenrol.base, s_unenrol_text, &unenrol);
}

// ---------------------------------------------------------------------------
//  Care

static int
s_involve_text (const Regiebus__ApiReply *reply, void *arg)
{
    const Regiebus__InvolvementRequest *involve = arg;
    char id [40];
    printf ("involvement as %s %s on case %s (event %s)\n",
            rb_cli_enum_name (&regiebus__role__descriptor, involve->role),
            involve->involved? "registered": "ended", reply->involvement->case_pseudonym,
            rb_cli_uuid_text (reply->involvement->event_id, id, sizeof id));
    return RB_CLI_EXIT_OK;
}

int
rb_cli_involve (rb_cli_t *cli)
{
    Regiebus__InvolvementRequest involve = REGIEBUS__INVOLVEMENT_REQUEST__INIT;
    if (!rb_cli_flag (cli, "--bsn") == !rb_cli_flag (cli, "--case"))
        rb_cli_error (cli, "name the case with either --bsn N or --case HEX64");
    involve.citizen_number = rb_cli_field (cli, "--bsn");
    involve.case_pseudonym = rb_cli_field (cli, "--case");
    involve.role = rb_cli_choice (cli, "--role", rb_cli_roles, true, 0);
    involve.involved = !rb_cli_flag (cli, "--end");
    involve.contact = rb_cli_field (cli, "--contact");
    involve.local_name = rb_cli_field (cli, "--name");
    involve.home_municipality = rb_cli_field (cli, "--municipality");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_INVOLVEMENT, &involve.base, s_involve_text, &involve);
}

// ---------------------------------------------------------------------------
//  Portal

static int
s_parent_link_text (const Regiebus__ApiReply *reply, void *arg)
{
    const Regiebus__ParentLinkRequest *link = arg;
    printf ("%s account %s %s case %s%s\n", link->linked? "linked": "unlinked", link->account,
            link->linked? "to": "from", reply->parent_link->case_pseudonym,
            reply->parent_link->changed? "": " (it was already so: nothing changed)");
    return RB_CLI_EXIT_OK;
}

int
rb_cli_parent_link (rb_cli_t *cli)
{
    Regiebus__ParentLinkRequest link = REGIEBUS__PARENT_LINK_REQUEST__INIT;
    rb_cli_text (cli, "--child", !rb_cli_flag (cli, "--unlink"));
    link.account = (char *) rb_cli_text (cli, "--account", true);
    link.citizen_number = (char *) rb_cli_text (cli, "--bsn", true);
    link.child_name = rb_cli_field (cli, "--child");
    link.linked = !rb_cli_flag (cli, "--unlink");
    link.home_municipality = rb_cli_field (cli, "--municipality");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_PARENT_LINK, &link.base, s_parent_link_text, &link);
}

static int
s_parent_report_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    char id [40];
    printf ("report sent on case %s (event %s)%s\n", reply->parent_report->case_pseudonym,
            rb_cli_uuid_text (reply->parent_report->event_id, id, sizeof id),
            reply->parent_report->duplicate? " (sent before with this key: nothing changed)": "");
    return RB_CLI_EXIT_OK;
}

int
rb_cli_parent_report (rb_cli_t *cli)
{
    Regiebus__ParentReportRequest report = REGIEBUS__PARENT_REPORT_REQUEST__INIT;
    report.idempotency_key = (char *) rb_cli_text (cli, "--key", true);
    report.account = (char *) rb_cli_text (cli, "--account", true);
    report.citizen_number = (char *) rb_cli_text (cli, "--bsn", true);
    report.report = rb_cli_choice (cli, "--kind", rb_cli_report_kinds, true, 0);
    report.from_date = rb_cli_date (cli, "--from", false);
    report.until_date = rb_cli_date (cli, "--until", false);
    report.code = (uint32_t) rb_cli_number (cli, "--code", UINT32_MAX, 0);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_PARENT_REPORT, &report.base, s_parent_report_text, NULL);
}

static int
s_consent_text (const Regiebus__ApiReply *reply, void *arg)
{
    const Regiebus__ConsentRequest *consent = arg;
    char id [40];
    if (reply->consent->changed)
        printf ("consent for %s %s on case %s (event %s): the municipality applies it from now on\n",
                rb_cli_enum_name (&regiebus__role__descriptor, consent->role),
                consent->given? "given": "withdrawn", reply->consent->case_pseudonym,
                rb_cli_uuid_text (reply->consent->event_id, id, sizeof id));
    else
        printf ("consent for %s was %s already on case %s: nothing changed\n",
                rb_cli_enum_name (&regiebus__role__descriptor, consent->role),
                consent->given? "given": "not given", reply->consent->case_pseudonym);
    return RB_CLI_EXIT_OK;
}

//  consent give and consent withdraw: the command's second word says which.
int
rb_cli_consent (rb_cli_t *cli)
{
    Regiebus__ConsentRequest consent = REGIEBUS__CONSENT_REQUEST__INIT;
    consent.account = (char *) rb_cli_text (cli, "--account", true);
    consent.citizen_number = (char *) rb_cli_text (cli, "--bsn", true);
    consent.role = rb_cli_choice (cli, "--type", rb_cli_roles, true, 0);
    consent.given = streq (cli->command->name, "consent give");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_CONSENT, &consent.base, s_consent_text, &consent);
}

static int
s_consent_show_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    const Regiebus__ConsentShowReply *c = reply->consent_show;
    printf ("consent on case %s%s%s%s\n", c->case_pseudonym, *c->child_name? " (": "", c->child_name,
            *c->child_name? ")": "");
    for (size_t i = 0; i < c->n_consents; i++) {
        const Regiebus__ConsentState *state = c->consents [i];
        char since [32];
        printf ("  %-22s %-10s", rb_cli_enum_name (&regiebus__role__descriptor, state->role),
                state->given? "given": "not given");
        if (state->since_ms)
            printf (" %s since %s%s%s", state->given? "": "withdrawn",
                    rb_cli_time_text (state->since_ms, since, sizeof since),
                    *state->by? " by ": "", state->by);
        else
            printf (" never asked");
        printf ("\n");
    }
    return RB_CLI_EXIT_OK;
}

int
rb_cli_consent_show (rb_cli_t *cli)
{
    Regiebus__ConsentShowRequest show = REGIEBUS__CONSENT_SHOW_REQUEST__INIT;
    if (!rb_cli_flag (cli, "--case") == !rb_cli_flag (cli, "--account"))
        rb_cli_error (cli, "at the portal give --account A --bsn N, at the municipality --case HEX64");
    show.account = rb_cli_field (cli, "--account");
    show.citizen_number = rb_cli_field (cli, "--bsn");
    show.case_pseudonym = rb_cli_field (cli, "--case");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_CONSENT_SHOW, &show.base, s_consent_show_text, NULL);
}

// ---------------------------------------------------------------------------
//  Municipality

//  Where the case stands on the escalation ladder, in words.
static void
s_ladder_text (const Regiebus__EscalationState *e)
{
    static const char *levels [] = { "none", "1, a casusregisseur must be assigned",
                                     "2, the doorbraakteam is on the case", "3, thuiszitter" };
    char started [16], since [16], closed [16], next [16];
    if (!e)
        return;
    rb_cli_date_text (e->episode_started, started, sizeof started);
    rb_cli_date_text (e->level_since, since, sizeof since);
    rb_cli_date_text (e->episode_closed_on, closed, sizeof closed);
    rb_cli_date_text (e->next_step_on, next, sizeof next);
    printf ("  escalation level %s", levels [e->level < 4? e->level: 0]);
    if (e->level)
        printf (" (since %s)", since);
    printf ("\n");
    if (e->episode_started)
        printf ("  absent since %s%s%s\n", started, e->episode_open? ", still absent": ", present again on ",
                e->episode_open? "": closed);
    if (e->thuiszitter)
        rb_cli_date_text (e->thuiszitter_since, since, sizeof since),
        printf ("  THUISZITTER since %s\n", since);
    if (e->reminders)
        printf ("  reminded %u time%s that no casusregisseur holds the case\n", e->reminders,
                e->reminders == 1? "": "s");
    if (e->next_step_on)
        printf ("  the ladder looks again on %s\n", next);
}

static int
s_case_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    const Regiebus__ShowCaseReply *c = reply->show_case;
    char opened [32], since [32];
    printf ("case %s, opened %s\n", c->case_pseudonym, rb_cli_time_text (c->opened_at_ms, opened, sizeof opened));
    if (c->n_holders == 0)
        printf ("  nobody holds regie on it\n");
    else
        printf ("  %-22s %-20s %-19s  %-20s %s\n", "role", "node", "since", "reason", "contact");
    for (size_t i = 0; i < c->n_holders; i++) {
        const Regiebus__Holder *h = c->holders [i];
        printf ("  %-22s %-20s %-19s  %-20s %s\n",
                h->actor? rb_cli_enum_name (&regiebus__role__descriptor, h->actor->role): "?",
                h->actor? h->actor->node: "?", rb_cli_time_text (h->since_ms, since, sizeof since),
                h->reason, *h->contact? h->contact: "-");
    }
    s_ladder_text (c->escalation);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_case (rb_cli_t *cli)
{
    Regiebus__ShowCaseRequest show = REGIEBUS__SHOW_CASE_REQUEST__INIT;
    show.case_pseudonym = (char *) rb_cli_word (cli, 0, "the case pseudonym");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_SHOW_CASE, &show.base, s_case_text, NULL);
}

static int
s_regie_text (const Regiebus__ApiReply *reply, void *arg)
{
    const Regiebus__RegieRequest *regie = arg;
    printf ("%s %s %s on case %s%s\n", regie->actor->node, regie->joined? "holds": "no longer holds",
            rb_cli_enum_name (&regiebus__role__descriptor, regie->actor->role), regie->case_pseudonym,
            reply->regie->changed? "; the holders are told": " (it was already so: nothing changed)");
    return RB_CLI_EXIT_OK;
}

int
rb_cli_regie (rb_cli_t *cli)
{
    Regiebus__Actor actor = REGIEBUS__ACTOR__INIT;
    Regiebus__RegieRequest regie = REGIEBUS__REGIE_REQUEST__INIT;
    actor.node = (char *) rb_cli_text (cli, "--node", true);
    actor.role = rb_cli_choice (cli, "--role", rb_cli_roles, true, 0);
    regie.case_pseudonym = (char *) rb_cli_text (cli, "--case", true);
    regie.actor = &actor;
    regie.joined = !rb_cli_flag (cli, "--release");
    regie.contact = rb_cli_field (cli, "--contact");
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_REGIE, &regie.base, s_regie_text, &regie);
}
