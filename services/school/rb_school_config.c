/*  rb_school_config: the school's configuration sections; see rb_school_config.h.
 *
 *  rb_config_section does the strict part (unknown keys, numbers and their
 *  range, required keys); what it cannot know is checked here: the form of
 *  the location, the contact and the time of day, the holidays, the rules
 *  taken together. The homes map and the region key are read as every
 *  daemon reads them (rb_homes, rb_pseudonym_from_config). Refusals name
 *  the key as the file spells it, section/key.
 */
#include "rb_school_config.h"
#include <czmq.h>
#include <stddef.h>

#define S_HOLIDAYS_MAX 8192             //  longest school/holidays text

// ---------------------------------------------------------------------------
//  Forms

static bool
s_digit (char c)
{
    return c >= '0' && c <= '9';
}

bool
rb_school_location_valid (const char *text)
{
    if (!text || strlen (text) != RB_SCHOOL_LOCATION_LEN)
        return false;
    for (int i = 0; i < 4; i++)
        if (!s_digit (text [i]) && !(text [i] >= 'A' && text [i] <= 'Z'))
            return false;
    return s_digit (text [4]) && s_digit (text [5]);
}

//  "HH:MM" to minutes after midnight; "never" or nothing to NEVER.
static rb_err_t
s_close_minute (const char *text, int *minute, rb_refusal_t *why)
{
    *minute = RB_SCHOOL_NEVER;
    if (!*text || streq (text, "never"))
        return RB_OK;
    if (strlen (text) == 5 && s_digit (text [0]) && s_digit (text [1]) && text [2] == ':'
    &&  s_digit (text [3]) && s_digit (text [4])) {
        int hours = (text [0] - '0') * 10 + text [1] - '0';
        int minutes = (text [3] - '0') * 10 + text [4] - '0';
        *minute = hours * 60 + minutes;
        if (hours < 24 && minutes < 60)
            return RB_OK;
    }
    return rb_refuse (why, RB_EINVALID, "school/close_day_at",
                      "config: school/close_day_at must be HH:MM (00:00 to 23:59) or never, not '%s'", text);
}

// ---------------------------------------------------------------------------
//  school { location, contact, holidays, close_day_at }

//  rb_config_section takes an empty value for an absent one, which gets the
//  default; for close_day_at an empty value means never, so look at the
//  section as written.
static rb_err_t
s_close_empty (const char *key, const char *value, void *arg, rb_refusal_t *why)
{
    (void) why;
    if (streq (key, "close_day_at") && !*value)
        *(bool *) arg = true;
    return RB_OK;
}

static rb_err_t
s_school (rb_school_config_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    char holidays [S_HOLIDAYS_MAX] = "";
    char close_at [16] = "";
    rb_config_item_t items [] = {
        { "location", RB_CONFIG_TEXT, self->location, sizeof self->location, true, NULL, 0, 0 },
        { "contact", RB_CONFIG_TEXT, self->contact, sizeof self->contact, false, "", 0, 0 },
        { "holidays", RB_CONFIG_TEXT, holidays, sizeof holidays, false, "", 0, 0 },
        { "close_day_at", RB_CONFIG_TEXT, close_at, sizeof close_at, false, "18:00", 0, 0 },
    };
    bool never = false;
    rb_err_t rc = rb_config_section (config, "school", items, sizeof items / sizeof items [0], why);
    if (!rc)
        rc = rb_config_pairs (config, "school", s_close_empty, &never, why);
    if (rc)
        return rc;
    if (!rb_school_location_valid (self->location))
        return rb_refuse (why, RB_EINVALID, "school/location",
                          "config: school/location must be 4 of [0-9A-Z] then 2 digits (12AB00), not '%s'",
                          self->location);
    if (rb_text_check (self->contact, RB_TEXT_MAX, "school/contact", why))
        return why->code;
    rb_refusal_t bad;
    if (rb_calendar_parse_holidays (self->calendar, holidays, &bad))
        return rb_refuse (why, bad.code, "school/holidays", "config: school/holidays: %s: %s",
                          bad.field, bad.message);
    return s_close_minute (never? "": close_at, &self->close_minute, why);
}

// ---------------------------------------------------------------------------
//  rules { ... }: every number of rb_attendance_rules_t and one bool

static const struct {
    const char *key;                    //  the key in section rules
    size_t offset;                      //  of its uint32_t in rb_attendance_rules_t
} s_rule_keys [] = {
    { "present_days_to_reopen", offsetof (rb_attendance_rules_t, present_days_to_reopen) },
    { "streak_days", offsetof (rb_attendance_rules_t, streak_days) },
    { "legal_minutes", offsetof (rb_attendance_rules_t, legal_minutes) },
    { "legal_window_days", offsetof (rb_attendance_rules_t, legal_window_days) },
    { "rate_permille", offsetof (rb_attendance_rules_t, rate_permille) },
    { "rate_window_days", offsetof (rb_attendance_rules_t, rate_window_days) },
    { "min_rate_days", offsetof (rb_attendance_rules_t, min_rate_days) },
    { "day_minutes", offsetof (rb_attendance_rules_t, day_minutes) },
    { "lesson_minutes", offsetof (rb_attendance_rules_t, lesson_minutes) },
};
#define S_RULE_KEYS (sizeof s_rule_keys / sizeof s_rule_keys [0])

static rb_err_t
s_rules (rb_school_config_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    //  Defaults first: an item without fallback leaves its value alone.
    self->rules = rb_attendance_rules_default ();
    uint64_t value [S_RULE_KEYS];
    rb_config_item_t items [S_RULE_KEYS + 1];
    for (size_t i = 0; i < S_RULE_KEYS; i++) {
        value [i] = *(uint32_t *) ((char *) &self->rules + s_rule_keys [i].offset);
        items [i] = (rb_config_item_t) { s_rule_keys [i].key, RB_CONFIG_UINT, &value [i], 0, false,
                                         NULL, 0, UINT32_MAX };
    }
    items [S_RULE_KEYS] = (rb_config_item_t) { "count_all_absence", RB_CONFIG_BOOL,
                                               &self->rules.count_all_absence, 0, false, NULL, 0, 0 };
    rb_err_t rc = rb_config_section (config, "rules", items, S_RULE_KEYS + 1, why);
    if (rc)
        return rc;
    for (size_t i = 0; i < S_RULE_KEYS; i++)
        *(uint32_t *) ((char *) &self->rules + s_rule_keys [i].offset) = (uint32_t) value [i];
    rb_refusal_t bad;
    if (!rb_attendance_rules_check (&self->rules, &bad))
        return RB_OK;
    //  The rules name a field "rules.streak_days", the file "rules/streak_days".
    const char *dot = strchr (bad.field, '.');
    char field [96];
    snprintf (field, sizeof field, "rules/%.60s", dot? dot + 1: bad.field);
    return rb_refuse (why, bad.code, field, "config: %s: %s", field, bad.message);
}

// ---------------------------------------------------------------------------
//  homes { 0363 = mun-a }, region { key_file }: the shared readers

static rb_err_t
s_homes (rb_school_config_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    if (!(self->homes = rb_homes_new (config, NULL, NULL, why)))
        return why->code;
    if (rb_homes_size (self->homes) == 0)
        return rb_refuse (why, RB_EMISSING, "homes",
                          "config: homes must map at least one municipality code to its node");
    return RB_OK;
}

static rb_err_t
s_region (rb_school_config_t *self, const rb_config_t *config, rb_refusal_t *why)
{
    if (!(self->region = rb_pseudonym_from_config (config, why)))
        return why->code;
    return RB_OK;
}

// ---------------------------------------------------------------------------

rb_school_config_t *
rb_school_config_new (const rb_config_t *config, rb_refusal_t *why)
{
    rb_school_config_t *self = calloc (1, sizeof *self);
    if (self)
        self->calendar = rb_calendar_new ();
    if (!self || !self->calendar) {
        rb_refuse (why, RB_EINTERNAL, "", "out of memory");
        rb_school_config_destroy (&self);
        return NULL;
    }
    if (s_school (self, config, why) || s_rules (self, config, why)
    ||  s_homes (self, config, why) || s_region (self, config, why))
        rb_school_config_destroy (&self);
    return self;
}

void
rb_school_config_destroy (rb_school_config_t **self_p)
{
    if (self_p && *self_p) {
        rb_school_config_t *self = *self_p;
        rb_pseudonym_destroy (&self->region);
        rb_homes_destroy (&self->homes);
        rb_calendar_destroy (&self->calendar);
        free (self);
        *self_p = NULL;
    }
}
