/*  rb_log: one line per event on stderr, fit for journald.
 *
 *  Lines read `level=info node=school-a msg="peer up" peer=mun-a`: the
 *  caller writes the key=value tail. No timestamp is printed when stderr is
 *  the journal (JOURNAL_STREAM set), since journald stamps each line itself;
 *  otherwise an RFC 3339 UTC time leads. The level and node name are process
 *  wide: a daemon has one of each.
 */
#ifndef RB_LOG_H
#define RB_LOG_H

typedef enum { RB_LOG_ERROR = 0, RB_LOG_WARN, RB_LOG_INFO, RB_LOG_DEBUG } rb_log_level_t;

//  Set the minimum level printed and the node name put on every line.
void rb_log_setup (rb_log_level_t level, const char *node);

//  Parse "error", "warn", "info" or "debug"; returns -1 for anything else.
int rb_log_level_parse (const char *text);

//  Print one line if level is enabled. fmt is the key=value tail.
void rb_log (rb_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define rb_log_error(...) rb_log (RB_LOG_ERROR, __VA_ARGS__)
#define rb_log_warn(...)  rb_log (RB_LOG_WARN, __VA_ARGS__)
#define rb_log_info(...)  rb_log (RB_LOG_INFO, __VA_ARGS__)
#define rb_log_debug(...) rb_log (RB_LOG_DEBUG, __VA_ARGS__)

#endif
