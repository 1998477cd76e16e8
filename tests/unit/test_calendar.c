/*  unit_calendar: a school's dates, week and holidays (rb_calendar.h).
 *
 *  Dates are YYYYMMDD between 2000 and 2100; day numbers count from
 *  1970-01-01. A school day is a day of the school week (Monday to Friday
 *  unless set) outside every holiday. Holidays come one range at a time or
 *  as configuration text, and a bad one is refused naming the field or the
 *  item at fault.
 */
#include "rb_test.h"
#include "rb_calendar.h"
#include <stdlib.h>
#include <time.h>

static void
s_test_dates (void)
{
    rb_test_section ("real calendar dates between 2000 and 2100 are valid");
    CHECK (rb_calendar_date_valid (20261123));
    CHECK (rb_calendar_date_valid (20000101));
    CHECK (rb_calendar_date_valid (21001231));
    CHECK (rb_calendar_date_valid (20261231));
    CHECK (!rb_calendar_date_valid (19991231));      //  before the range
    CHECK (!rb_calendar_date_valid (21010101));      //  after it
    CHECK (!rb_calendar_date_valid (0));
    CHECK (!rb_calendar_date_valid (-20261123));
    CHECK (!rb_calendar_date_valid (20261300));      //  month 13
    CHECK (!rb_calendar_date_valid (20260015));      //  month 0
    CHECK (!rb_calendar_date_valid (20261100));      //  day 0
    CHECK (!rb_calendar_date_valid (20261131));      //  November has 30 days
    CHECK (!rb_calendar_date_valid (2026112));       //  seven digits

    rb_test_section ("leap years: every 4th, not every 100th, but every 400th");
    CHECK (rb_calendar_date_valid (20240229));
    CHECK (!rb_calendar_date_valid (20250229));
    CHECK (rb_calendar_date_valid (20000229));       //  2000 divides by 400
    CHECK (!rb_calendar_date_valid (21000229));      //  2100 does not
    CHECK (!rb_calendar_date_valid (20240230));

    rb_test_section ("day numbers count from 1970-01-01");
    CHECK_INT (rb_calendar_day_number (20000101), 10957);
    CHECK_INT (rb_calendar_day_number (20261123), 20780);
    CHECK_INT (rb_calendar_day_number (21001231), 47846);
    CHECK_INT (rb_calendar_day_number (20261131), -1);
    CHECK_INT (rb_calendar_date_of (20780), 20261123);
    CHECK_INT (rb_calendar_date_of (10956), 0);       //  19991231
    CHECK_INT (rb_calendar_date_of (47847), 0);       //  21010101
    CHECK_INT (rb_calendar_day_number (20240301) - rb_calendar_day_number (20240228), 2);
    CHECK_INT (rb_calendar_day_number (20250301) - rb_calendar_day_number (20250228), 1);

    //  Every day of the range there and back, each one day after the last.
    int32_t previous = 0;
    for (int32_t number = 10957; number <= 47846; number++) {
        int32_t date = rb_calendar_date_of (number);
        if (!rb_calendar_date_valid (date) || rb_calendar_day_number (date) != number || date <= previous)
            CHECK_INT (date, -number);               //  fails, showing both
        previous = date;
    }
    CHECK_INT (previous, 21001231);

    rb_test_section ("adding days crosses months, years and leap days");
    CHECK_INT (rb_calendar_add_days (20261123, 7), 20261130);
    CHECK_INT (rb_calendar_add_days (20261231, 1), 20270101);
    CHECK_INT (rb_calendar_add_days (20240228, 1), 20240229);
    CHECK_INT (rb_calendar_add_days (20240301, -1), 20240229);
    CHECK_INT (rb_calendar_add_days (20261123, -28), 20261026);
    CHECK_INT (rb_calendar_add_days (20261123, 0), 20261123);
    CHECK_INT (rb_calendar_add_days (20000101, -1), 0);
    CHECK_INT (rb_calendar_add_days (21001231, 1), 0);
    CHECK_INT (rb_calendar_add_days (20261131, 1), 0);
    CHECK_INT (rb_calendar_add_days (20261123, INT32_MAX), 0);
    CHECK_INT (rb_calendar_add_days (20261123, INT32_MIN), 0);

    rb_test_section ("weekdays are ISO: 1 Monday to 7 Sunday");
    CHECK_INT (rb_calendar_weekday (20261123), 1);
    CHECK_INT (rb_calendar_weekday (20261127), 5);
    CHECK_INT (rb_calendar_weekday (20261128), 6);
    CHECK_INT (rb_calendar_weekday (20261129), 7);
    CHECK_INT (rb_calendar_weekday (20000101), 6);
    CHECK_INT (rb_calendar_weekday (21001231), 5);
    CHECK_INT (rb_calendar_weekday (20240229), 4);
    CHECK_INT (rb_calendar_weekday (20261131), 0);
}

static void
s_test_week (void)
{
    rb_test_section ("a new calendar has a Monday-to-Friday week and no holidays");
    rb_calendar_t *calendar = rb_calendar_new ();
    CHECK (calendar);
    CHECK_UINT (rb_calendar_weekdays (calendar), RB_CALENDAR_MON_FRI);
    CHECK_UINT (rb_calendar_holiday_count (calendar), 0);
    CHECK (rb_calendar_is_school_day (calendar, 20261123));     //  Monday
    CHECK (rb_calendar_is_school_day (calendar, 20261127));     //  Friday
    CHECK (!rb_calendar_is_school_day (calendar, 20261128));    //  Saturday
    CHECK (!rb_calendar_is_school_day (calendar, 20261129));    //  Sunday
    CHECK (!rb_calendar_is_school_day (calendar, 20261131));    //  no such date

    rb_test_section ("the school week can be set, never to nothing");
    rb_refusal_t refusal;
    rb_refusal_clear (&refusal);
    CHECK_INT (rb_calendar_set_weekdays (calendar, RB_CALENDAR_MON_FRI | RB_CALENDAR_SATURDAY, &refusal), RB_OK);
    CHECK (rb_calendar_is_school_day (calendar, 20261128));
    CHECK (!rb_calendar_is_school_day (calendar, 20261129));
    //  A school without Wednesdays.
    CHECK_INT (rb_calendar_set_weekdays (calendar, RB_CALENDAR_MON_FRI & ~RB_CALENDAR_WEDNESDAY, &refusal), RB_OK);
    CHECK (!rb_calendar_is_school_day (calendar, 20261125));
    CHECK_INT (rb_calendar_school_days_between (calendar, 20261123, 20261129), 4);

    CHECK_INT (rb_calendar_set_weekdays (calendar, 0, &refusal), RB_EINVALID);
    CHECK_REFUSAL (&refusal, RB_EINVALID, "weekdays");
    CHECK_INT (rb_calendar_set_weekdays (calendar, 0x80, &refusal), RB_EINVALID);
    CHECK_REFUSAL (&refusal, RB_EINVALID, "weekdays");
    CHECK_INT (rb_calendar_set_weekdays (calendar, 0x80, NULL), RB_EINVALID);
    CHECK_UINT (rb_calendar_weekdays (calendar), RB_CALENDAR_MON_FRI & ~RB_CALENDAR_WEDNESDAY);

    rb_calendar_destroy (&calendar);
    CHECK (calendar == NULL);
    rb_calendar_destroy (&calendar);                            //  idempotent
}

static void
s_test_holidays (void)
{
    rb_test_section ("a holiday is a range of days off, both ends included");
    rb_calendar_t *calendar = rb_calendar_new ();
    rb_refusal_t refusal;
    rb_refusal_clear (&refusal);
    CHECK_INT (rb_calendar_add_holiday (calendar, 20261221, 20270101, &refusal), RB_OK);
    CHECK_INT (rb_calendar_add_holiday (calendar, 20270406, 20270406, &refusal), RB_OK);   //  one day
    CHECK_UINT (rb_calendar_holiday_count (calendar), 2);
    CHECK (rb_calendar_is_school_day (calendar, 20261218));     //  Friday before
    CHECK (!rb_calendar_is_school_day (calendar, 20261221));    //  first day
    CHECK (!rb_calendar_is_school_day (calendar, 20261224));
    CHECK (!rb_calendar_is_school_day (calendar, 20270101));    //  last day
    CHECK (rb_calendar_is_school_day (calendar, 20270104));     //  Monday after
    CHECK (!rb_calendar_is_school_day (calendar, 20270406));
    CHECK (rb_calendar_is_school_day (calendar, 20270405));
    CHECK (rb_calendar_is_school_day (calendar, 20270407));

    rb_test_section ("counting school days skips weekends and holidays");
    //  Two school weeks around the Christmas holiday.
    CHECK_INT (rb_calendar_school_days_between (calendar, 20261214, 20270108), 10);
    CHECK_INT (rb_calendar_school_days_between (calendar, 20261123, 20261123), 1);
    CHECK_INT (rb_calendar_school_days_between (calendar, 20261128, 20261129), 0);
    CHECK_INT (rb_calendar_school_days_between (calendar, 20261221, 20270103), 0);
    CHECK_INT (rb_calendar_school_days_between (calendar, 20261124, 20261123), 0);   //  from > to
    CHECK_INT (rb_calendar_school_days_between (calendar, 20261131, 20261201), 0);   //  invalid
    //  2026 has 52 weeks and a Thursday: 261 weekdays, less the 9 of the
    //  Christmas holiday that fall in 2026.
    CHECK_INT (rb_calendar_school_days_between (calendar, 20260101, 20261231), 261 - 9);

    rb_test_section ("next and previous school day step over weekends and holidays");
    CHECK_INT (rb_calendar_next_school_day (calendar, 20261123), 20261124);
    CHECK_INT (rb_calendar_next_school_day (calendar, 20261127), 20261130);  //  Friday -> Monday
    CHECK_INT (rb_calendar_next_school_day (calendar, 20261218), 20270104);  //  over Christmas
    CHECK_INT (rb_calendar_previous_school_day (calendar, 20270104), 20261218);
    CHECK_INT (rb_calendar_previous_school_day (calendar, 20261130), 20261127);
    CHECK_INT (rb_calendar_previous_school_day (calendar, 20261129), 20261127); //  from a Sunday
    CHECK_INT (rb_calendar_next_school_day (calendar, 21001231), 0);         //  end of range
    CHECK_INT (rb_calendar_previous_school_day (calendar, 20000103), 0);     //  Monday 3 Jan 2000
    CHECK_INT (rb_calendar_next_school_day (calendar, 20261131), 0);

    rb_test_section ("a bad holiday is refused naming its end");
    CHECK_INT (rb_calendar_add_holiday (calendar, 20261131, 20261201, &refusal), RB_EINVALID);
    CHECK_REFUSAL (&refusal, RB_EINVALID, "holiday.from");
    CHECK_INT (rb_calendar_add_holiday (calendar, 20261201, 20260230, &refusal), RB_EINVALID);
    CHECK_REFUSAL (&refusal, RB_EINVALID, "holiday.to");
    CHECK_INT (rb_calendar_add_holiday (calendar, 20261201, 20261130, &refusal), RB_EINVALID);
    CHECK_REFUSAL (&refusal, RB_EINVALID, "holiday.to");
    CHECK (strstr (refusal.message, "before"));
    CHECK_UINT (rb_calendar_holiday_count (calendar), 2);

    rb_test_section ("a calendar holds a bounded number of holidays");
    for (int i = 2; i < RB_CALENDAR_HOLIDAYS_MAX; i++)
        CHECK_INT (rb_calendar_add_holiday (calendar, 20300101, 20300102, &refusal), RB_OK);
    CHECK_INT (rb_calendar_add_holiday (calendar, 20300101, 20300102, &refusal), RB_ETOOLARGE);
    CHECK_REFUSAL (&refusal, RB_ETOOLARGE, "holiday");
    CHECK_INT (rb_calendar_parse_holidays (calendar, "20300105", &refusal), RB_ETOOLARGE);
    CHECK_REFUSAL (&refusal, RB_ETOOLARGE, "holidays[0]");
    CHECK_UINT (rb_calendar_holiday_count (calendar), RB_CALENDAR_HOLIDAYS_MAX);
    rb_calendar_destroy (&calendar);
}

static void
s_test_parse (void)
{
    rb_test_section ("holidays from configuration text");
    rb_calendar_t *calendar = rb_calendar_new ();
    rb_refusal_t refusal;
    rb_refusal_clear (&refusal);
    CHECK_INT (rb_calendar_parse_holidays (calendar, "20261221-20270101,20270215-20270219", &refusal), RB_OK);
    CHECK_UINT (rb_calendar_holiday_count (calendar), 2);
    CHECK (!rb_calendar_is_school_day (calendar, 20261228));
    CHECK (!rb_calendar_is_school_day (calendar, 20270219));
    CHECK (rb_calendar_is_school_day (calendar, 20270222));

    //  Spaces around items and dashes, and single days.
    CHECK_INT (rb_calendar_parse_holidays (calendar, "  20270406 , 20270427,20270505 - 20270506 ", &refusal), RB_OK);
    CHECK_UINT (rb_calendar_holiday_count (calendar), 5);
    CHECK (!rb_calendar_is_school_day (calendar, 20270406));
    CHECK (!rb_calendar_is_school_day (calendar, 20270427));
    CHECK (!rb_calendar_is_school_day (calendar, 20270506));
    CHECK (rb_calendar_is_school_day (calendar, 20270507));

    //  Empty text adds nothing.
    CHECK_INT (rb_calendar_parse_holidays (calendar, "", &refusal), RB_OK);
    CHECK_INT (rb_calendar_parse_holidays (calendar, "   ", &refusal), RB_OK);
    CHECK_UINT (rb_calendar_holiday_count (calendar), 5);

    rb_test_section ("a bad item is refused by its place, and nothing is added");
    static const struct {
        const char *text;
        const char *field;
    } bad [] = {
        { "20261221-20270101,2027021-20270219", "holidays[1]" },   //  seven digits
        { "20261221-20270101,20270215-2027021", "holidays[1]" },
        { "20261221-20270101,20270215-202702190", "holidays[1]" }, //  nine digits
        { "20261221-20270101,20270215--20270219", "holidays[1]" },
        { "20261221-20270101,20270215 20270219", "holidays[1]" },   //  no dash
        { "20261221x", "holidays[0]" },
        { "christmas", "holidays[0]" },
        { "20261221-20270101,,20270406", "holidays[1]" },           //  empty item
        { "20261221-20270101,", "holidays[1]" },                    //  trailing comma
        { ",20261221", "holidays[0]" },
        { "20270406,20270230", "holidays[1]" },                     //  no such date
        { "20270406,20270219-20270215", "holidays[1]" },            //  ends before it starts
        { "20270406,20270406,19991231", "holidays[2]" },            //  out of range
        { "-20270406", "holidays[0]" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        rb_refusal_clear (&refusal);
        CHECK_INT (rb_calendar_parse_holidays (calendar, bad [i].text, &refusal), RB_EINVALID);
        CHECK_REFUSAL (&refusal, RB_EINVALID, bad [i].field);
        CHECK_UINT (rb_calendar_holiday_count (calendar), 5);
    }
    //  The message quotes the item.
    rb_calendar_parse_holidays (calendar, "20261221-20270101, christmas ", &refusal);
    CHECK (strstr (refusal.message, "\"christmas\""));
    rb_calendar_parse_holidays (calendar, "20270406,20270230", &refusal);
    CHECK (strstr (refusal.message, "20270230"));
    CHECK_INT (rb_calendar_parse_holidays (calendar, NULL, &refusal), RB_EMISSING);
    CHECK_REFUSAL (&refusal, RB_EMISSING, "holidays");
    rb_calendar_destroy (&calendar);
}

static void
s_test_date_at (void)
{
    rb_test_section ("an instant's date is the local date where the node runs, and back");
    //  2026-11-22 23:30 UTC is already the 23rd in Amsterdam (UTC+1), and
    //  2026-06-30 22:30 UTC is 1 July there (UTC+2, summer time).
    setenv ("TZ", "Europe/Amsterdam", 1);
    tzset ();
    CHECK_INT (rb_calendar_date_at (1795390200000LL), 20261123);
    CHECK_INT (rb_calendar_date_at (1782858600000LL), 20260701);
    setenv ("TZ", "UTC", 1);
    tzset ();
    CHECK_INT (rb_calendar_date_at (1795390200000LL), 20261122);
    CHECK_INT (rb_calendar_date_at (1782858600000LL), 20260630);
    CHECK_INT (rb_calendar_date_at (0), 0);                 //  1970: outside the range
    CHECK_INT (rb_calendar_date_at (946684800000LL), 20000101);
    CHECK_INT (rb_calendar_day_start_ms (20000101), 946684800000LL);
    CHECK_INT (rb_calendar_day_start_ms (20000230), 0);
    setenv ("TZ", "Europe/Amsterdam", 1);
    tzset ();
    //  A day starts at local midnight: 23:00 UTC in winter, 22:00 in summer.
    CHECK_INT (rb_calendar_day_start_ms (20261123), 1795388400000LL);
    CHECK_INT (rb_calendar_day_start_ms (20260701), 1782856800000LL);
    CHECK_INT (rb_calendar_date_at (rb_calendar_day_start_ms (20261123)), 20261123);
    unsetenv ("TZ");
    tzset ();
}

int
main (void)
{
    rb_test_begin ("calendar");
    s_test_dates ();
    s_test_week ();
    s_test_holidays ();
    s_test_parse ();
    s_test_date_at ();
    return rb_test_end ();
}
