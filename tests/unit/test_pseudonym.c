/*  Unit test of rb_pseudonym: case names from citizen numbers. */
#include "rb_pseudonym.h"
#include "rb_test.h"
#include <sys/stat.h>

static void
s_test_bsn (void)
{
    rb_test_section ("citizen numbers pass the 11-check or are refused");
    CHECK (rb_pseudonym_bsn_valid ("111222333"));
    CHECK (rb_pseudonym_bsn_valid ("123456782"));
    CHECK (!rb_pseudonym_bsn_valid ("123456789"));     //  fails the check
    CHECK (!rb_pseudonym_bsn_valid ("11122233"));      //  8 digits
    CHECK (!rb_pseudonym_bsn_valid ("1112223330"));    //  10 digits
    CHECK (!rb_pseudonym_bsn_valid ("11122233a"));
    CHECK (!rb_pseudonym_bsn_valid ("000000000"));
    CHECK (!rb_pseudonym_bsn_valid (""));
    CHECK (!rb_pseudonym_bsn_valid (NULL));
}

static void
s_test_known_answer (void)
{
    rb_test_section ("the pseudonym is keyed BLAKE2b-256, the same in any language");
    uint8_t key [RB_REGION_KEY_SIZE];
    for (int i = 0; i < RB_REGION_KEY_SIZE; i++)
        key [i] = (uint8_t) i;
    rb_pseudonym_t *p = rb_pseudonym_new (key);
    CHECK (p);
    char out [65];
    rb_refusal_t r = { 0 };
    CHECK_INT (rb_pseudonym_of (p, "111222333", out, &r), RB_OK);
    //  hashlib.blake2b(b"111222333", digest_size=32, key=bytes(range(32)))
    CHECK_STR (out, "4d6f699a35791f4deb7744c8606c99924b35c1e564c3e0328e8977b353b4189e");
    char again [65];
    CHECK_INT (rb_pseudonym_of (p, "111222333", again, &r), RB_OK);
    CHECK_STR (again, out);
    CHECK_INT (rb_pseudonym_of (p, "123456782", again, &r), RB_OK);
    CHECK (strcmp (again, out) != 0);
    CHECK_INT (rb_pseudonym_of (p, "123456789", again, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "bsn");
    rb_pseudonym_destroy (&p);
    CHECK (p == NULL);
    rb_pseudonym_destroy (&p);

    //  Another region's key gives another name.
    key [0] ^= 1;
    p = rb_pseudonym_new (key);
    CHECK_INT (rb_pseudonym_of (p, "111222333", again, &r), RB_OK);
    CHECK (strcmp (again, out) != 0);
    rb_pseudonym_destroy (&p);
}

static void
s_test_key_files (void)
{
    rb_test_section ("region key files: made once, private, loaded, refused when wrong");
    rb_refusal_t r = { 0 };
    CHECK_INT (rb_pseudonym_make_key ("region.key", &r), RB_OK);
    struct stat st;
    CHECK (stat ("region.key", &st) == 0);
    CHECK_INT (st.st_mode & 0777, 0600);
    CHECK_INT (rb_pseudonym_make_key ("region.key", &r), RB_EPRECONDITION);
    rb_pseudonym_t *a = rb_pseudonym_load ("region.key", "node/region_key", &r);
    rb_pseudonym_t *b = rb_pseudonym_load ("region.key", "node/region_key", &r);
    CHECK (a && b);
    char one [65], two [65];
    CHECK_INT (rb_pseudonym_of (a, "123456782", one, &r), RB_OK);
    CHECK_INT (rb_pseudonym_of (b, "123456782", two, &r), RB_OK);
    CHECK_STR (one, two);
    rb_pseudonym_destroy (&a);
    rb_pseudonym_destroy (&b);

    CHECK (rb_pseudonym_load ("missing.key", "node/region_key", &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/region_key");
    rb_test_write_file ("short.key", "abcdef\n");
    CHECK (rb_pseudonym_load ("short.key", "node/region_key", &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/region_key");
    rb_test_write_file ("nothex.key", "zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
    CHECK (rb_pseudonym_load ("nothex.key", "node/region_key", &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "node/region_key");
}

//  A portal node's config with the given region section, loaded.
static rb_config_t *
s_portal_config (const char *region)
{
    rb_test_write_file ("portal.cfg",
        "node\n    name = portal\n    role = portal\n    data_dir = data\n"
        "    bind = \"tcp://127.0.0.1:7601\"\n    cert = \"keys/portal.cert\"\n"
        "api\n    endpoint = \"ipc://portal.api\"\n%s", region);
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("portal.cfg", NULL, 0, &r);
    CHECK (config);
    return config;
}

static void
s_test_from_config (void)
{
    rb_test_section ("a daemon's region section names its key file");
    rb_refusal_t r = { 0 };
    CHECK_INT (rb_pseudonym_make_key ("region-2.key", &r), RB_OK);
    rb_config_t *config = s_portal_config ("region\n    key_file = region-2.key\n");
    rb_pseudonym_t *p = rb_pseudonym_from_config (config, &r);
    rb_pseudonym_t *q = rb_pseudonym_load ("region-2.key", "key", &r);
    CHECK (p && q);
    char one [65], two [65];
    CHECK_INT (rb_pseudonym_of (p, "111222333", one, &r), RB_OK);
    CHECK_INT (rb_pseudonym_of (q, "111222333", two, &r), RB_OK);
    CHECK_STR (one, two);
    rb_pseudonym_destroy (&p);
    rb_pseudonym_destroy (&q);
    rb_config_destroy (&config);

    const struct { const char *region; const char *field; } bad [] = {
        { "", "region/key_file" },
        { "region\n    key_file = missing.key\n", "region/key_file" },
        { "region\n    key_file = region-2.key\n    colour = blue\n", "region/colour" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        config = s_portal_config (bad [i].region);
        rb_refusal_clear (&r);
        CHECK (rb_pseudonym_from_config (config, &r) == NULL);
        CHECK_INT (r.code != RB_OK, 1);
        CHECK_STR (r.field, bad [i].field);
        rb_config_destroy (&config);
    }
}

int
main (void)
{
    rb_test_begin ("pseudonym");
    s_test_bsn ();
    s_test_known_answer ();
    s_test_key_files ();
    s_test_from_config ();
    return rb_test_end ();
}
