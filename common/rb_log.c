/*  rb_log: journald-friendly single-line logging; see rb_log.h. */
#include "rb_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static rb_log_level_t s_level = RB_LOG_INFO;
static char s_node [64] = "-";
static const char *s_names [] = { "error", "warn", "info", "debug" };

void
rb_log_setup (rb_log_level_t level, const char *node)
{
    s_level = level;
    snprintf (s_node, sizeof s_node, "%s", node? node: "-");
}

int
rb_log_level_parse (const char *text)
{
    for (int i = 0; i < 4; i++)
        if (text && strcmp (text, s_names [i]) == 0)
            return i;
    return -1;
}

void
rb_log (rb_log_level_t level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    char line [1024];
    int off = 0;
    if (!getenv ("JOURNAL_STREAM")) {
        struct timespec ts;
        clock_gettime (CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r (&ts.tv_sec, &tm);
        off = (int) strftime (line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        off += snprintf (line + off, sizeof line - off, ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    off += snprintf (line + off, sizeof line - off, "level=%s node=%s ", s_names [level], s_node);
    va_list args;
    va_start (args, fmt);
    if (off < (int) sizeof line)
        vsnprintf (line + off, sizeof line - off, fmt, args);
    va_end (args);
    //  One write per line so lines from several processes never interleave.
    fprintf (stderr, "%s\n", line);
}
