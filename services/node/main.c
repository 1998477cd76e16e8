/*  regiebus-node: the bare runtime node.
 *
 *  Carries TEST events between peers and nothing else: what the agency
 *  daemons (regiebus-school, -municipality, -care, -portal) add on top of
 *  the runtime is their own event kinds and rules. Used by the demo, the
 *  runtime's integration tests and the benchmarks.
 *
 *  Usage: regiebus-node -c CONFIG [--set section/key=value ...]
 */
#include "rb_config.h"
#include "rb_log.h"
#include "rb_node.h"
#include <czmq.h>

static int
s_usage (void)
{
    fprintf (stderr, "usage: regiebus-node -c CONFIG [--set section/key=value ...]\n");
    return 2;
}

int
main (int argc, char *argv [])
{
    const char *path = NULL;
    const char **overrides = calloc (argc + 1, sizeof *overrides);
    int override_count = 0;
    for (int i = 1; i < argc; i++) {
        if ((streq (argv [i], "-c") || streq (argv [i], "--config")) && i + 1 < argc)
            path = argv [++i];
        else
        if (streq (argv [i], "--set") && i + 1 < argc)
            overrides [override_count++] = argv [++i];
        else {
            free (overrides);
            return s_usage ();
        }
    }
    if (!path) {
        free (overrides);
        return s_usage ();
    }
    zsys_init ();
    zsys_set_logstream (NULL);
    rb_refusal_t why;
    rb_config_t *config = rb_config_load (path, overrides, override_count, &why);
    free (overrides);
    if (!config) {
        fprintf (stderr, "regiebus-node: %s (%s)\n", why.message, why.field);
        return 2;
    }
    rb_log_setup ((rb_log_level_t) rb_log_level_parse (config->log_level), config->name);
    rb_node_t *node = rb_node_new (config, &why);
    if (!node) {
        rb_log_error ("msg=\"cannot start\" field=\"%s\" detail=\"%s\"", why.field, why.message);
        fprintf (stderr, "regiebus-node: %s (%s)\n", why.message, why.field);
        rb_config_destroy (&config);
        return 1;
    }
    rb_node_run (node);
    rb_node_destroy (&node);
    rb_config_destroy (&config);
    return 0;
}
