/*  render: notifications in plain words, and acknowledging them.
 *
 *  `regiebus notifications` is what a mentor, a care team or a desk reads
 *  at their own node, so each notification is one block that answers, in
 *  this order: which one (its local number) and whether someone already
 *  saw it, when it came and from where, which case (the first 12 hex of
 *  the pseudonym, and the name this node's own records give the child),
 *  what happened, why this reader gets it (the role held on the case), who
 *  else got it, and what is expected by when. The counts of new and
 *  acknowledged notifications close the listing. With --json the reply is
 *  printed as it came, for scripts.
 *
 *  The words come from the codes the notification carries (case.proto);
 *  nothing here invents facts the node did not send.
 */
#include "rb_cli.h"
#include <stdarg.h>

#define S_LINE 320                  //  one rendered line

// ---------------------------------------------------------------------------
//  What happened

static const char *
s_reason (int reason)
{
    const char *word = rb_cli_word_of (rb_cli_reasons, reason);
    return word? word: "reason not given";
}

static void
s_absence (const Regiebus__AbsenceSignal *a, char *out, size_t size)
{
    char date [16], started [16];
    rb_cli_date_text (a->date, date, sizeof date);
    rb_cli_date_text (a->episode_started, started, sizeof started);
    switch (a->signal) {
        case REGIEBUS__ABSENCE_SIGNAL_KIND__FIRST_ABSENCE:
            snprintf (out, size, "First absence on %s (%s), episode %u", date, s_reason (a->reason), a->episode);
            break;
        case REGIEBUS__ABSENCE_SIGNAL_KIND__STREAK:
            snprintf (out, size, "Absent %u school days in a row up to %s (%s), episode %u",
                      a->streak_days, date, s_reason (a->reason), a->episode);
            break;
        case REGIEBUS__ABSENCE_SIGNAL_KIND__LEGAL_THRESHOLD:
            snprintf (out, size, "Over 16 hours of unexcused absence in 4 weeks: %u min (on %s, episode %u)",
                      a->unexcused_minutes_4w, date, a->episode);
            break;
        case REGIEBUS__ABSENCE_SIGNAL_KIND__HIGH_RATE:
            snprintf (out, size, "High absence rate: %u.%u%% of school time in 4 weeks (on %s, episode %u)",
                      a->rate_permille_4w / 10, a->rate_permille_4w % 10, date, a->episode);
            break;
        case REGIEBUS__ABSENCE_SIGNAL_KIND__DAILY_DIGEST:
            snprintf (out, size, "Absent again on %s (%s): %u absence%s recorded that day, episode %u",
                      date, s_reason (a->reason), a->absences_today, a->absences_today == 1? "": "s",
                      a->episode);
            break;
        case REGIEBUS__ABSENCE_SIGNAL_KIND__EPISODE_CLOSED:
            snprintf (out, size, "Present again on %s: absence episode %u (since %s) closed",
                      date, a->episode, started);
            break;
        default:
            snprintf (out, size, "Absence signal %s on %s, episode %u",
                      rb_cli_enum_name (&regiebus__absence_signal_kind__descriptor, a->signal), date, a->episode);
    }
}

static void
s_parent_report (const Regiebus__ParentReport *r, char *out, size_t size)
{
    char from [16], until [16], code [24] = "";
    rb_cli_date_text (r->from_date, from, sizeof from);
    rb_cli_date_text (r->until_date, until, sizeof until);
    if (r->code)
        snprintf (code, sizeof code, " (code %u)", r->code);
    const char *what = r->report == REGIEBUS__PARENT_REPORT_KIND__PARENT_SICKNESS? "sickness":
                       r->report == REGIEBUS__PARENT_REPORT_KIND__PARENT_HOME_SIGNAL?
                       "tension or a change at home": "something";
    snprintf (out, size, "Parent reports %s from %s%s%s%s", what, from,
              r->until_date? " until ": "", r->until_date? until: "", code);
}

//  "leerplicht (mun-a, LEERPLICHT)"
static void
s_actor (const Regiebus__Actor *actor, char *out, size_t size)
{
    if (!actor) {
        snprintf (out, size, "someone (not named)");
        return;
    }
    //  The role's word as people write it: "school mentor", "leerplicht".
    const char *word = rb_cli_word_of (rb_cli_roles, actor->role);
    char words [32];
    snprintf (words, sizeof words, "%s", word? word: "an actor");
    for (char *c = words; *c; c++)
        *c = *c == '-'? ' ': *c;
    snprintf (out, size, "%s (%s, %s)", words, actor->node,
              rb_cli_enum_name (&regiebus__role__descriptor, actor->role));
}

static void
s_regie_change (const Regiebus__RegieChange *c, char *out, size_t size)
{
    char actor [160];
    s_actor (c->actor, actor, sizeof actor);
    snprintf (out, size, "%s %s the case%s%s%s%s%s", actor, c->joined? "joined": "left",
              *c->reason? ": ": "", c->reason, *c->contact? " (contact: ": "", c->contact,
              *c->contact? ")": "");
}

static const char *
s_plan_type (int type)
{
    switch (type) {
        case REGIEBUS__PLAN_TYPE__PLAN_OPP: return "OPP";
        case REGIEBUS__PLAN_TYPE__PLAN_CARE: return "care plan";
        case REGIEBUS__PLAN_TYPE__PLAN_ACTION: return "action plan";
        default: return "plan";
    }
}

//  "milestone 1 'education plan' (due 2026-11-30)", or the review.
static void
s_plan_milestone (const Regiebus__PlanChange *c, char *out, size_t size)
{
    char due [16];
    rb_cli_date_text (c->due, due, sizeof due);
    if (c->review_overdue)
        snprintf (out, size, "its review (due %s) did not happen", due);
    else
        snprintf (out, size, "milestone %u '%s' (due %s)", c->milestone, c->label, due);
}

//  A line for a person to read, cut at the end of its buffer: the names
//  and labels in it are bounded, but their sum can outgrow any one line.
static void s_say (char *out, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_say (char *out, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (out, size, format, args);
    va_end (args);
}

static void
s_plan_change (const Regiebus__PlanChange *c, char *out, size_t size)
{
    char plan [64], owner [160], by [160], date [16], what [160];
    snprintf (plan, sizeof plan, "Plan %u (%s)", c->plan_id, s_plan_type (c->type));
    s_actor (c->owner, owner, sizeof owner);
    s_actor (c->by, by, sizeof by);
    rb_cli_date_text (c->date, date, sizeof date);
    s_plan_milestone (c, what, sizeof what);
    size_t open = 0;
    for (size_t i = 0; c->plan && i < c->plan->n_milestones; i++)
        open += !c->plan->milestones [i]->completed_on;
    switch (c->change) {
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_REGISTERED:
            s_say (out, size, "%s registered by %s on %s, owner %s: %zu milestones, review every %u days",
                      plan, by, date, owner, open, c->plan? c->plan->review_interval_days: 0);
            break;
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_MILESTONE_COMPLETED:
            s_say (out, size, "%s: %s completed on %s by %s", plan, what, date, by);
            break;
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_REVISED:
            s_say (out, size, "%s revised by %s on %s: %zu open milestones, review every %u days",
                      plan, by, date, open, c->plan? c->plan->review_interval_days: 0);
            break;
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_REVIEWED:
            s_say (out, size, "%s reviewed by %s on %s", plan, by, date);
            break;
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_CLOSED:
            s_say (out, size, "%s closed by %s on %s", plan, by, date);
            break;
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_STALLED:
            s_say (out, size, "%s STALLED: %s; owner %s; stall %u on this case",
                      plan, what, owner, c->case_stalls);
            break;
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_REMINDER:
            s_say (out, size, "Reminder: %s, %s is due soon; you own the plan", plan, what);
            break;
        case REGIEBUS__PLAN_CHANGE_KIND__PLAN_COMMAND_REFUSED:
            s_say (out, size, "Your plan command (plan %u) was refused by the municipality: %s on %s",
                      c->plan_id, rb_cli_enum_name (&regiebus__error_code__descriptor, (int) c->refused_code),
                      c->refused_field);
            break;
        default:
            s_say (out, size, "%s changed", plan);
    }
}

//  A step of the escalation ladder, or a notification nobody acknowledged.
static void
s_escalation (const Regiebus__Escalation *e, char *out, size_t size)
{
    char started [16], sent [16], early [64] = "", who [160];
    rb_cli_date_text (e->episode_started, started, sizeof started);
    rb_cli_date_text (e->sent_on, sent, sizeof sent);
    if (e->plan_id)
        snprintf (early, sizeof early, ", early: plan %u stalled (%u stalls)", e->plan_id, e->plan_stalls);
    switch (e->step) {
        case REGIEBUS__ESCALATION_STEP__ESCALATION_CASUSREGISSEUR_NEEDED:
            snprintf (out, size, "Escalation level 1: absent %u weeks (since %s)%s: a casusregisseur "
                      "must be assigned", e->weeks_absent, started, early);
            break;
        case REGIEBUS__ESCALATION_STEP__ESCALATION_NO_CASUSREGISSEUR:
            snprintf (out, size, "Reminder %u: still no casusregisseur on the case (level %u, absent %u weeks)",
                      e->reminder, e->level, e->weeks_absent);
            break;
        case REGIEBUS__ESCALATION_STEP__ESCALATION_DOORBRAAKTEAM:
            snprintf (out, size, "Escalation level 2: absent %u weeks (since %s) without a fitting plan%s: "
                      "the doorbraakteam joins the case", e->weeks_absent, started, early);
            break;
        case REGIEBUS__ESCALATION_STEP__ESCALATION_THUISZITTER:
            snprintf (out, size, "Escalation level 3: absent %u weeks (since %s): registered as thuiszitter",
                      e->weeks_absent, started);
            break;
        case REGIEBUS__ESCALATION_STEP__ESCALATION_UNACKNOWLEDGED:
            s_actor (e->unacknowledged_by, who, sizeof who);
            snprintf (out, size, "Not acknowledged, also not after a reminder: the %s notification of %s "
                      "to %s", rb_cli_enum_name (&regiebus__event_kind__descriptor, e->about), sent, who);
            break;
        default:
            snprintf (out, size, "Escalation step %d (level %u)", (int) e->step, e->level);
    }
}

//  What a care team reads when the parents decide on sharing with it.
static void
s_consent_change (const Regiebus__ConsentChange *c, char *out, size_t size)
{
    char since [32];
    rb_cli_time_text (c->since_ms, since, sizeof since);
    if (c->given)
        snprintf (out, size, "The parents consent to sharing this case with %s, from %s",
                  rb_cli_enum_name (&regiebus__role__descriptor, c->role), since);
    else
        snprintf (out, size, "The parents withdrew their consent for %s on %s: "
                  "nothing beyond the legal minimum follows", rb_cli_enum_name (&regiebus__role__descriptor,
                  c->role), since);
}

static void
s_what (const Regiebus__Notification *n, char *out, size_t size)
{
    if (n->subject == REGIEBUS__EVENT_KIND__ESCALATION && n->escalation)
        s_escalation (n->escalation, out, size);
    else
    if (n->subject == REGIEBUS__EVENT_KIND__ABSENCE_SIGNAL && n->absence)
        s_absence (n->absence, out, size);
    else
    if (n->subject == REGIEBUS__EVENT_KIND__PARENT_REPORT && n->parent_report)
        s_parent_report (n->parent_report, out, size);
    else
    if (n->subject == REGIEBUS__EVENT_KIND__REGIE_CHANGE && n->regie_change)
        s_regie_change (n->regie_change, out, size);
    else
    if (n->subject == REGIEBUS__EVENT_KIND__PLAN_CHANGE && n->plan_change)
        s_plan_change (n->plan_change, out, size);
    else
    if (n->subject == REGIEBUS__EVENT_KIND__CONSENT_CHANGE && n->consent_change)
        s_consent_change (n->consent_change, out, size);
    else
    if (n->subject == REGIEBUS__EVENT_KIND__ENROLMENT)
        snprintf (out, size, "The pupil's enrolment changed");
    else
    if (n->subject == REGIEBUS__EVENT_KIND__INVOLVEMENT)
        snprintf (out, size, "A care provider's involvement changed");
    else
    if (n->subject == REGIEBUS__EVENT_KIND__PARENT_LINK)
        snprintf (out, size, "A parent's link to the case changed");
    else
        snprintf (out, size, "%s on the case (no details sent)",
                  rb_cli_enum_name (&regiebus__event_kind__descriptor, n->subject));
}

// ---------------------------------------------------------------------------
//  Why, who else, what next

static void
s_also (const Regiebus__Notification *n, char *out, size_t size)
{
    if (n->n_also_sent_to == 0) {
        snprintf (out, size, "nobody else");
        return;
    }
    *out = '\0';
    for (size_t i = 0; i < n->n_also_sent_to; i++) {
        const Regiebus__Actor *a = n->also_sent_to [i];
        size_t used = strlen (out);
        snprintf (out + used, size - used, "%s%s (%s)", i? ", ": "", a->node,
                  rb_cli_enum_name (&regiebus__role__descriptor, a->role));
    }
}

static const char *
s_action (int action)
{
    switch (action) {
        case REGIEBUS__EXPECTED_ACTION__NO_ACTION: return "nothing, for your information";
        case REGIEBUS__EXPECTED_ACTION__CONTACT_PARENTS: return "contact the parents";
        case REGIEBUS__EXPECTED_ACTION__CONTACT_SCHOOL: return "contact the school";
        case REGIEBUS__EXPECTED_ACTION__ASSESS_CASE: return "assess the case";
        case REGIEBUS__EXPECTED_ACTION__CONFIRM_INVOLVEMENT: return "confirm your involvement";
        default: return NULL;
    }
}

//  The line "expected: ...", or false when nothing is expected.
static bool
s_expected (const Regiebus__Notification *n, char *out, size_t size)
{
    const char *action = s_action (n->expected);
    char by [16];
    rb_cli_date_text (n->expected_by, by, sizeof by);
    if (!action && !n->expected_by)
        return false;
    snprintf (out, size, "%s%s%s", action? action: "act", n->expected_by? " by ": "",
              n->expected_by? by: "");
    return true;
}

// ---------------------------------------------------------------------------
//  One block per notification

static void
s_state (const Regiebus__NotificationItem *item, char *out, size_t size)
{
    char at [32];
    if (item->acknowledged)
        snprintf (out, size, "acknowledged by %s at %s", item->acked_by,
                  rb_cli_time_text (item->acked_at_ms, at, sizeof at));
    else
        snprintf (out, size, "NEW");
}

static void
s_item (const Regiebus__NotificationItem *item)
{
    const Regiebus__Notification *n = item->notification;
    char state [160], received [32], line [S_LINE];
    s_state (item, state, sizeof state);
    rb_cli_time_text (item->received_at_ms, received, sizeof received);
    printf ("#%llu  %s  received %s from %s", (unsigned long long) item->seq, state, received, item->origin);
    if (n && *n->from_node && !streq (n->from_node, item->origin))
        printf (" (started at %s)", n->from_node);
    printf ("\n    case %.12s", item->case_pseudonym);
    if (*item->local_name)
        printf (" (%s)", item->local_name);
    printf ("\n");
    if (!n) {
        printf ("    (the node sent no details)\n\n");
        return;
    }
    if (n->reminder) {
        printf ("    REMINDER %u: not acknowledged yet (notification ", n->reminder);
        for (size_t i = 0; i < n->reminder_of.len && i < 6; i++)
            printf ("%02x", n->reminder_of.data [i]);
        printf ("...)\n");
    }
    s_what (n, line, sizeof line);
    printf ("    %s\n", line);
    printf ("    you hold regie as %s\n",
            n->recipient? rb_cli_enum_name (&regiebus__role__descriptor, n->recipient->role): "?");
    s_also (n, line, sizeof line);
    printf ("    also sent to: %s\n", line);
    if (s_expected (n, line, sizeof line))
        printf ("    expected: %s\n", line);
    printf ("\n");
}

static int
s_list_text (const Regiebus__ApiReply *reply, void *arg)
{
    (void) arg;
    const Regiebus__ListNotificationsReply *r = reply->list_notifications;
    for (size_t i = 0; i < r->n_items; i++)
        s_item (r->items [i]);
    if (r->n_items == 0)
        printf ("no notifications to show\n");
    if (r->more && r->n_items)
        printf ("(more: continue with --after %llu)\n", (unsigned long long) r->items [r->n_items - 1]->seq);
    printf ("on this node: %llu new, %llu acknowledged\n", (unsigned long long) r->new_count,
            (unsigned long long) r->acked_count);
    return RB_CLI_EXIT_OK;
}

int
rb_cli_notifications (rb_cli_t *cli)
{
    Regiebus__ListNotificationsRequest list = REGIEBUS__LIST_NOTIFICATIONS_REQUEST__INIT;
    list.only_new = rb_cli_flag (cli, "--new");
    list.case_pseudonym = rb_cli_field (cli, "--case");
    list.account = rb_cli_field (cli, "--account");
    list.after_seq = rb_cli_number (cli, "--after", UINT64_MAX, 0);
    list.limit = (uint32_t) rb_cli_number (cli, "--limit", UINT32_MAX, 0);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_LIST_NOTIFICATIONS, &list.base, s_list_text, NULL);
}

static int
s_ack_text (const Regiebus__ApiReply *reply, void *arg)
{
    const Regiebus__AckNotificationRequest *ack = arg;
    char at [32];
    printf ("notification %llu acknowledged by %s at %s\n", (unsigned long long) ack->seq, ack->by,
            rb_cli_time_text (reply->ack_notification->acked_at_ms, at, sizeof at));
    return RB_CLI_EXIT_OK;
}

int
rb_cli_ack (rb_cli_t *cli)
{
    Regiebus__AckNotificationRequest ack = REGIEBUS__ACK_NOTIFICATION_REQUEST__INIT;
    const char *seq = rb_cli_word (cli, 0, "SEQ");
    ack.by = (char *) rb_cli_text (cli, "--by", true);
    if (!rb_cli_bad (cli) && !rb_cli_number_parse (seq, UINT64_MAX, &ack.seq))
        rb_cli_error (cli, "SEQ '%s' must be a notification's number", seq);
    if (rb_cli_bad (cli))
        return rb_cli_usage (cli);
    return rb_cli_run (cli, REGIEBUS__API_REQUEST__CALL_ACK_NOTIFICATION, &ack.base, s_ack_text, &ack);
}
