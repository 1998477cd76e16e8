/*  rb_config: schema-checked node configuration; see rb_config.h.
 *
 *  The schema is a table: one row per key, with where it lands in
 *  rb_config_t, whether it is required and its range. Loading reads the ZPL
 *  tree with zconfig, applies the overrides onto that tree, fills defaults,
 *  then walks every item so that nothing unknown slips through.
 */
#include "rb_config.h"
#include <czmq.h>
#include "rb_log.h"
#include "rb_perms.h"
#include <stddef.h>

typedef enum { S_TEXT, S_UINT, S_BOOL_TEST_CLOCK } s_type_t;

typedef struct {
    const char *section;
    const char *key;
    s_type_t type;
    size_t offset;          //  into rb_config_t
    size_t size;            //  for text: buffer size
    bool required;
    const char *fallback;   //  default value as text, NULL when required
    uint64_t min, max;      //  for numbers
} s_key_t;

#define TEXT(sec, k, field, req, def) \
    { sec, k, S_TEXT, offsetof (rb_config_t, field), sizeof (((rb_config_t *) 0)->field), req, def, 0, 0 }
#define UINT(sec, k, field, def, lo, hi) \
    { sec, k, S_UINT, offsetof (rb_config_t, field), 0, false, def, lo, hi }

static const s_key_t s_schema [] = {
    TEXT ("node", "name", name, true, NULL),
    TEXT ("node", "role", role, false, "node"),
    TEXT ("node", "data_dir", data_dir, true, NULL),
    TEXT ("node", "bind", bind, true, NULL),
    TEXT ("node", "cert", cert, true, NULL),
    TEXT ("node", "next_cert", next_cert, false, ""),
    UINT ("node", "map_size_mb", map_size_mb, "1024", 1, 1048576),
    TEXT ("node", "log_level", log_level, false, "info"),
    { "node", "clock", S_BOOL_TEST_CLOCK, offsetof (rb_config_t, test_clock), 0, false, "wall", 0, 0 },
    TEXT ("node", "capture_file", capture_file, false, ""),
    TEXT ("api", "endpoint", api_endpoint, true, NULL),
    TEXT ("api", "clients_dir", api_clients_dir, false, ""),
    UINT ("limits", "max_frame_bytes", max_frame_bytes, "4194304", 16384, 268435456),
    UINT ("limits", "max_batch_events", max_batch_events, "10000", 1, 1000000),
    UINT ("limits", "max_payload_bytes", max_payload_bytes, "65536", 0, 16777216),
    UINT ("limits", "peer_rate", peer_rate, "50000", 0, 100000000),
    UINT ("limits", "peer_burst", peer_burst, "100000", 1, 100000000),
    UINT ("link", "window", window, "8192", 1, 1000000),
    UINT ("link", "batch_events", batch_events, "512", 1, 100000),
    UINT ("link", "heartbeat_ms", heartbeat_ms, "500", 10, 3600000),
    UINT ("link", "peer_timeout_ms", peer_timeout_ms, "3000", 30, 86400000),
    UINT ("link", "retransmit_ms", retransmit_ms, "2000", 10, 3600000),
    UINT ("link", "ack_stage_ms", ack_stage_ms, "100", 1, 60000),
};
#define S_SCHEMA_SIZE (sizeof s_schema / sizeof s_schema [0])

//  The daemons' own sections and the role that may have each.
static const struct { const char *section, *role; } s_role_sections [] = {
    { "school", "school" }, { "rules", "school" }, { "homes", "school" },
    { "region", "school" }, { "region", "care" }, { "region", "portal" },
    { "homes", "care" }, { "homes", "portal" },
    { "municipality", "municipality" }, { "policy", "municipality" },
    { "care", "care" }, { "portal", "portal" },
};
#define S_ROLE_SECTIONS (sizeof s_role_sections / sizeof s_role_sections [0])

static bool
s_role_section (const char *section, const char *role)
{
    for (size_t i = 0; i < S_ROLE_SECTIONS; i++)
        if (streq (s_role_sections [i].section, section)
        && (!role || streq (s_role_sections [i].role, role)))
            return true;
    return false;
}

static const s_key_t *
s_lookup (const char *section, const char *key)
{
    for (size_t i = 0; i < S_SCHEMA_SIZE; i++)
        if (streq (s_schema [i].section, section) && streq (s_schema [i].key, key))
            return &s_schema [i];
    return NULL;
}

static bool
s_section_known (const char *section)
{
    if (streq (section, "peer") || s_role_section (section, NULL))
        return true;
    for (size_t i = 0; i < S_SCHEMA_SIZE; i++)
        if (streq (s_schema [i].section, section))
            return true;
    return false;
}

static rb_err_t
s_set (rb_config_t *self, const s_key_t *k, const char *value, rb_refusal_t *r)
{
    char field [96];
    snprintf (field, sizeof field, "%s/%s", k->section, k->key);
    char *dest = (char *) self + k->offset;
    if (k->type == S_TEXT) {
        if (strlen (value) >= k->size)
            return rb_refuse (r, RB_ETOOLARGE, field, "config: %s is longer than %zu characters", field, k->size - 1);
        strcpy (dest, value);
    }
    else
    if (k->type == S_UINT) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull (value, &end, 10);
        if (!*value || *end || errno || *value == '-' || v < k->min || v > k->max)
            return rb_refuse (r, RB_EINVALID, field, "config: %s must be a whole number from %llu to %llu, not '%s'",
                              field, (unsigned long long) k->min, (unsigned long long) k->max, value);
        *(uint64_t *) dest = v;
    }
    else {
        if (!streq (value, "wall") && !streq (value, "test"))
            return rb_refuse (r, RB_EINVALID, field, "config: %s must be 'wall' or 'test', not '%s'", field, value);
        *(bool *) dest = streq (value, "test");
    }
    return RB_OK;
}

static rb_err_t
s_load_peer (rb_config_t *self, zconfig_t *peer, rb_refusal_t *r)
{
    const char *name = zconfig_name (peer);
    if (!rb_config_name_valid (name))
        return rb_refuse (r, RB_EINVALID, "peer", "config: peer name '%s' must be 1-63 of [a-z0-9-]", name);
    if (rb_config_peer (self, name) || streq (name, self->name))
        return rb_refuse (r, RB_EINVALID, "peer", "config: peer '%s' is listed twice or is this node", name);
    if (self->peer_count == RB_MAX_PEERS)
        return rb_refuse (r, RB_ETOOLARGE, "peer", "config: more than %d peers", RB_MAX_PEERS);
    rb_peer_config_t *p = &self->peers [self->peer_count];
    memset (p, 0, sizeof *p);
    snprintf (p->name, sizeof p->name, "%s", name);
    for (zconfig_t *item = zconfig_child (peer); item; item = zconfig_next (item)) {
        const char *key = zconfig_name (item);
        const char *value = zconfig_value (item)? zconfig_value (item): "";
        char field [96];
        snprintf (field, sizeof field, "peer/%s/%s", name, key);
        if (streq (key, "endpoint")) {
            if (strlen (value) >= sizeof p->endpoint || strncmp (value, "tcp://", 6) != 0)
                return rb_refuse (r, RB_EINVALID, field, "config: %s must be a tcp:// endpoint", field);
            strcpy (p->endpoint, value);
        }
        else
        if (streq (key, "public_key") || streq (key, "next_public_key")) {
            uint8_t raw [32];
            if (strlen (value) != 40 || !zmq_z85_decode (raw, value))
                return rb_refuse (r, RB_EINVALID, field, "config: %s must be a 40-character Z85 CURVE key", field);
            strcpy (streq (key, "public_key")? p->public_key: p->next_public_key, value);
        }
        else
        if (streq (key, "revoked")) {
            if (!streq (value, "true") && !streq (value, "false"))
                return rb_refuse (r, RB_EINVALID, field, "config: %s must be true or false, not '%s'", field, value);
            p->revoked = streq (value, "true");
        }
        else
        if (streq (key, "role")) {
            if (!rb_perms_role_valid (value))
                return rb_refuse (r, RB_EINVALID, field, "config: %s must be node, school, municipality, care or portal", field);
            strcpy (p->role, value);
        }
        else
            return rb_refuse (r, RB_EINVALID, field, "config: unknown key '%s'", field);
    }
    char field [96];
    if (!*p->endpoint) {
        snprintf (field, sizeof field, "peer/%s/endpoint", name);
        return rb_refuse (r, RB_EMISSING, field, "config: missing key '%s'", field);
    }
    if (!*p->public_key) {
        snprintf (field, sizeof field, "peer/%s/public_key", name);
        return rb_refuse (r, RB_EMISSING, field, "config: missing key '%s'", field);
    }
    if (streq (p->next_public_key, p->public_key)) {
        snprintf (field, sizeof field, "peer/%s/next_public_key", name);
        return rb_refuse (r, RB_EINVALID, field, "config: %s is the same key as public_key", field);
    }
    //  What a peer may send follows from its role, which only this file
    //  says: an agency daemon must be told; a bare node takes a bare peer.
    if (!*p->role && !streq (self->role, "node")) {
        snprintf (field, sizeof field, "peer/%s/role", name);
        return rb_refuse (r, RB_EMISSING, field, "config: missing key '%s'", field);
    }
    if (!*p->role)
        strcpy (p->role, "node");
    self->peer_count++;
    return RB_OK;
}

static rb_err_t
s_walk (rb_config_t *self, zconfig_t *root, rb_refusal_t *r)
{
    //  Keys first, peers after, so peers can be checked against node/name.
    for (zconfig_t *section = zconfig_child (root); section; section = zconfig_next (section)) {
        const char *sname = zconfig_name (section);
        if (!s_section_known (sname))
            return rb_refuse (r, RB_EINVALID, sname, "config: unknown section '%s'", sname);
        if (streq (sname, "peer") || s_role_section (sname, NULL))
            continue;
        for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
            const s_key_t *k = s_lookup (sname, zconfig_name (item));
            char field [96];
            snprintf (field, sizeof field, "%s/%s", sname, zconfig_name (item));
            if (!k || zconfig_child (item))
                return rb_refuse (r, RB_EINVALID, field, "config: unknown key '%s'", field);
            if (s_set (self, k, zconfig_value (item)? zconfig_value (item): "", r))
                return r->code;
        }
    }
    for (size_t i = 0; i < S_SCHEMA_SIZE; i++) {
        const s_key_t *k = &s_schema [i];
        char path [96];
        snprintf (path, sizeof path, "%s/%s", k->section, k->key);
        const char *value = zconfig_get (root, path, NULL);
        if (k->required && (!value || !*value))
            return rb_refuse (r, RB_EMISSING, path, "config: missing key '%s'", path);
    }
    for (zconfig_t *section = zconfig_child (root); section; section = zconfig_next (section)) {
        const char *sname = zconfig_name (section);
        if (s_role_section (sname, NULL) && !s_role_section (sname, self->role))
            return rb_refuse (r, RB_EINVALID, sname, "config: section '%s' is not for a node of role '%s'",
                              sname, self->role);
    }
    for (zconfig_t *section = zconfig_child (root); section; section = zconfig_next (section))
        if (streq (zconfig_name (section), "peer"))
            for (zconfig_t *peer = zconfig_child (section); peer; peer = zconfig_next (peer))
                if (s_load_peer (self, peer, r))
                    return r->code;
    return RB_OK;
}

static rb_err_t
s_check (rb_config_t *self, rb_refusal_t *r)
{
    if (!rb_config_name_valid (self->name))
        return rb_refuse (r, RB_EINVALID, "node/name", "config: node/name '%s' must be 1-63 of [a-z0-9-]", self->name);
    if (!rb_perms_role_valid (self->role))
        return rb_refuse (r, RB_EINVALID, "node/role", "config: node/role must be node, school, municipality, care or portal, not '%s'", self->role);
    //  What crosses the links is plaintext here: for tests only.
    if (*self->capture_file && !self->test_clock)
        return rb_refuse (r, RB_EINVALID, "node/capture_file", "config: node/capture_file needs node/clock = test");
    if (rb_log_level_parse (self->log_level) < 0)
        return rb_refuse (r, RB_EINVALID, "node/log_level", "config: node/log_level must be error, warn, info or debug");
    if (strncmp (self->bind, "tcp://", 6) != 0)
        return rb_refuse (r, RB_EINVALID, "node/bind", "config: node/bind must be a tcp:// endpoint");
    if (strncmp (self->api_endpoint, "ipc://", 6) != 0 && strncmp (self->api_endpoint, "tcp://", 6) != 0)
        return rb_refuse (r, RB_EINVALID, "api/endpoint", "config: api/endpoint must be ipc:// or tcp://");
    if (strncmp (self->api_endpoint, "tcp://", 6) == 0 && !*self->api_clients_dir)
        return rb_refuse (r, RB_EMISSING, "api/clients_dir", "config: a tcp:// api/endpoint needs api/clients_dir (CURVE client allowlist)");
    //  An envelope must fit in a batch frame a peer with the same limits
    //  accepts, or its stream would stall on it.
    if (self->max_payload_bytes + 4096 > self->max_frame_bytes / 2)
        return rb_refuse (r, RB_EINVALID, "limits/max_payload_bytes",
                          "config: limits/max_payload_bytes plus 4096 must fit in half of limits/max_frame_bytes");
    if (self->batch_events > self->window)
        return rb_refuse (r, RB_EINVALID, "link/batch_events", "config: link/batch_events must not exceed link/window");
    return RB_OK;
}

rb_config_t *
rb_config_load (const char *path, const char **overrides, int override_count, rb_refusal_t *r)
{
    rb_refusal_clear (r);
    zconfig_t *root = path? zconfig_load (path): zconfig_new ("root", NULL);
    if (!root) {
        rb_refuse (r, RB_EINVALID, "config", "config: cannot read or parse '%s'", path);
        return NULL;
    }
    for (int i = 0; i < override_count; i++) {
        char key [128];
        const char *eq = strchr (overrides [i], '=');
        if (!eq || eq == overrides [i] || (size_t) (eq - overrides [i]) >= sizeof key) {
            rb_refuse (r, RB_EINVALID, overrides [i], "config: override '%s' must read section/key=value", overrides [i]);
            zconfig_destroy (&root);
            return NULL;
        }
        snprintf (key, sizeof key, "%.*s", (int) (eq - overrides [i]), overrides [i]);
        zconfig_put (root, key, eq + 1);
    }
    rb_config_t *self = calloc (1, sizeof *self);
    if (!self) {
        zconfig_destroy (&root);
        rb_refuse (r, RB_EINTERNAL, NULL, "config: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < S_SCHEMA_SIZE; i++)
        if (s_schema [i].fallback)
            s_set (self, &s_schema [i], s_schema [i].fallback, r);
    if (s_walk (self, root, r) || s_check (self, r)) {
        rb_config_destroy (&self);
        zconfig_destroy (&root);
    }
    else
        self->tree = root;
    return self;
}

void
rb_config_destroy (rb_config_t **self_p)
{
    if (self_p && *self_p) {
        zconfig_t *tree = (*self_p)->tree;
        zconfig_destroy (&tree);
        free (*self_p);
        *self_p = NULL;
    }
}

const rb_peer_config_t *
rb_config_peer (const rb_config_t *self, const char *name)
{
    for (int i = 0; i < self->peer_count; i++)
        if (streq (self->peers [i].name, name))
            return &self->peers [i];
    return NULL;
}

bool
rb_config_name_valid (const char *name)
{
    size_t len = name? strlen (name): 0;
    if (len == 0 || len > RB_NAME_MAX || name [0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((name [i] >= 'a' && name [i] <= 'z') || (name [i] >= '0' && name [i] <= '9') || name [i] == '-'))
            return false;
    return true;
}

// ---------------------------------------------------------------------------
//  Live reload

//  The keys a reload may change; everything else takes a restart.
static bool
s_reloadable (const s_key_t *k)
{
    return streq (k->section, "node")
        && (streq (k->key, "cert") || streq (k->key, "next_cert") || streq (k->key, "log_level"));
}

static bool
s_same_value (const rb_config_t *a, const rb_config_t *b, const s_key_t *k)
{
    const char *va = (const char *) a + k->offset, *vb = (const char *) b + k->offset;
    if (k->type == S_TEXT)
        return streq (va, vb);
    if (k->type == S_UINT)
        return *(const uint64_t *) va == *(const uint64_t *) vb;
    return *(const bool *) va == *(const bool *) vb;
}

//  A daemon section's text, "" when absent; the caller frees it.
static char *
s_section_text (const rb_config_t *self, const char *section)
{
    zconfig_t *node = self->tree? zconfig_locate (self->tree, section): NULL;
    return node? zconfig_str_save (node): strdup ("");
}

//  A value in a daemon section that names a peer next no longer has.
static rb_err_t
s_check_removed_peers (const rb_config_t *running, const rb_config_t *next, const char *section,
                       rb_refusal_t *r)
{
    zconfig_t *node = next->tree? zconfig_locate (next->tree, section): NULL;
    for (zconfig_t *item = node? zconfig_child (node): NULL; item; item = zconfig_next (item)) {
        const char *value = zconfig_value (item);
        if (value && rb_config_peer (running, value) && !rb_config_peer (next, value))
            return rb_refuse (r, RB_EPRECONDITION, "peer", "config: %s/%s names peer '%s', which the new "
                              "config removes", section, zconfig_name (item), value);
    }
    return RB_OK;
}

rb_err_t
rb_config_check_reload (const rb_config_t *running, const rb_config_t *next, rb_refusal_t *r)
{
    for (size_t i = 0; i < S_SCHEMA_SIZE; i++) {
        const s_key_t *k = &s_schema [i];
        if (s_reloadable (k) || s_same_value (running, next, k))
            continue;
        char field [96];
        snprintf (field, sizeof field, "%s/%s", k->section, k->key);
        return rb_refuse (r, RB_EPRECONDITION, field, "config: %s changed; it takes a restart "
                          "(a reload applies peers, keys and the log level)", field);
    }
    for (size_t i = 0; i < S_ROLE_SECTIONS; i++) {
        const char *section = s_role_sections [i].section;
        char *before = s_section_text (running, section), *after = s_section_text (next, section);
        bool same = before && after && streq (before, after);
        free (before);
        free (after);
        if (!same)
            return rb_refuse (r, RB_EPRECONDITION, section, "config: section '%s' changed; it takes "
                              "a restart", section);
        if (s_check_removed_peers (running, next, section, r))
            return r->code;
    }
    return RB_OK;
}

void
rb_config_apply_reload (rb_config_t *running, const rb_config_t *next)
{
    strcpy (running->cert, next->cert);
    strcpy (running->next_cert, next->next_cert);
    strcpy (running->log_level, next->log_level);
    memcpy (running->peers, next->peers, sizeof running->peers);
    running->peer_count = next->peer_count;
}

// ---------------------------------------------------------------------------
//  The daemons' own sections

static const rb_config_item_t *
s_item (const rb_config_item_t *items, size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++)
        if (streq (items [i].key, key))
            return &items [i];
    return NULL;
}

static rb_err_t
s_item_set (const rb_config_item_t *item, const char *field, const char *value, rb_refusal_t *r)
{
    if (item->type == RB_CONFIG_TEXT) {
        if (strlen (value) >= item->size)
            return rb_refuse (r, RB_ETOOLARGE, field, "config: %s is longer than %zu characters",
                              field, item->size - 1);
        strcpy (item->dest, value);
        return RB_OK;
    }
    if (item->type == RB_CONFIG_BOOL) {
        bool yes = streq (value, "true") || streq (value, "yes") || streq (value, "1");
        bool no = streq (value, "false") || streq (value, "no") || streq (value, "0");
        if (!yes && !no)
            return rb_refuse (r, RB_EINVALID, field, "config: %s must be true or false, not '%s'", field, value);
        *(bool *) item->dest = yes;
        return RB_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull (value, &end, 10);
    if (!*value || *end || errno || *value == '-' || v < item->min || v > item->max)
        return rb_refuse (r, RB_EINVALID, field, "config: %s must be a whole number from %llu to %llu, not '%s'",
                          field, (unsigned long long) item->min, (unsigned long long) item->max, value);
    *(uint64_t *) item->dest = v;
    return RB_OK;
}

rb_err_t
rb_config_section (const rb_config_t *self, const char *section, const rb_config_item_t *items,
                   size_t count, rb_refusal_t *r)
{
    zconfig_t *node = self->tree? zconfig_locate (self->tree, section): NULL;
    char field [96];
    for (zconfig_t *item = node? zconfig_child (node): NULL; item; item = zconfig_next (item)) {
        snprintf (field, sizeof field, "%s/%s", section, zconfig_name (item));
        const rb_config_item_t *k = s_item (items, count, zconfig_name (item));
        if (!k || zconfig_child (item))
            return rb_refuse (r, RB_EINVALID, field, "config: unknown key '%s'", field);
    }
    for (size_t i = 0; i < count; i++) {
        snprintf (field, sizeof field, "%s/%s", section, items [i].key);
        const char *value = node? zconfig_get (node, items [i].key, NULL): NULL;
        if (value && !*value)
            value = NULL;
        if (!value && items [i].required)
            return rb_refuse (r, RB_EMISSING, field, "config: missing key '%s'", field);
        if (!value)
            value = items [i].fallback;
        if (value && s_item_set (&items [i], field, value, r))
            return r->code;
    }
    return RB_OK;
}

rb_err_t
rb_config_pairs (const rb_config_t *self, const char *section, rb_config_pair_fn *fn, void *arg,
                 rb_refusal_t *r)
{
    zconfig_t *node = self->tree? zconfig_locate (self->tree, section): NULL;
    for (zconfig_t *item = node? zconfig_child (node): NULL; item; item = zconfig_next (item)) {
        char field [96];
        snprintf (field, sizeof field, "%s/%s", section, zconfig_name (item));
        if (zconfig_child (item))
            return rb_refuse (r, RB_EINVALID, field, "config: %s must be a key = value, not a section", field);
        rb_err_t rc = fn (zconfig_name (item), zconfig_value (item)? zconfig_value (item): "", arg, r);
        if (rc)
            return rc;
    }
    return RB_OK;
}
