/*  unit_config: loading a node's configuration (rb_config.h).
 *
 *  The file is ZPL: sections at column 0, keys indented by four spaces as
 *  `key = value`, one subsection per peer under `peer`. Values with
 *  characters ZPL treats specially (CURVE keys in Z85) are quoted. Flags
 *  override single keys as "section/key=value". Anything the schema does not
 *  know, anything missing and anything out of range is refused with the code
 *  and the key at fault, and no configuration is returned.
 *
 *  Most cases start from one valid file and change a single line of it.
 */
#include "rb_test.h"
#include <czmq.h>

static char s_key_mun [41];         //  CURVE public keys of the two peers
static char s_key_care [41];

//  The valid configuration every case starts from: a school's node that
//  talks to its municipality and to a care provider.
static void
s_valid_text (char *buf, size_t size)
{
    snprintf (buf, size,
        "#   school-a: the node of one school\n"
        "node\n"
        "    name = school-a\n"
        "    role = school\n"
        "    data_dir = \"data\"\n"
        "    bind = \"tcp://127.0.0.1:7101\"\n"
        "    cert = \"keys/school-a.cert\"\n"
        "api\n"
        "    endpoint = \"ipc://school-a.api\"\n"
        "peer\n"
        "    mun-a\n"
        "        endpoint = \"tcp://127.0.0.1:7201\"\n"
        "        public_key = \"%s\"\n"
        "        role = municipality\n"
        "    care-b\n"
        "        endpoint = \"tcp://127.0.0.1:7301\"\n"
        "        public_key = \"%s\"\n"
        "        role = care\n",
        s_key_mun, s_key_care);
}

//  Write the valid configuration to path with every line that starts with
//  `find` replaced by `replace` (NULL: the line is dropped). With find NULL,
//  replace is appended at the end.
static void
s_write_edited (const char *path, const char *find, const char *replace)
{
    char text [4096], out [4096] = "";
    s_valid_text (text, sizeof text);
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        const char *keep = line;
        if (find && strncmp (line, find, strlen (find)) == 0)
            keep = replace;
        if (keep) {
            strcat (out, keep);
            strcat (out, "\n");
        }
    }
    if (!find && replace) {
        strcat (out, replace);
        strcat (out, "\n");
    }
    rb_test_write_file (path, "%s", out);
}

//  Load the valid file edited as above and expect a refusal.
static void
s_expect_refused (const char *find, const char *replace, rb_err_t code, const char *field)
{
    s_write_edited ("edited.cfg", find, replace);
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("edited.cfg", NULL, 0, &r);
    if (config || r.code != code || strcmp (r.field, field) != 0)
        printf ("  edit: '%s' -> '%s'\n", find? find: "(append)", replace? replace: "(drop)");
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, code, field);
    CHECK (strlen (r.message) > 0);
}

//  Load the valid file with flags and expect a refusal.
static void
s_expect_flag_refused (const char *flag, rb_err_t code, const char *field)
{
    s_write_edited ("valid.cfg", NULL, NULL);
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("valid.cfg", &flag, 1, &r);
    if (config || r.code != code || strcmp (r.field, field) != 0)
        printf ("  flag: '%s'\n", flag);
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, code, field);
}

static void
s_test_valid (void)
{
    rb_test_section ("a valid file loads, with defaults for what it leaves out");
    s_write_edited ("valid.cfg", NULL, NULL);
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("valid.cfg", NULL, 0, &r);
    CHECK (config);
    CHECK_INT (r.code, RB_OK);
    CHECK_STR (config->name, "school-a");
    CHECK_STR (config->role, "school");
    CHECK_STR (config->data_dir, "data");
    CHECK_STR (config->bind, "tcp://127.0.0.1:7101");
    CHECK_STR (config->cert, "keys/school-a.cert");
    CHECK_STR (config->api_endpoint, "ipc://school-a.api");
    //  Defaults.
    CHECK_UINT (config->map_size_mb, 1024);
    CHECK_STR (config->log_level, "info");
    CHECK (!config->test_clock);
    CHECK_STR (config->api_clients_dir, "");
    CHECK_UINT (config->max_frame_bytes, 4194304);
    CHECK_UINT (config->max_batch_events, 10000);
    CHECK_UINT (config->max_payload_bytes, 65536);
    CHECK_UINT (config->window, 8192);
    CHECK_UINT (config->batch_events, 512);
    CHECK_UINT (config->heartbeat_ms, 500);
    CHECK_UINT (config->peer_timeout_ms, 3000);
    CHECK_UINT (config->peer_rate, 50000);
    CHECK_UINT (config->peer_burst, 100000);
    CHECK_UINT (config->retransmit_ms, 2000);
    //  Peers, in file order, and found by name.
    CHECK_INT (config->peer_count, 2);
    CHECK_STR (config->peers [0].name, "mun-a");
    CHECK_STR (config->peers [0].endpoint, "tcp://127.0.0.1:7201");
    CHECK_STR (config->peers [0].public_key, s_key_mun);
    CHECK_STR (config->peers [0].role, "municipality");
    CHECK_STR (config->peers [1].name, "care-b");
    CHECK_STR (config->peers [1].role, "care");
    const rb_peer_config_t *care = rb_config_peer (config, "care-b");
    CHECK (care == &config->peers [1]);
    CHECK_STR (care->public_key, s_key_care);
    CHECK (rb_config_peer (config, "mun-b") == NULL);
    CHECK (rb_config_peer (config, "school-a") == NULL);
    rb_config_destroy (&config);
    CHECK (config == NULL);
    rb_config_destroy (&config);        //  idempotent

    rb_test_section ("a file that sets every key");
    s_write_edited ("full.cfg", "    cert =",
        "    cert = \"keys/school-a.cert\"\n"
        "    map_size_mb = 64\n"
        "    log_level = debug\n"
        "    clock = test\n"
        "limits\n"
        "    max_frame_bytes = 1048576\n"
        "    max_batch_events = 500\n"
        "    max_payload_bytes = 0\n"
        "link\n"
        "    window = 1000\n"
        "    batch_events = 1000\n"
        "    heartbeat_ms = 250\n"
        "    peer_timeout_ms = 1500\n"
        "    retransmit_ms = 900");
    config = rb_config_load ("full.cfg", NULL, 0, &r);
    CHECK (config);
    CHECK_UINT (config->map_size_mb, 64);
    CHECK_STR (config->log_level, "debug");
    CHECK (config->test_clock);
    CHECK_UINT (config->max_frame_bytes, 1048576);
    CHECK_UINT (config->max_batch_events, 500);
    CHECK_UINT (config->max_payload_bytes, 0);
    CHECK_UINT (config->window, 1000);
    CHECK_UINT (config->batch_events, 1000);
    CHECK_UINT (config->heartbeat_ms, 250);
    CHECK_UINT (config->peer_timeout_ms, 1500);
    CHECK_UINT (config->retransmit_ms, 900);
    CHECK_INT (config->peer_count, 2);
    rb_config_destroy (&config);

    rb_test_section ("every role is accepted; clock = wall is the default spelled out");
    const char *roles [] = { "node", "school", "municipality", "care", "portal" };
    for (size_t i = 0; i < sizeof roles / sizeof roles [0]; i++) {
        char flag [64];
        snprintf (flag, sizeof flag, "node/role=%s", roles [i]);
        const char *flags [] = { flag, "node/clock=wall" };
        config = rb_config_load ("valid.cfg", flags, 2, &r);
        CHECK (config);
        CHECK_STR (config->role, roles [i]);
        CHECK (!config->test_clock);
        rb_config_destroy (&config);
    }
}

static void
s_test_unknown (void)
{
    rb_test_section ("unknown sections and keys are refused, naming them");
    s_expect_refused (NULL, "nodes\n    name = school-a", RB_EINVALID, "nodes");
    s_expect_refused ("    name = school-a", "    name = school-a\n    nmae = school-a",
                      RB_EINVALID, "node/nmae");
    s_expect_refused ("    endpoint = \"ipc:", "    endpoint = \"ipc://school-a.api\"\n    endpiont = x",
                      RB_EINVALID, "api/endpiont");
    //  A known key in the wrong section is unknown there.
    s_expect_refused ("    role = school", "    role = school\n    window = 10",
                      RB_EINVALID, "node/window");
    //  A key is a leaf: one with children is not a key the schema knows.
    s_expect_refused ("    role = school", "    role = school\n        deeper = 1",
                      RB_EINVALID, "node/role");
}

static void
s_test_missing (void)
{
    rb_test_section ("every required key is required");
    s_expect_refused ("    name =", NULL, RB_EMISSING, "node/name");
    s_expect_refused ("    data_dir =", NULL, RB_EMISSING, "node/data_dir");
    s_expect_refused ("    bind =", NULL, RB_EMISSING, "node/bind");
    s_expect_refused ("    cert =", NULL, RB_EMISSING, "node/cert");
    s_expect_refused ("    endpoint = \"ipc:", NULL, RB_EMISSING, "api/endpoint");
    //  An empty value is as good as missing.
    s_expect_refused ("    cert =", "    cert = \"\"", RB_EMISSING, "node/cert");
    s_expect_flag_refused ("node/name=", RB_EMISSING, "node/name");
}

static void
s_test_numbers (void)
{
    rb_test_section ("numbers out of range, negative or not numbers are refused");
    s_expect_refused ("    cert =", "    cert = \"keys/school-a.cert\"\n    map_size_mb = -1",
                      RB_EINVALID, "node/map_size_mb");
    s_expect_refused ("    cert =", "    cert = \"keys/school-a.cert\"\n    map_size_mb = lots",
                      RB_EINVALID, "node/map_size_mb");
    const char *bad [] = {
        "0", "1048577", "-1", "-0", "abc", "12abc", "1.5", "", "18446744073709551616"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        char flag [64];
        snprintf (flag, sizeof flag, "node/map_size_mb=%s", bad [i]);
        s_expect_flag_refused (flag, RB_EINVALID, "node/map_size_mb");
    }
    //  The refusal says what would have been acceptable.
    const char *flag = "node/map_size_mb=0";
    rb_refusal_t r;
    CHECK (rb_config_load ("valid.cfg", &flag, 1, &r) == NULL);
    CHECK (strstr (r.message, "1 to 1048576"));

    //  Each numeric key has its bounds; one step outside is refused.
    struct { const char *flag; const char *field; } outside [] = {
        { "limits/max_frame_bytes=16383", "limits/max_frame_bytes" },
        { "limits/max_frame_bytes=268435457", "limits/max_frame_bytes" },
        { "limits/max_batch_events=0", "limits/max_batch_events" },
        { "limits/max_batch_events=1000001", "limits/max_batch_events" },
        { "limits/max_payload_bytes=16777217", "limits/max_payload_bytes" },
        { "link/window=0", "link/window" },
        { "link/window=1000001", "link/window" },
        { "link/batch_events=0", "link/batch_events" },
        { "link/heartbeat_ms=9", "link/heartbeat_ms" },
        { "link/heartbeat_ms=3600001", "link/heartbeat_ms" },
        { "link/peer_timeout_ms=29", "link/peer_timeout_ms" },
        { "link/retransmit_ms=9", "link/retransmit_ms" },
    };
    for (size_t i = 0; i < sizeof outside / sizeof outside [0]; i++)
        s_expect_flag_refused (outside [i].flag, RB_EINVALID, outside [i].field);

    //  And the bounds themselves are inside.
    const char *edges [] = {
        "node/map_size_mb=1", "limits/max_frame_bytes=268435456", "limits/max_payload_bytes=16777216",
        "link/window=1000000", "link/batch_events=100000", "link/heartbeat_ms=10",
        "link/peer_timeout_ms=86400000", "link/retransmit_ms=3600000",
    };
    rb_config_t *config = rb_config_load ("valid.cfg", edges, 8, &r);
    CHECK (config);
    CHECK_UINT (config->map_size_mb, 1);
    CHECK_UINT (config->max_payload_bytes, 16777216);
    CHECK_UINT (config->batch_events, 100000);
    rb_config_destroy (&config);

    //  The smallest frame still carries an envelope with an empty payload;
    //  a payload that would not fit in half a frame is refused, because a
    //  peer with the same limits could never accept its batch.
    const char *small [] = { "limits/max_frame_bytes=16384", "limits/max_payload_bytes=0" };
    config = rb_config_load ("valid.cfg", small, 2, &r);
    CHECK (config);
    rb_config_destroy (&config);
    const char *unfit [] = { "limits/max_frame_bytes=16384", "limits/max_payload_bytes=4097" };
    CHECK (rb_config_load ("valid.cfg", unfit, 2, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "limits/max_payload_bytes");
}

static void
s_test_values (void)
{
    rb_test_section ("text values are checked too");
    s_expect_refused ("    role =", "    role = teacher", RB_EINVALID, "node/role");
    s_expect_flag_refused ("node/clock=fast", RB_EINVALID, "node/clock");
    s_expect_flag_refused ("node/clock=", RB_EINVALID, "node/clock");
    s_expect_flag_refused ("node/log_level=verbose", RB_EINVALID, "node/log_level");
    s_expect_refused ("    name =", "    name = School_A", RB_EINVALID, "node/name");
    s_expect_flag_refused ("node/bind=ipc://peers", RB_EINVALID, "node/bind");
    //  Frames in the clear are for tests only.
    s_expect_flag_refused ("node/capture_file=frames", RB_EINVALID, "node/capture_file");
    s_expect_flag_refused ("api/endpoint=inproc://api", RB_EINVALID, "api/endpoint");

    //  A value longer than its field is refused, not cut short.
    char flag [700] = "node/data_dir=";
    memset (flag + strlen (flag), 'd', 600);
    flag [sizeof flag - 1] = 0;
    s_expect_flag_refused (flag, RB_ETOOLARGE, "node/data_dir");

    rb_test_section ("clock = test makes an advanceable clock");
    const char *test_clock = "node/clock=test";
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("valid.cfg", &test_clock, 1, &r);
    CHECK (config && config->test_clock);
    rb_config_destroy (&config);
}

static void
s_test_overrides (void)
{
    rb_test_section ("flags override the file, key by key");
    s_write_edited ("valid.cfg", NULL, NULL);
    const char *flags [] = { "node/log_level=debug", "link/window=1000", "node/name=school-b" };
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("valid.cfg", flags, 3, &r);
    CHECK (config);
    CHECK_STR (config->log_level, "debug");
    CHECK_UINT (config->window, 1000);
    CHECK_STR (config->name, "school-b");
    CHECK_STR (config->role, "school");         //  untouched keys come from the file
    CHECK_INT (config->peer_count, 2);
    rb_config_destroy (&config);

    rb_test_section ("a configuration from flags alone, peers included");
    char peer_key [80];
    snprintf (peer_key, sizeof peer_key, "peer/mun-a/public_key=%s", s_key_mun);
    const char *only [] = {
        "node/name=school-a", "node/data_dir=data", "node/bind=tcp://127.0.0.1:7101",
        "node/cert=keys/school-a.cert", "api/endpoint=ipc://school-a.api",
        "peer/mun-a/endpoint=tcp://127.0.0.1:7201", peer_key,
    };
    config = rb_config_load (NULL, only, 7, &r);
    CHECK (config);
    CHECK_STR (config->name, "school-a");
    CHECK_INT (config->peer_count, 1);
    CHECK_STR (config->peers [0].public_key, s_key_mun);    //  '=' in a value is kept
    rb_config_destroy (&config);

    rb_test_section ("flags alone must still name every required key");
    config = rb_config_load (NULL, only, 4, &r);
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, RB_EMISSING, "api/endpoint");
    config = rb_config_load (NULL, NULL, 0, &r);
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, RB_EMISSING, "node/name");

    rb_test_section ("malformed flags are refused, naming the flag");
    s_expect_flag_refused ("node/log_level", RB_EINVALID, "node/log_level");
    s_expect_flag_refused ("=debug", RB_EINVALID, "=debug");
    s_expect_flag_refused ("", RB_EINVALID, "");
    char long_key [200];
    memset (long_key, 'k', 150);
    strcpy (long_key + 150, "=1");
    const char *long_flag = long_key;
    CHECK (rb_config_load ("valid.cfg", &long_flag, 1, &r) == NULL);
    CHECK_INT (r.code, RB_EINVALID);
    CHECK (strncmp (r.field, long_key, sizeof r.field - 1) == 0);
    //  Flags are checked against the schema like the file.
    s_expect_flag_refused ("node/nmae=school-a", RB_EINVALID, "node/nmae");
    s_expect_flag_refused ("name=school-a", RB_EINVALID, "name");
    s_expect_flag_refused ("node/name/first=school-a", RB_EINVALID, "node/name");
}

static void
s_test_peers (void)
{
    rb_test_section ("a peer needs an endpoint and a public key");
    s_expect_refused ("        endpoint = \"tcp://127.0.0.1:7201\"", NULL, RB_EMISSING, "peer/mun-a/endpoint");
    char find [80];
    snprintf (find, sizeof find, "        public_key = \"%s\"", s_key_care);
    s_expect_refused (find, NULL, RB_EMISSING, "peer/care-b/public_key");
    rb_refusal_t r;
    CHECK (rb_config_load ("edited.cfg", NULL, 0, &r) == NULL);
    CHECK (strstr (r.message, "peer/care-b/public_key"));

    rb_test_section ("peer values are checked");
    snprintf (find, sizeof find, "        public_key = \"%s\"", s_key_mun);
    s_expect_refused (find, "        public_key = \"tooshort\"", RB_EINVALID, "peer/mun-a/public_key");
    //  Forty characters, but not Z85.
    s_expect_refused (find, "        public_key = \"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\"",
                      RB_EINVALID, "peer/mun-a/public_key");
    //  Forty-one characters are not a key either.
    char one_more [80];
    snprintf (one_more, sizeof one_more, "        public_key = \"%sA\"", s_key_mun);
    s_expect_refused (find, one_more, RB_EINVALID, "peer/mun-a/public_key");
    s_expect_refused ("        endpoint = \"tcp://127.0.0.1:7201\"", "        endpoint = \"ipc://mun-a\"",
                      RB_EINVALID, "peer/mun-a/endpoint");
    s_expect_refused ("        endpoint = \"tcp://127.0.0.1:7201\"",
                      "        endpoint = \"tcp://127.0.0.1:7201\"\n        endpont = \"tcp://x:1\"",
                      RB_EINVALID, "peer/mun-a/endpont");

    rb_test_section ("a peer's role says what it may send: an agency daemon needs it, a bare node not");
    s_expect_refused ("        role = municipality", NULL, RB_EMISSING, "peer/mun-a/role");
    s_expect_refused ("        role = care", "        role = parent", RB_EINVALID, "peer/care-b/role");
    s_write_edited ("edited.cfg", "        role = municipality", NULL);
    const char *bare = "node/role=node";
    rb_config_t *loaded = rb_config_load ("edited.cfg", &bare, 1, &r);
    CHECK (loaded);
    if (loaded) {
        CHECK_STR (loaded->peers [0].role, "node");
        CHECK_STR (loaded->peers [1].role, "care");
    }
    rb_config_destroy (&loaded);

    rb_test_section ("a peer is listed once, is not this node, and has a node name");
    char twice [300];
    snprintf (twice, sizeof twice,
              "    mun-a\n        endpoint = \"tcp://127.0.0.1:7401\"\n        public_key = \"%s\"", s_key_mun);
    s_expect_refused ("    care-b", twice, RB_EINVALID, "peer");
    char self [300];
    snprintf (self, sizeof self,
              "    school-a\n        endpoint = \"tcp://127.0.0.1:7401\"\n        public_key = \"%s\"", s_key_mun);
    s_expect_refused ("    care-b", self, RB_EINVALID, "peer");
    char capital [300];
    snprintf (capital, sizeof capital,
              "    Mun-B\n        endpoint = \"tcp://127.0.0.1:7401\"\n        public_key = \"%s\"", s_key_mun);
    s_expect_refused ("    care-b", capital, RB_EINVALID, "peer");
    //  The refusal's message says which peer.
    s_write_edited ("edited.cfg", "    care-b", twice);
    CHECK (rb_config_load ("edited.cfg", NULL, 0, &r) == NULL);
    CHECK (strstr (r.message, "'mun-a'"));

    rb_test_section ("up to 256 peers, not one more");
    static char flags [2 * (RB_MAX_PEERS + 1)][96];
    const char *list [2 * (RB_MAX_PEERS + 1)];
    for (int i = 0; i <= RB_MAX_PEERS; i++) {
        snprintf (flags [2 * i], sizeof flags [0], "peer/p%d/endpoint=tcp://127.0.0.1:%d", i, 10000 + i);
        snprintf (flags [2 * i + 1], sizeof flags [0], "peer/p%d/public_key=%s", i, s_key_care);
        list [2 * i] = flags [2 * i];
        list [2 * i + 1] = flags [2 * i + 1];
    }
    rb_test_write_file ("nopeers.cfg",
        "node\n    name = school-a\n    data_dir = data\n    bind = \"tcp://127.0.0.1:7101\"\n"
        "    cert = \"keys/school-a.cert\"\napi\n    endpoint = \"ipc://school-a.api\"\n");
    rb_config_t *config = rb_config_load ("nopeers.cfg", list, 2 * RB_MAX_PEERS, &r);
    CHECK (config);
    CHECK_INT (config->peer_count, RB_MAX_PEERS);
    CHECK_STR (config->peers [RB_MAX_PEERS - 1].name, "p255");
    rb_config_destroy (&config);
    config = rb_config_load ("nopeers.cfg", list, 2 * (RB_MAX_PEERS + 1), &r);
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, RB_ETOOLARGE, "peer");
}

static void
s_test_consistency (void)
{
    rb_test_section ("a tcp:// API needs a client allowlist");
    s_expect_flag_refused ("api/endpoint=tcp://127.0.0.1:7102", RB_EMISSING, "api/clients_dir");
    const char *with_dir [] = { "api/endpoint=tcp://127.0.0.1:7102", "api/clients_dir=clients" };
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("valid.cfg", with_dir, 2, &r);
    CHECK (config);
    CHECK_STR (config->api_clients_dir, "clients");
    rb_config_destroy (&config);

    rb_test_section ("a batch may not be larger than the window");
    const char *too_big [] = { "link/window=100", "link/batch_events=101" };
    config = rb_config_load ("valid.cfg", too_big, 2, &r);
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "link/batch_events");
    //  The default batch (512) against a small window is refused the same way.
    s_expect_flag_refused ("link/window=100", RB_EINVALID, "link/batch_events");
    const char *equal [] = { "link/window=100", "link/batch_events=100" };
    config = rb_config_load ("valid.cfg", equal, 2, &r);
    CHECK (config);
    rb_config_destroy (&config);
}

static void
s_test_files (void)
{
    rb_test_section ("a file that cannot be read or parsed is refused");
    rb_refusal_t r;
    CHECK (rb_config_load ("no-such.cfg", NULL, 0, &r) == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "config");
    CHECK (strstr (r.message, "no-such.cfg"));
    //  Keys must be indented by exactly four spaces per level.
    rb_test_write_file ("broken.cfg", "node\n   name = school-a\n");
    //  CZMQ's zconfig_load leaks its file handle when a file does not parse
    //  (README.md, "Not bugs of common/"); that is not rb_config's leak.
    rb_test_leaks_ignore_begin ();
    rb_config_t *config = rb_config_load ("broken.cfg", NULL, 0, &r);
    rb_test_leaks_ignore_end ();
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "config");
}

static void
s_test_example (void)
{
    rb_test_section ("the example configuration shipped in deploy/ loads");
    //  Its peer key is a placeholder for the operator to replace: that is
    //  the one refusal allowed, and with a real key it loads.
    const char *path = RB_SOURCE_DIR "/deploy/examples/node.cfg";
    CHECK (zsys_file_exists (path));
    rb_refusal_t r;
    rb_config_t *config = rb_config_load (path, NULL, 0, &r);
    char flag [160] = "";
    if (!config) {
        size_t len = strlen (r.field);
        CHECK_INT (r.code, RB_EINVALID);
        CHECK (strncmp (r.field, "peer/", 5) == 0);
        CHECK (len > 11 && strcmp (r.field + len - 11, "/public_key") == 0);
        snprintf (flag, sizeof flag, "%s=%s", r.field, s_key_mun);
        const char *flags [] = { flag };
        config = rb_config_load (path, flags, 1, &r);
    }
    if (!config)
        printf ("  %s: %s\n", r.field, r.message);
    CHECK (config);
    CHECK (rb_config_name_valid (config->name));
    CHECK (config->peer_count >= 1);
    rb_config_destroy (&config);
}

static void
s_test_names (void)
{
    rb_test_section ("node names: 1..63 of [a-z0-9-], not starting with '-'");
    CHECK (rb_config_name_valid ("a"));
    CHECK (rb_config_name_valid ("school-a"));
    CHECK (rb_config_name_valid ("0"));
    CHECK (rb_config_name_valid ("mun-42-"));
    char longest [RB_NAME_MAX + 2];
    memset (longest, 'n', RB_NAME_MAX);
    longest [RB_NAME_MAX] = 0;
    CHECK (rb_config_name_valid (longest));
    longest [RB_NAME_MAX] = 'n';
    longest [RB_NAME_MAX + 1] = 0;
    CHECK (!rb_config_name_valid (longest));
    CHECK (!rb_config_name_valid (""));
    CHECK (!rb_config_name_valid (NULL));
    CHECK (!rb_config_name_valid ("-school"));
    CHECK (!rb_config_name_valid ("School"));
    CHECK (!rb_config_name_valid ("school_a"));
    CHECK (!rb_config_name_valid ("school.a"));
    CHECK (!rb_config_name_valid ("school a"));
    CHECK (!rb_config_name_valid ("sch\xc3\xb6ol"));
}

//  A daemon's own section, read strictly against its items.
typedef struct {
    char location [8];
    uint64_t streak;
    bool all;
    char contact [16];
} s_school_t;

static rb_err_t
s_read_school (const rb_config_t *config, s_school_t *out, rb_refusal_t *r)
{
    memset (out, 0, sizeof *out);
    const rb_config_item_t items [] = {
        { "location", RB_CONFIG_TEXT, out->location, sizeof out->location, true, NULL, 0, 0 },
        { "streak", RB_CONFIG_UINT, &out->streak, 0, false, "3", 1, 20 },
        { "all", RB_CONFIG_BOOL, &out->all, 0, false, "false", 0, 0 },
        { "contact", RB_CONFIG_TEXT, out->contact, sizeof out->contact, false, "desk", 0, 0 },
    };
    return rb_config_section (config, "school", items, sizeof items / sizeof items [0], r);
}

static rb_err_t
s_collect_pair (const char *key, const char *value, void *arg, rb_refusal_t *r)
{
    char *seen = arg;
    if (streq (key, "9999"))
        return rb_refuse (r, RB_EINVALID, "homes/9999", "no such municipality");
    strcat (seen, key);
    strcat (seen, "=");
    strcat (seen, value);
    strcat (seen, ";");
    return RB_OK;
}

//  The valid file edited as s_write_edited does, loaded; it must load.
static rb_config_t *
s_load_edited (const char *find, const char *replace)
{
    s_write_edited ("reload.cfg", find, replace);
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("reload.cfg", NULL, 0, &r);
    if (!config)
        printf ("  refused: %s (%s)\n", r.message, r.field);
    CHECK (config);
    return config;
}

//  The valid file with text appended, loaded; it must load.
static rb_config_t *
s_load_appended (const char *append)
{
    return s_load_edited (NULL, append);
}

static void
s_test_daemon_sections (void)
{
    rb_test_section ("a daemon's sections belong to its role; the runtime leaves them to it");
    rb_config_t *config = s_load_appended ("school\n    location = 12AB00\n    all = yes\n"
                                           "homes\n    0363 = mun-a\n    0518 = care-b\n");
    s_school_t school;
    rb_refusal_t r;
    CHECK_INT (s_read_school (config, &school, &r), RB_OK);
    CHECK_STR (school.location, "12AB00");
    CHECK_UINT (school.streak, 3);
    CHECK (school.all);
    CHECK_STR (school.contact, "desk");
    char seen [128] = "";
    CHECK_INT (rb_config_pairs (config, "homes", s_collect_pair, seen, &r), RB_OK);
    CHECK_STR (seen, "0363=mun-a;0518=care-b;");
    seen [0] = 0;
    CHECK_INT (rb_config_pairs (config, "rules", s_collect_pair, seen, &r), RB_OK);
    CHECK_STR (seen, "");
    rb_config_destroy (&config);
    //  The section of another role is refused by the runtime itself.
    s_expect_refused (NULL, "policy\n    duty_node = mun-a", RB_EINVALID, "policy");
    s_write_edited ("daemon.cfg", NULL, "school\n    location = 12AB00");
    const char *care = "node/role=care";
    config = rb_config_load ("daemon.cfg", &care, 1, &r);
    CHECK (config == NULL);
    CHECK_REFUSAL (&r, RB_EINVALID, "school");

    rb_test_section ("a daemon's section is as strict as the runtime's");
    const struct { const char *text; rb_err_t code; const char *field; } bad [] = {
        { "school\n    streak = 4", RB_EMISSING, "school/location" },
        { "school\n    location = 12AB00\n    lcoation = 1", RB_EINVALID, "school/lcoation" },
        { "school\n    location = 12AB00\n    streak = 21", RB_EINVALID, "school/streak" },
        { "school\n    location = 12AB00\n    streak = -1", RB_EINVALID, "school/streak" },
        { "school\n    location = 12AB00\n    all = maybe", RB_EINVALID, "school/all" },
        { "school\n    location = 12AB00000", RB_ETOOLARGE, "school/location" },
        { "school\n    location = 12AB00\n    contact\n        deeper = 1", RB_EINVALID, "school/contact" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        config = s_load_appended (bad [i].text);
        CHECK_INT (s_read_school (config, &school, &r), bad [i].code);
        CHECK_REFUSAL (&r, bad [i].code, bad [i].field);
        rb_config_destroy (&config);
    }
    config = s_load_appended ("homes\n    9999 = mun-a\n");
    seen [0] = 0;
    CHECK_INT (rb_config_pairs (config, "homes", s_collect_pair, seen, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "homes/9999");
    rb_config_destroy (&config);
    config = s_load_appended ("homes\n    0363\n        deeper = 1\n");
    CHECK_INT (rb_config_pairs (config, "homes", s_collect_pair, seen, &r), RB_EINVALID);
    CHECK_REFUSAL (&r, RB_EINVALID, "homes/0363");
    rb_config_destroy (&config);

    rb_test_section ("flags reach a daemon's section too");
    s_write_edited ("daemon.cfg", NULL, "school\n    location = 12AB00");
    const char *flags [] = { "school/streak=7", "homes/0344=mun-a" };
    config = rb_config_load ("daemon.cfg", flags, 2, &r);
    CHECK (config);
    CHECK_INT (s_read_school (config, &school, &r), RB_OK);
    CHECK_UINT (school.streak, 7);
    seen [0] = 0;
    CHECK_INT (rb_config_pairs (config, "homes", s_collect_pair, seen, &r), RB_OK);
    CHECK_STR (seen, "0344=mun-a;");
    rb_config_destroy (&config);
}

//  Whether a reload from running to the file edited so is refused, and how.
static void
s_expect_reload (rb_config_t *running, const char *find, const char *replace, rb_err_t code,
                 const char *field)
{
    rb_config_t *next = s_load_edited (find, replace);
    rb_refusal_t r = { 0 };
    rb_err_t rc = rb_config_check_reload (running, next, &r);
    if (rc != code || (code && strcmp (r.field, field) != 0))
        printf ("  reload edit: '%s' -> '%s': %s (%s)\n", find? find: "(append)", replace? replace: "(drop)",
                r.message, r.field);
    CHECK_INT (rc, code);
    if (code)
        CHECK_REFUSAL (&r, code, field);
    rb_config_destroy (&next);
}

static void
s_test_rotation_keys (void)
{
    rb_test_section ("a peer may list its next key, or be revoked; a node may hold its next key");
    zcert_t *next = zcert_new ();
    char line [96];
    snprintf (line, sizeof line, "        next_public_key = \"%s\"", zcert_public_txt (next));
    rb_config_t *config = s_load_edited (NULL, line);     //  appended: care-b's
    CHECK_STR (rb_config_peer (config, "care-b")->next_public_key, zcert_public_txt (next));
    CHECK_STR (rb_config_peer (config, "mun-a")->next_public_key, "");
    CHECK (!rb_config_peer (config, "care-b")->revoked);
    CHECK_STR (config->next_cert, "");
    rb_config_destroy (&config);
    config = s_load_edited (NULL, "        revoked = true");
    CHECK (rb_config_peer (config, "care-b")->revoked);
    rb_config_destroy (&config);
    config = s_load_edited ("    cert =", "    cert = keys/a.cert\n    next_cert = keys/a-2.cert");
    CHECK_STR (config->next_cert, "keys/a-2.cert");
    rb_config_destroy (&config);

    rb_test_section ("a malformed next key, the same key twice or a revoked that is no boolean is refused");
    s_expect_refused (NULL, "        next_public_key = \"short\"", RB_EINVALID, "peer/care-b/next_public_key");
    snprintf (line, sizeof line, "        next_public_key = \"%s\"", s_key_care);
    s_expect_refused (NULL, line, RB_EINVALID, "peer/care-b/next_public_key");
    s_expect_refused (NULL, "        revoked = maybe", RB_EINVALID, "peer/care-b/revoked");
    zcert_destroy (&next);
}

//  The valid file with peer mun-a renamed mun-b, and text appended.
static rb_config_t *
s_load_renamed (const char *append)
{
    char text [4096];
    s_valid_text (text, sizeof text);
    char *at = strstr (text, "    mun-a\n");
    CHECK (at);
    at [8] = 'b';
    strcat (text, append);
    rb_test_write_file ("renamed.cfg", "%s", text);
    rb_refusal_t r;
    rb_config_t *config = rb_config_load ("renamed.cfg", NULL, 0, &r);
    CHECK (config);
    return config;
}

static void
s_test_reload (void)
{
    rb_test_section ("a reload may change the peers, the node's keys and the log level");
    rb_config_t *running = s_load_edited (NULL, NULL);
    s_expect_reload (running, NULL, NULL, RB_OK, NULL);
    char mun_key [64];
    snprintf (mun_key, sizeof mun_key, "        public_key = \"%s", s_key_mun);
    s_expect_reload (running, mun_key, "        public_key = \"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\"\n"
                     "        revoked = true", RB_OK, NULL);
    s_expect_reload (running, "    cert =", "    cert = keys/new.cert\n    next_cert = keys/next.cert\n"
                     "    log_level = debug", RB_OK, NULL);
    s_expect_reload (running, "    mun-a", "    mun-b", RB_OK, NULL);

    rb_test_section ("any other change takes a restart, and is refused naming the key");
    s_expect_reload (running, "    bind =", "    bind = \"tcp://127.0.0.1:7999\"", RB_EPRECONDITION, "node/bind");
    s_expect_reload (running, NULL, "link\n    window = 1000", RB_EPRECONDITION, "link/window");
    s_expect_reload (running, NULL, "homes\n    0363 = mun-a", RB_EPRECONDITION, "homes");

    rb_test_section ("removing a peer a daemon's section still names is refused");
    rb_config_destroy (&running);
    running = s_load_edited (NULL, "homes\n    0363 = mun-a");
    rb_config_t *next = s_load_renamed ("homes\n    0363 = mun-a\n");
    rb_refusal_t r = { 0 };
    CHECK_INT (rb_config_check_reload (running, next, &r), RB_EPRECONDITION);
    CHECK_REFUSAL (&r, RB_EPRECONDITION, "peer");
    CHECK (strstr (r.message, "homes/0363"));
    rb_config_destroy (&next);
    rb_config_destroy (&running);

    rb_test_section ("applying a reload takes the peers and keys, and keeps the rest");
    running = s_load_edited (NULL, NULL);
    next = s_load_renamed ("");
    strcpy (next->cert, "keys/new.cert");
    rb_config_apply_reload (running, next);
    CHECK_STR (running->cert, "keys/new.cert");
    CHECK (rb_config_peer (running, "mun-b") && !rb_config_peer (running, "mun-a"));
    CHECK_INT (running->peer_count, 2);
    CHECK_STR (running->bind, "tcp://127.0.0.1:7101");
    rb_config_destroy (&next);
    rb_config_destroy (&running);
}

int
main (void)
{
    rb_test_begin ("config");
    //  Real CURVE public keys for the peers, as an operator would paste them.
    zcert_t *mun = zcert_new ();
    zcert_t *care = zcert_new ();
    snprintf (s_key_mun, sizeof s_key_mun, "%s", zcert_public_txt (mun));
    snprintf (s_key_care, sizeof s_key_care, "%s", zcert_public_txt (care));
    zcert_destroy (&mun);
    zcert_destroy (&care);

    s_test_valid ();
    s_test_unknown ();
    s_test_missing ();
    s_test_numbers ();
    s_test_values ();
    s_test_overrides ();
    s_test_peers ();
    s_test_consistency ();
    s_test_files ();
    s_test_example ();
    s_test_names ();
    s_test_daemon_sections ();
    s_test_rotation_keys ();
    s_test_reload ();
    return rb_test_end ();
}
