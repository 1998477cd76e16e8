/*  Unit test of rb_homes: from a child's home municipality to the node
 *  that holds its case. Each case is a `homes` section an operator could
 *  write, or a code a request could name.
 */
#include "rb_homes.h"
#include "rb_test.h"
#include <czmq.h>

static char s_key_a [41];           //  CURVE public keys of the peers
static char s_key_b [41];

//  Write a care node's config with peers mun-a and mun-b and the given
//  homes lines, and load it.
static rb_config_t *
s_config (const char *homes)
{
    rb_test_write_file ("care.cfg",
        "node\n"
        "    name = care-a\n"
        "    role = care\n"
        "    data_dir = \"data\"\n"
        "    bind = \"tcp://127.0.0.1:7501\"\n"
        "    cert = \"keys/care-a.cert\"\n"
        "api\n"
        "    endpoint = \"ipc://care-a.api\"\n"
        "peer\n"
        "    mun-a\n"
        "        endpoint = \"tcp://127.0.0.1:7201\"\n"
        "        public_key = \"%s\"\n"
        "        role = municipality\n"
        "    mun-b\n"
        "        endpoint = \"tcp://127.0.0.1:7202\"\n"
        "        public_key = \"%s\"\n"
        "        role = municipality\n"
        "%s",
        s_key_a, s_key_b, homes);
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("care.cfg", NULL, 0, &r);
    if (!config)
        printf ("  refused: %s (%s)\n", r.message, r.field);
    CHECK (config);
    return config;
}

static void
s_test_map (void)
{
    rb_test_section ("codes map to configured peers; an empty code takes the fallback");
    rb_config_t *config = s_config ("homes\n    0363 = mun-a\n    0518 = mun-b\n");
    rb_refusal_t r = { 0 };
    rb_homes_t *homes = rb_homes_new (config, "mun-a", "care/municipality", &r);
    CHECK (homes);
    CHECK_UINT (rb_homes_size (homes), 2);
    CHECK_STR (rb_homes_node (homes, "0363"), "mun-a");
    CHECK_STR (rb_homes_node (homes, "0518"), "mun-b");
    CHECK (rb_homes_node (homes, "0344") == NULL);
    CHECK (rb_homes_node (homes, NULL) == NULL);

    const char *node;
    CHECK_INT (rb_homes_resolve (homes, "0518", "involvement.home_municipality", &node, &r), RB_OK);
    CHECK_STR (node, "mun-b");
    CHECK_INT (rb_homes_resolve (homes, "", "involvement.home_municipality", &node, &r), RB_OK);
    CHECK_STR (node, "mun-a");
    CHECK_INT (rb_homes_resolve (homes, NULL, "involvement.home_municipality", &node, &r), RB_OK);
    CHECK_STR (node, "mun-a");

    rb_test_section ("a code the map does not name, or that is no code, is refused by field");
    CHECK_INT (rb_homes_resolve (homes, "0344", "involvement.home_municipality", &node, &r),
               RB_ENOTFOUND);
    CHECK_REFUSAL (&r, RB_ENOTFOUND, "involvement.home_municipality");
    CHECK (node == NULL);
    const char *malformed [] = { "363", "03630", "03a3", " 363", "mun-a" };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed [0]; i++) {
        CHECK_INT (rb_homes_resolve (homes, malformed [i], "parent_link.home_municipality", &node, &r),
                   RB_EINVALID);
        CHECK_REFUSAL (&r, RB_EINVALID, "parent_link.home_municipality");
    }
    rb_homes_destroy (&homes);
    CHECK (homes == NULL);
    rb_homes_destroy (&homes);

    rb_test_section ("without a fallback an empty code is missing");
    homes = rb_homes_new (config, NULL, NULL, &r);
    CHECK (homes);
    CHECK_INT (rb_homes_resolve (homes, "", "pupils[2].home_municipality", &node, &r), RB_EMISSING);
    CHECK_REFUSAL (&r, RB_EMISSING, "pupils[2].home_municipality");
    CHECK_INT (rb_homes_resolve (homes, "0363", "pupils[2].home_municipality", &node, &r), RB_OK);
    CHECK_STR (node, "mun-a");
    rb_homes_destroy (&homes);
    rb_config_destroy (&config);

    rb_test_section ("no homes section: an empty map, the fallback serves every request");
    config = s_config ("");
    homes = rb_homes_new (config, "mun-b", "portal/municipality", &r);
    CHECK (homes);
    CHECK_UINT (rb_homes_size (homes), 0);
    CHECK_INT (rb_homes_resolve (homes, "", "parent_link.home_municipality", &node, &r), RB_OK);
    CHECK_STR (node, "mun-b");
    CHECK_INT (rb_homes_resolve (homes, "0363", "parent_link.home_municipality", &node, &r),
               RB_ENOTFOUND);
    rb_homes_destroy (&homes);
    rb_config_destroy (&config);
}

static void
s_test_bad_config (void)
{
    rb_test_section ("a bad homes section or fallback stops the node, naming the key");
    const struct { const char *homes; const char *fallback; rb_err_t code; const char *field; } bad [] = {
        { "homes\n    363 = mun-a\n", "mun-a", RB_EINVALID, "homes/363" },
        { "homes\n    0363 = mun-a\n    abcd = mun-b\n", "mun-a", RB_EINVALID, "homes/abcd" },
        { "homes\n    0363 = mun-c\n", "mun-a", RB_EINVALID, "homes/0363" },
        { "homes\n    0363\n        node = mun-a\n", "mun-a", RB_EINVALID, "homes/0363" },
        { "homes\n    0363 = mun-a\n", "mun-z", RB_EINVALID, "care/municipality" },
        { "homes\n    0363 = mun-a\n", "care-a", RB_EINVALID, "care/municipality" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        rb_config_t *config = s_config (bad [i].homes);
        rb_refusal_t r = { 0 };
        rb_homes_t *homes = rb_homes_new (config, bad [i].fallback, "care/municipality", &r);
        CHECK (homes == NULL);
        CHECK_REFUSAL (&r, bad [i].code, bad [i].field);
        rb_config_destroy (&config);
    }
}

int
main (void)
{
    rb_test_begin ("homes");
    zcert_t *a = zcert_new ();
    zcert_t *b = zcert_new ();
    snprintf (s_key_a, sizeof s_key_a, "%s", zcert_public_txt (a));
    snprintf (s_key_b, sizeof s_key_b, "%s", zcert_public_txt (b));
    zcert_destroy (&a);
    zcert_destroy (&b);
    s_test_map ();
    s_test_bad_config ();
    return rb_test_end ();
}
