/*  rb_daemon: the shared main() of the daemons; see rb_daemon.h. */
#include "rb_daemon.h"
#include "rb_log.h"
#include <czmq.h>

static int
s_usage (const char *program)
{
    fprintf (stderr, "usage: %s -c CONFIG [--set section/key=value ...]\n", program);
    return 2;
}

int
rb_daemon_main (int argc, char *argv [], const char *program, const char *role,
                rb_daemon_setup_fn *setup, rb_daemon_teardown_fn *teardown)
{
    const char *path = NULL;
    const char **overrides = calloc (argc + 1, sizeof *overrides);
    int override_count = 0;
    bool usage = !overrides;
    for (int i = 1; i < argc && !usage; i++) {
        if ((streq (argv [i], "-c") || streq (argv [i], "--config")) && i + 1 < argc)
            path = argv [++i];
        else
        if (streq (argv [i], "--set") && i + 1 < argc)
            overrides [override_count++] = argv [++i];
        else
            usage = true;
    }
    if (usage || !path) {
        free (overrides);
        return s_usage (program);
    }
    rb_node_catch_stop ();
    zsys_init ();
    zsys_set_logstream (NULL);
    rb_refusal_t why;
    rb_config_t *config = rb_config_load (path, overrides, override_count, &why);
    if (!config) {
        free (overrides);
        fprintf (stderr, "%s: %s (%s)\n", program, why.message, why.field);
        return 2;
    }
    if (role && !streq (config->role, role)) {
        fprintf (stderr, "%s: config: node/role must be '%s' for this daemon, not '%s' (node/role)\n",
                 program, role, config->role);
        rb_config_destroy (&config);
        free (overrides);
        return 2;
    }
    rb_log_setup ((rb_log_level_t) rb_log_level_parse (config->log_level), config->name);
    //  The daemon reads its own sections and opens its tables before the
    //  node binds: a configuration error stops it before anyone can reach
    //  it, and is reported as such even when the port is taken.
    rb_node_t *node = rb_node_open (config, &why);
    if (node)           //  SIGHUP and the API's reload re-read the same file and flags
        rb_node_set_reload (node, config, path, overrides, override_count);
    free (overrides);
    if (!node) {
        rb_log_error ("msg=\"cannot start\" field=\"%s\" detail=\"%s\"", why.field, why.message);
        fprintf (stderr, "%s: %s (%s)\n", program, why.message, why.field);
        rb_config_destroy (&config);
        return 1;
    }
    void *state = NULL;
    int rc = 0;
    if (setup && setup (node, config, &state, &why)) {
        rb_log_error ("msg=\"cannot set up\" field=\"%s\" detail=\"%s\"", why.field, why.message);
        fprintf (stderr, "%s: %s (%s)\n", program, why.message, why.field);
        rc = why.code == RB_ESTORE || why.code == RB_EFULL? 1: 2;
    }
    else
    if (rb_node_bind (node, &why)) {
        rb_log_error ("msg=\"cannot start\" field=\"%s\" detail=\"%s\"", why.field, why.message);
        fprintf (stderr, "%s: %s (%s)\n", program, why.message, why.field);
        rc = 1;
    }
    else
        rb_node_run (node);
    if (teardown)
        teardown (&state);
    rb_node_destroy (&node);
    rb_config_destroy (&config);
    return rc;
}
