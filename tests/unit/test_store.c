/*  unit_store: the node's LMDB environment, tables and transactions (rb_store.h).
 *
 *  What the rest of the node relies on: tables keep what was committed;
 *  a transaction destroyed without commit leaves no trace; a child's writes
 *  join its parent on commit and vanish on destroy; readers see committed
 *  snapshots only; a full map is RB_EFULL, after which the store still
 *  reads and writes; big-endian u64 keys sort numerically.
 */
#include "rb_test.h"
#include "rb_store.h"
#include <sys/stat.h>

static rb_val_t
s_val (const char *text)
{
    return rb_val_str (text);
}

//  True when key holds exactly text.
static bool
s_holds (rb_txn_t *txn, rb_table_t table, const char *key, const char *text)
{
    rb_val_t value;
    return rb_txn_get (txn, table, s_val (key), &value) == RB_OK
        && value.size == strlen (text) && memcmp (value.data, text, value.size) == 0;
}

static bool
s_absent (rb_txn_t *txn, rb_table_t table, const char *key)
{
    rb_val_t value;
    return rb_txn_get (txn, table, s_val (key), &value) == RB_ENOTFOUND;
}

static void
s_test_open (void)
{
    rb_test_section ("a store opens in a new directory; bad directories are refused");
    rb_refusal_t r = { 0 };
    rb_store_t *store = rb_store_new ("fresh", 8, &r);
    CHECK (store);
    struct stat st;
    CHECK (stat ("fresh", &st) == 0 && S_ISDIR (st.st_mode));
    CHECK ((st.st_mode & 0777) == 0700);
    uint64_t used, map;
    rb_store_usage (store, &used, &map);
    CHECK_UINT (map, 8u << 20);
    CHECK (used > 0 && used < map);
    rb_store_destroy (&store);
    CHECK (store == NULL);
    rb_store_destroy (&store);          //  idempotent

    //  Only the last level of the path is created.
    store = rb_store_new ("missing/parent/db", 8, &r);
    CHECK (store == NULL);
    CHECK_REFUSAL (&r, RB_ESTORE, "node/data_dir");
    CHECK (strstr (r.message, "missing/parent/db"));

    //  A file where the directory should be.
    rb_test_write_file ("plain-file", "not a directory\n");
    store = rb_store_new ("plain-file", 8, &r);
    CHECK (store == NULL);
    CHECK_REFUSAL (&r, RB_ESTORE, "node/data_dir");
}

static void
s_test_tables (rb_store_t *store)
{
    rb_test_section ("tables: put, get, overwrite, delete");
    rb_table_t people, places, again;
    CHECK_INT (rb_store_table (store, "people", &people), RB_OK);
    CHECK_INT (rb_store_table (store, "places", &places), RB_OK);
    CHECK (people != places);
    CHECK_INT (rb_store_table (store, "people", &again), RB_OK);
    CHECK (again == people);

    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, people, s_val ("ada"), s_val ("lovelace")), RB_OK);
    CHECK_INT (rb_txn_put (txn, places, s_val ("ada"), s_val ("london")), RB_OK);
    CHECK (s_holds (txn, people, "ada", "lovelace"));       //  a writer sees its own writes
    CHECK (s_holds (txn, places, "ada", "london"));         //  tables are separate
    CHECK_INT (rb_txn_put (txn, people, s_val ("ada"), s_val ("byron")), RB_OK);
    CHECK (s_holds (txn, people, "ada", "byron"));
    CHECK_INT (rb_txn_put (txn, people, s_val ("alan"), s_val ("turing")), RB_OK);
    CHECK_INT (rb_txn_put (txn, people, s_val ("empty"), (rb_val_t) { "", 0 }), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    CHECK (txn == NULL);

    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    CHECK (s_holds (txn, people, "ada", "byron"));
    CHECK (s_holds (txn, people, "empty", ""));
    CHECK (s_absent (txn, people, "grace"));
    rb_txn_destroy (&txn);
    CHECK (txn == NULL);
    rb_txn_destroy (&txn);              //  idempotent
    rb_txn_destroy (NULL);

    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_del (txn, people, s_val ("alan")), RB_OK);
    CHECK_INT (rb_txn_del (txn, people, s_val ("alan")), RB_OK);       //  deleting nothing is fine
    CHECK_INT (rb_txn_del (txn, people, s_val ("nobody")), RB_OK);
    CHECK (s_absent (txn, people, "alan"));
    CHECK_INT (rb_txn_commit (&txn), RB_OK);

    rb_test_section ("a transaction destroyed without commit leaves no trace");
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, people, s_val ("grace"), s_val ("hopper")), RB_OK);
    CHECK_INT (rb_txn_del (txn, people, s_val ("ada")), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    CHECK (s_absent (txn, people, "grace"));
    CHECK (s_holds (txn, people, "ada", "byron"));
    rb_txn_destroy (&txn);
}

static void
s_test_children (rb_store_t *store)
{
    rb_test_section ("a child's writes join the parent on commit, vanish on destroy");
    rb_table_t t;
    CHECK_INT (rb_store_table (store, "children", &t), RB_OK);
    rb_txn_t *parent, *child;
    CHECK_INT (rb_txn_begin (store, true, &parent), RB_OK);
    CHECK_INT (rb_txn_put (parent, t, s_val ("parent"), s_val ("1")), RB_OK);

    //  First request: applied in a child, kept.
    CHECK_INT (rb_txn_child (parent, &child), RB_OK);
    CHECK (s_holds (child, t, "parent", "1"));              //  a child sees its parent
    CHECK_INT (rb_txn_put (child, t, s_val ("kept"), s_val ("2")), RB_OK);
    CHECK_INT (rb_txn_commit (&child), RB_OK);
    CHECK (child == NULL);
    CHECK (s_holds (parent, t, "kept", "2"));

    //  Second request: fails halfway, its child is destroyed.
    CHECK_INT (rb_txn_child (parent, &child), RB_OK);
    CHECK_INT (rb_txn_put (child, t, s_val ("dropped"), s_val ("3")), RB_OK);
    CHECK_INT (rb_txn_put (child, t, s_val ("kept"), s_val ("overwritten")), RB_OK);
    CHECK_INT (rb_txn_del (child, t, s_val ("parent")), RB_OK);
    rb_txn_destroy (&child);
    CHECK (s_absent (parent, t, "dropped"));
    CHECK (s_holds (parent, t, "kept", "2"));
    CHECK (s_holds (parent, t, "parent", "1"));

    //  The group commit holds what the kept children wrote.
    CHECK_INT (rb_txn_commit (&parent), RB_OK);
    rb_txn_t *reader;
    CHECK_INT (rb_txn_begin (store, false, &reader), RB_OK);
    CHECK (s_holds (reader, t, "parent", "1"));
    CHECK (s_holds (reader, t, "kept", "2"));
    CHECK (s_absent (reader, t, "dropped"));
    rb_txn_destroy (&reader);

    rb_test_section ("destroying the parent drops its committed children too");
    CHECK_INT (rb_txn_begin (store, true, &parent), RB_OK);
    CHECK_INT (rb_txn_child (parent, &child), RB_OK);
    CHECK_INT (rb_txn_put (child, t, s_val ("orphan"), s_val ("4")), RB_OK);
    CHECK_INT (rb_txn_commit (&child), RB_OK);
    rb_txn_destroy (&parent);
    CHECK_INT (rb_txn_begin (store, false, &reader), RB_OK);
    CHECK (s_absent (reader, t, "orphan"));
    rb_txn_destroy (&reader);
}

static void
s_test_isolation (rb_store_t *store)
{
    rb_test_section ("readers see committed snapshots only");
    rb_table_t t;
    CHECK_INT (rb_store_table (store, "isolation", &t), RB_OK);
    rb_txn_t *writer, *before, *after;
    CHECK_INT (rb_txn_begin (store, true, &writer), RB_OK);
    CHECK_INT (rb_txn_put (writer, t, s_val ("k"), s_val ("v")), RB_OK);
    //  A reader that starts while the write is open does not see it...
    CHECK_INT (rb_txn_begin (store, false, &before), RB_OK);
    CHECK (s_absent (before, t, "k"));
    CHECK_INT (rb_txn_commit (&writer), RB_OK);
    //  ...nor after the commit: it keeps its snapshot until it ends.
    CHECK (s_absent (before, t, "k"));
    CHECK_INT (rb_txn_begin (store, false, &after), RB_OK);
    CHECK (s_holds (after, t, "k", "v"));
    rb_txn_destroy (&before);
    rb_txn_destroy (&after);
}

//  Collects what a scan visits; stops (returning 7) after stop_after keys.
typedef struct {
    char keys [16][16];
    int count;
    int stop_after;
} s_seen_t;

static int
s_visit (rb_val_t key, rb_val_t value, void *arg)
{
    s_seen_t *seen = arg;
    (void) value;
    if (seen->count < 16)
        snprintf (seen->keys [seen->count], sizeof seen->keys [0], "%.*s", (int) key.size,
                  (const char *) key.data);
    seen->count++;
    return seen->stop_after && seen->count == seen->stop_after? 7: 0;
}

static void
s_test_scan (rb_store_t *store)
{
    rb_test_section ("scans walk keys in order, within a prefix, and stop on request");
    rb_table_t t, empty;
    CHECK_INT (rb_store_table (store, "scan", &t), RB_OK);
    CHECK_INT (rb_store_table (store, "scan-empty", &empty), RB_OK);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    const char *keys [] = { "b/1", "a/3", "a/1", "c", "a/2", "ab" };
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++)
        CHECK_INT (rb_txn_put (txn, t, s_val (keys [i]), s_val ("x")), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);

    //  Everything, in byte order.
    s_seen_t seen = { .count = 0 };
    rb_val_t none = { NULL, 0 };
    CHECK_INT (rb_txn_scan (txn, t, none, none, s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 6);
    CHECK_STR (seen.keys [0], "a/1");
    CHECK_STR (seen.keys [1], "a/2");
    CHECK_STR (seen.keys [2], "a/3");
    CHECK_STR (seen.keys [3], "ab");
    CHECK_STR (seen.keys [4], "b/1");
    CHECK_STR (seen.keys [5], "c");

    //  One prefix: start at the prefix and stay within it.
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_scan (txn, t, s_val ("a/"), s_val ("a/"), s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 3);
    CHECK_STR (seen.keys [2], "a/3");

    //  From the middle of a prefix.
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_scan (txn, t, s_val ("a/2"), s_val ("a/"), s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.keys [0], "a/2");

    //  From a key that is not there: the next one up.
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_scan (txn, t, s_val ("a/25"), none, s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 4);
    CHECK_STR (seen.keys [0], "a/3");

    //  A prefix nothing has, and a start beyond the last key.
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_scan (txn, t, s_val ("d/"), s_val ("d/"), s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 0);
    CHECK_INT (rb_txn_scan (txn, t, s_val ("b/"), s_val ("b/"), s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 1);
    seen = (s_seen_t) { .count = 0 };
    CHECK_INT (rb_txn_scan (txn, t, s_val ("zzz"), none, s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 0);
    CHECK_INT (rb_txn_scan (txn, empty, none, none, s_visit, &seen), RB_OK);
    CHECK_INT (seen.count, 0);

    //  The visitor stops the walk; its value comes back as is.
    seen = (s_seen_t) { .count = 0, .stop_after = 2 };
    CHECK_INT (rb_txn_scan (txn, t, none, none, s_visit, &seen), 7);
    CHECK_INT (seen.count, 2);
    CHECK_STR (seen.keys [1], "a/2");
    rb_txn_destroy (&txn);
}

//  Collects u64 keys in the order a scan visits them.
typedef struct {
    uint64_t values [8];
    int count;
} s_numbers_t;

static int
s_visit_number (rb_val_t key, rb_val_t value, void *arg)
{
    s_numbers_t *seen = arg;
    (void) value;
    if (key.size == 8 && seen->count < 8)
        seen->values [seen->count++] = rb_u64_get (key.data);
    return 0;
}

static void
s_test_u64 (rb_store_t *store)
{
    rb_test_section ("big-endian u64s round-trip and sort numerically");
    uint64_t samples [] = { 0, 1, 255, 256, 65535, 65536, 1ULL << 32, 0x0102030405060708ULL,
                            UINT64_MAX - 1, UINT64_MAX };
    size_t n = sizeof samples / sizeof samples [0];
    for (size_t i = 0; i < n; i++) {
        uint8_t bytes [8];
        rb_u64_put (bytes, samples [i]);
        CHECK_UINT (rb_u64_get (bytes), samples [i]);
        for (size_t j = 0; j < i; j++) {
            uint8_t smaller [8];
            rb_u64_put (smaller, samples [j]);
            CHECK (memcmp (smaller, bytes, 8) < 0);
        }
    }
    uint8_t bytes [8];
    rb_u64_put (bytes, 0x0102030405060708ULL);
    const uint8_t expected [8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    CHECK (memcmp (bytes, expected, 8) == 0);
    //  No alignment needed.
    uint8_t unaligned [9] = { 0xff, 1, 2, 3, 4, 5, 6, 7, 8 };
    CHECK_UINT (rb_u64_get (unaligned + 1), 0x0102030405060708ULL);

    //  As keys, LMDB returns them in numeric order.
    rb_table_t t;
    CHECK_INT (rb_store_table (store, "numbers", &t), RB_OK);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    uint64_t inserted [] = { 70000, 2, 300, 1, 1ULL << 40 };
    for (size_t i = 0; i < 5; i++) {
        uint8_t key [8];
        rb_u64_put (key, inserted [i]);
        CHECK_INT (rb_txn_put (txn, t, (rb_val_t) { key, 8 }, s_val ("n")), RB_OK);
    }
    CHECK_INT (rb_txn_commit (&txn), RB_OK);
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    s_numbers_t seen = { .count = 0 };
    CHECK_INT (rb_txn_scan (txn, t, (rb_val_t) { NULL, 0 }, (rb_val_t) { NULL, 0 },
                            s_visit_number, &seen), RB_OK);
    rb_txn_destroy (&txn);
    CHECK_INT (seen.count, 5);
    CHECK_UINT (seen.values [0], 1);
    CHECK_UINT (seen.values [1], 2);
    CHECK_UINT (seen.values [2], 300);
    CHECK_UINT (seen.values [3], 70000);
    CHECK_UINT (seen.values [4], 1ULL << 40);

    rb_val_t v = rb_val_str ("hello");
    CHECK_UINT (v.size, 5);
    CHECK (memcmp (v.data, "hello", 5) == 0);
}

//  Put 1000-byte values under key prefix+N until the store says full.
static rb_err_t
s_fill (rb_txn_t *txn, rb_table_t t, const char *prefix, int *written)
{
    static char blob [1000];
    memset (blob, 'x', sizeof blob);
    rb_err_t rc = RB_OK;
    for (*written = 0; rc == RB_OK && *written < 100000; (*written)++) {
        char key [32];
        snprintf (key, sizeof key, "%s%06d", prefix, *written);
        rc = rb_txn_put (txn, t, s_val (key), (rb_val_t) { blob, sizeof blob });
    }
    return rc;
}

static void
s_test_full (void)
{
    rb_test_section ("a full map is RB_EFULL; the store still works afterwards");
    rb_refusal_t r;
    rb_store_t *store = rb_store_new ("small", 1, &r);
    CHECK (store);
    rb_table_t t;
    CHECK_INT (rb_store_table (store, "data", &t), RB_OK);
    rb_txn_t *txn;
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, t, s_val ("before"), s_val ("kept")), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);

    //  One transaction writes until the map is full, then is destroyed.
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    int written;
    CHECK_INT (s_fill (txn, t, "big", &written), RB_EFULL);
    CHECK (written > 10 && written < 1100);
    CHECK (strstr (rb_store_errmsg (store), "MDB_MAP_FULL"));
    rb_txn_destroy (&txn);

    //  What was committed before is intact; nothing of the failed one is.
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    CHECK (s_holds (txn, t, "before", "kept"));
    CHECK (s_absent (txn, t, "big000000"));
    rb_txn_destroy (&txn);
    //  And a new small write goes through.
    CHECK_INT (rb_txn_begin (store, true, &txn), RB_OK);
    CHECK_INT (rb_txn_put (txn, t, s_val ("after"), s_val ("fits")), RB_OK);
    CHECK_INT (rb_txn_commit (&txn), RB_OK);

    rb_test_section ("a child that fills the map fails alone; its parent commits");
    rb_txn_t *parent, *child;
    CHECK_INT (rb_txn_begin (store, true, &parent), RB_OK);
    CHECK_INT (rb_txn_put (parent, t, s_val ("group"), s_val ("member")), RB_OK);
    CHECK_INT (rb_txn_child (parent, &child), RB_OK);
    CHECK_INT (s_fill (child, t, "huge", &written), RB_EFULL);
    rb_txn_destroy (&child);
    CHECK (s_holds (parent, t, "group", "member"));
    CHECK (s_absent (parent, t, "huge000000"));
    CHECK_INT (rb_txn_commit (&parent), RB_OK);

    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    CHECK (s_holds (txn, t, "before", "kept"));
    CHECK (s_holds (txn, t, "after", "fits"));
    CHECK (s_holds (txn, t, "group", "member"));
    rb_txn_destroy (&txn);
    uint64_t used, map;
    rb_store_usage (store, &used, &map);
    CHECK_UINT (map, 1u << 20);
    CHECK (used <= map);
    rb_store_destroy (&store);

    rb_test_section ("what was committed survives closing and reopening");
    store = rb_store_new ("small", 1, &r);
    CHECK (store);
    CHECK_INT (rb_store_table (store, "data", &t), RB_OK);
    CHECK_INT (rb_txn_begin (store, false, &txn), RB_OK);
    CHECK (s_holds (txn, t, "group", "member"));
    rb_txn_destroy (&txn);
    rb_store_destroy (&store);
}

int
main (void)
{
    rb_test_begin ("store");
    s_test_open ();
    rb_refusal_t r;
    rb_store_t *store = rb_store_new ("db", 16, &r);
    CHECK (store);
    s_test_tables (store);
    s_test_children (store);
    s_test_isolation (store);
    s_test_scan (store);
    s_test_u64 (store);
    rb_store_destroy (&store);
    s_test_full ();
    return rb_test_end ();
}
