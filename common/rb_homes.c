/*  rb_homes: home municipality codes to nodes; see rb_homes.h.
 *
 *  The map is a zhashx of code -> node name, both owned copies, filled once
 *  at start from the configuration and only read afterwards.
 */
#include "rb_homes.h"
#include <czmq.h>

struct _rb_homes_t {
    zhashx_t *nodes;            //  code -> node name (owned strings)
    char *fallback;             //  node for requests naming no code, NULL: none
};

bool
rb_homes_code_valid (const char *code)
{
    if (!code || strlen (code) != 4)
        return false;
    for (int i = 0; i < 4; i++)
        if (code [i] < '0' || code [i] > '9')
            return false;
    return true;
}

//  What reading the section needs: the peers to check against, the map.
typedef struct {
    const rb_config_t *config;
    rb_homes_t *self;
} s_reading_t;

//  One `code = node` line of the section.
static rb_err_t
s_add_home (const char *code, const char *node, void *arg, rb_refusal_t *refusal)
{
    s_reading_t *reading = arg;
    char field [64];
    snprintf (field, sizeof field, "homes/%.40s", code);
    if (!rb_homes_code_valid (code))
        return rb_refuse (refusal, RB_EINVALID, field,
                          "config: %s: a municipality code is four digits (\"0363\")", field);
    if (!rb_config_peer (reading->config, node))
        return rb_refuse (refusal, RB_EINVALID, field, "config: %s: '%s' is not a configured peer",
                          field, node);
    zhashx_update (reading->self->nodes, code, (void *) node);
    return RB_OK;
}

rb_homes_t *
rb_homes_new (const rb_config_t *config, const char *fallback, const char *fallback_key,
              rb_refusal_t *refusal)
{
    if (fallback && !rb_config_peer (config, fallback)) {
        rb_refuse (refusal, RB_EINVALID, fallback_key, "config: %s: '%s' is not a configured peer",
                   fallback_key, fallback);
        return NULL;
    }
    rb_homes_t *self = calloc (1, sizeof *self);
    if (self)
        self->nodes = zhashx_new ();
    if (self && self->nodes) {
        zhashx_set_duplicator (self->nodes, (zhashx_duplicator_fn *) strdup);
        zhashx_set_destructor (self->nodes, (zhashx_destructor_fn *) zstr_free);
    }
    if (self && fallback)
        self->fallback = strdup (fallback);
    if (!self || !self->nodes || (fallback && !self->fallback)) {
        rb_refuse (refusal, RB_EINTERNAL, "homes", "out of memory");
        rb_homes_destroy (&self);
        return NULL;
    }
    s_reading_t reading = { config, self };
    if (rb_config_pairs (config, "homes", s_add_home, &reading, refusal))
        rb_homes_destroy (&self);
    return self;
}

void
rb_homes_destroy (rb_homes_t **self_p)
{
    rb_homes_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->nodes);
    free (self->fallback);
    free (self);
    *self_p = NULL;
}

const char *
rb_homes_node (rb_homes_t *self, const char *code)
{
    return code? zhashx_lookup (self->nodes, code): NULL;
}

size_t
rb_homes_size (rb_homes_t *self)
{
    return zhashx_size (self->nodes);
}

rb_err_t
rb_homes_resolve (rb_homes_t *self, const char *code, const char *field, const char **node,
                  rb_refusal_t *refusal)
{
    *node = NULL;
    if (!code || !*code) {
        if (!self->fallback)
            return rb_refuse (refusal, RB_EMISSING, field, "%s is missing", field);
        *node = self->fallback;
        return RB_OK;
    }
    if (!rb_homes_code_valid (code))
        return rb_refuse (refusal, RB_EINVALID, field, "%s must be a four-digit municipality code",
                          field);
    *node = rb_homes_node (self, code);
    if (!*node)
        return rb_refuse (refusal, RB_ENOTFOUND, field, "%s '%s' is not in this node's homes",
                          field, code);
    return RB_OK;
}
