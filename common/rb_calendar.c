/*  rb_calendar: dates, the school week and holidays; see rb_calendar.h.
 *
 *  Day numbers are computed from the year, month and day directly: the
 *  days of the whole years since 1970, the days of the whole months of the
 *  year, and the day. The valid range (2000 to 2100) is small enough that
 *  the reverse direction can find the year by a short search. Holidays are
 *  kept as day numbers so a test is two comparisons per range.
 */
#include "rb_calendar.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  One holiday: from and to as day numbers, both included.
typedef struct {
    int32_t from;           //  first day off
    int32_t to;             //  last day off
} s_range_t;

struct _rb_calendar_t {
    unsigned weekdays;                              //  mask of school weekdays
    size_t holidays;                                //  ranges in use
    s_range_t holiday [RB_CALENDAR_HOLIDAYS_MAX];   //  the ranges, in order added
};

// ---------------------------------------------------------------------------
//  Plain dates

static bool
s_leap (int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
s_month_days (int year, int month)
{
    static const int days [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && s_leap (year)? 29: days [month - 1];
}

//  Leap years among 1 .. year.
static int
s_leaps_through (int year)
{
    return year / 4 - year / 100 + year / 400;
}

//  Day number of 1 January of year.
static int32_t
s_year_start (int year)
{
    return (year - 1970) * 365 + s_leaps_through (year - 1) - s_leaps_through (1969);
}

bool
rb_calendar_date_valid (int32_t date)
{
    if (date < RB_CALENDAR_FIRST_DATE || date > RB_CALENDAR_LAST_DATE)
        return false;
    int year = date / 10000, month = date / 100 % 100, day = date % 100;
    return month >= 1 && month <= 12 && day >= 1 && day <= s_month_days (year, month);
}

int32_t
rb_calendar_day_number (int32_t date)
{
    if (!rb_calendar_date_valid (date))
        return -1;
    int year = date / 10000, month = date / 100 % 100, day = date % 100;
    int32_t number = s_year_start (year);
    for (int m = 1; m < month; m++)
        number += s_month_days (year, m);
    return number + day - 1;
}

int32_t
rb_calendar_date_of (int32_t day_number)
{
    if (day_number < s_year_start (2000) || day_number >= s_year_start (2101))
        return 0;
    //  A year has at least 365 days, so this guess is never too late.
    int year = 1970 + day_number / 366;
    while (s_year_start (year + 1) <= day_number)
        year++;
    int32_t rest = day_number - s_year_start (year);
    int month = 1;
    while (rest >= s_month_days (year, month))
        rest -= s_month_days (year, month++);
    return year * 10000 + month * 100 + rest + 1;
}

int32_t
rb_calendar_add_days (int32_t date, int32_t days)
{
    int32_t number = rb_calendar_day_number (date);
    if (number < 0 || days > 100000 || days < -100000)
        return 0;
    return rb_calendar_date_of (number + days);
}

int
rb_calendar_weekday (int32_t date)
{
    int32_t number = rb_calendar_day_number (date);
    //  Day 0, 1970-01-01, was a Thursday.
    return number < 0? 0: (number + 3) % 7 + 1;
}

int32_t
rb_calendar_date_at (int64_t ms)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    if (!localtime_r (&seconds, &tm))
        return 0;
    int32_t date = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
    return rb_calendar_date_valid (date)? date: 0;
}

int64_t
rb_calendar_day_start_ms (int32_t date)
{
    if (!rb_calendar_date_valid (date))
        return 0;
    struct tm tm = { .tm_year = date / 10000 - 1900, .tm_mon = date / 100 % 100 - 1,
                     .tm_mday = date % 100, .tm_isdst = -1 };
    time_t t = mktime (&tm);
    return t == (time_t) -1? 0: (int64_t) t * 1000;
}

// ---------------------------------------------------------------------------
//  A school's calendar

rb_calendar_t *
rb_calendar_new (void)
{
    rb_calendar_t *self = calloc (1, sizeof *self);
    if (self)
        self->weekdays = RB_CALENDAR_MON_FRI;
    return self;
}

void
rb_calendar_destroy (rb_calendar_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

rb_err_t
rb_calendar_set_weekdays (rb_calendar_t *self, unsigned mask, rb_refusal_t *refusal)
{
    if (mask == 0 || (mask & ~RB_CALENDAR_ALL_DAYS))
        return rb_refuse (refusal, RB_EINVALID, "weekdays",
                          "0x%x is not a school week: give one or more of the bits 0x01 (Monday) to 0x40 (Sunday)",
                          mask);
    self->weekdays = mask;
    return RB_OK;
}

unsigned
rb_calendar_weekdays (const rb_calendar_t *self)
{
    return self->weekdays;
}

//  Check a holiday range and turn it into day numbers; prefix names the
//  field for the refusal ("holiday" or "holidays[2]").
static rb_err_t
s_range (int32_t from, int32_t to, s_range_t *range, const char *prefix, bool item,
         rb_refusal_t *refusal)
{
    char field [64];
    if (!rb_calendar_date_valid (from)) {
        snprintf (field, sizeof field, "%s%s", prefix, item? "": ".from");
        return rb_refuse (refusal, RB_EINVALID, field, "%d is not a date (YYYYMMDD, %d..%d)",
                          (int) from, RB_CALENDAR_FIRST_DATE, RB_CALENDAR_LAST_DATE);
    }
    if (!rb_calendar_date_valid (to)) {
        snprintf (field, sizeof field, "%s%s", prefix, item? "": ".to");
        return rb_refuse (refusal, RB_EINVALID, field, "%d is not a date (YYYYMMDD, %d..%d)",
                          (int) to, RB_CALENDAR_FIRST_DATE, RB_CALENDAR_LAST_DATE);
    }
    if (to < from) {
        snprintf (field, sizeof field, "%s%s", prefix, item? "": ".to");
        return rb_refuse (refusal, RB_EINVALID, field, "the holiday ends on %d, before it starts on %d",
                          (int) to, (int) from);
    }
    range->from = rb_calendar_day_number (from);
    range->to = rb_calendar_day_number (to);
    return RB_OK;
}

rb_err_t
rb_calendar_add_holiday (rb_calendar_t *self, int32_t from, int32_t to, rb_refusal_t *refusal)
{
    s_range_t range;
    rb_err_t rc = s_range (from, to, &range, "holiday", false, refusal);
    if (rc)
        return rc;
    if (self->holidays == RB_CALENDAR_HOLIDAYS_MAX)
        return rb_refuse (refusal, RB_ETOOLARGE, "holiday", "a calendar holds at most %d holidays",
                          RB_CALENDAR_HOLIDAYS_MAX);
    self->holiday [self->holidays++] = range;
    return RB_OK;
}

//  Read exactly eight digits at *p into *date and move past them.
static bool
s_read_date (const char **p, int32_t *date)
{
    int32_t value = 0;
    for (int i = 0; i < 8; i++) {
        char c = (*p) [i];
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    *p += 8;
    *date = value;
    return true;
}

//  Parse one item, start..end without surrounding spaces.
static bool
s_parse_item (const char *start, const char *end, int32_t *from, int32_t *to)
{
    const char *p = start;
    if (end - p < 8 || !s_read_date (&p, from))
        return false;
    *to = *from;
    if (p == end)
        return true;
    while (p < end && *p == ' ')
        p++;
    if (p == end || *p != '-')
        return false;
    p++;
    while (p < end && *p == ' ')
        p++;
    return end - p == 8 && s_read_date (&p, to);
}

rb_err_t
rb_calendar_parse_holidays (rb_calendar_t *self, const char *text, rb_refusal_t *refusal)
{
    if (!text)
        return rb_refuse (refusal, RB_EMISSING, "holidays", "no holiday text given");
    s_range_t ranges [RB_CALENDAR_HOLIDAYS_MAX];
    size_t count = 0;
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == 0)
        return RB_OK;                   //  no holidays at all

    for (size_t index = 0; ; index++) {
        char field [32];
        snprintf (field, sizeof field, "holidays[%zu]", index);
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *next = *p == ','? p + 1: NULL;
        const char *end = p;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        while (end > start && (end [-1] == ' ' || end [-1] == '\t'))
            end--;
        int shown = end - start > 40? 40: (int) (end - start);
        int32_t from, to;
        if (start == end)
            return rb_refuse (refusal, RB_EINVALID, field, "empty item: give YYYYMMDD or YYYYMMDD-YYYYMMDD");
        if (!s_parse_item (start, end, &from, &to))
            return rb_refuse (refusal, RB_EINVALID, field,
                              "\"%.*s%s\" is not YYYYMMDD or YYYYMMDD-YYYYMMDD",
                              shown, start, end - start > shown? "...": "");
        if (self->holidays + count == RB_CALENDAR_HOLIDAYS_MAX)
            return rb_refuse (refusal, RB_ETOOLARGE, field, "a calendar holds at most %d holidays",
                              RB_CALENDAR_HOLIDAYS_MAX);
        rb_err_t rc = s_range (from, to, &ranges [count], field, true, refusal);
        if (rc)
            return rc;
        count++;
        if (!next)
            break;
        p = next;
    }
    memcpy (self->holiday + self->holidays, ranges, count * sizeof ranges [0]);
    self->holidays += count;
    return RB_OK;
}

size_t
rb_calendar_holiday_count (const rb_calendar_t *self)
{
    return self->holidays;
}

//  The test on a day number already known to be valid.
static bool
s_school_day (const rb_calendar_t *self, int32_t number)
{
    int weekday = (number + 3) % 7 + 1;
    if (!(self->weekdays & (1u << (weekday - 1))))
        return false;
    for (size_t i = 0; i < self->holidays; i++)
        if (number >= self->holiday [i].from && number <= self->holiday [i].to)
            return false;
    return true;
}

bool
rb_calendar_is_school_day (const rb_calendar_t *self, int32_t date)
{
    int32_t number = rb_calendar_day_number (date);
    return number >= 0 && s_school_day (self, number);
}

int32_t
rb_calendar_school_days_between (const rb_calendar_t *self, int32_t from, int32_t to)
{
    int32_t first = rb_calendar_day_number (from);
    int32_t last = rb_calendar_day_number (to);
    int32_t count = 0;
    if (first < 0 || last < 0)
        return 0;
    for (int32_t number = first; number <= last; number++)
        count += s_school_day (self, number);
    return count;
}

//  Walk from date by step (+1 or -1) to the first school day.
static int32_t
s_walk (const rb_calendar_t *self, int32_t date, int step)
{
    int32_t number = rb_calendar_day_number (date);
    if (number < 0)
        return 0;
    int32_t first = rb_calendar_day_number (RB_CALENDAR_FIRST_DATE);
    int32_t last = rb_calendar_day_number (RB_CALENDAR_LAST_DATE);
    for (number += step; number >= first && number <= last; number += step)
        if (s_school_day (self, number))
            return rb_calendar_date_of (number);
    return 0;
}

int32_t
rb_calendar_next_school_day (const rb_calendar_t *self, int32_t date)
{
    return s_walk (self, date, 1);
}

int32_t
rb_calendar_previous_school_day (const rb_calendar_t *self, int32_t date)
{
    return s_walk (self, date, -1);
}
