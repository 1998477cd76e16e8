/*  rb_store_layout: puts a stopped node's store back into the layout the
 *  previous version wrote, and tells where the records that moved are.
 *  A test tool for test_upgrade.py, built with the tests, never installed.
 *
 *      rb_store_layout old DIR      every record below back to its old place
 *      rb_store_layout where DIR    per kind: how many in the new place, the old, both
 *
 *  | kind            | now                                      | in the previous version                |
 *  |-----------------|------------------------------------------|----------------------------------------|
 *  | audit-head      | audit: 0xff x 8 -> seq be64, hash (40)   | audit: 0 x 8 -> the same 40 bytes      |
 *  | notice-counters | notice: 0xff x 8 -> last, new, acked     | notice_meta: "next", "new", "acked"    |
 *  |                 | (be64 each, 24 bytes)                    | -> be64 each ("next" is the last given)|
 *  | inbox-state     | inbox: origin NUL 0xff x 8 -> last be64  | instate: origin -> last be64           |
 *  | outbox-state    | outbox: peer NUL 0 -> acked be64 (absent | outstate: peer -> assigned be64,       |
 *  |                 | 0), peer NUL 0xff x 8 -> assigned be64   | acked be64 (16 bytes)                  |
 *
 *  The keys are written here again rather than taken from the modules,
 *  which keep them private: the test states each layout a second time, so
 *  a module that no longer reads its old place fails it.
 *
 *  `old` moves every record in one write transaction and leaves all else
 *  as it was; on a store that is old already it moves nothing. `where`
 *  only reads. Both refuse a directory that holds no LMDB store of a
 *  regiebus node, and a store another process has open: LMDB keeps a
 *  shared lock on byte 0 of lock.mdb for as long as a process has the
 *  environment open, so a lock held elsewhere means a node (or a reader
 *  such as `regiebus audit verify --store`) is on it. Stop the node first:
 *  the check cannot keep a node from starting while the tool runs.
 *
 *  Exit codes: 0 done; 1 a record of the wrong size or an LMDB error,
 *  nothing written; 2 usage; 3 not a regiebus store, or in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_NAME_MAX 63                   //  a node name's longest (RB_NAME_MAX)
#define S_HEAD_SIZE 40                  //  the audit head: seq be64, BLAKE2b-256
#define S_COUNTS_SIZE 24                //  the notice counters: three be64
#define S_EDAMAGED (-1)                 //  a record of the wrong size (LMDB's codes are below -30000)
#define S_EXIT_DAMAGED 1
#define S_EXIT_USAGE 2
#define S_EXIT_REFUSED 3

typedef enum { S_AUDIT, S_NOTICE, S_INBOX, S_OUTBOX, S_KINDS } s_kind_t;

static const char *s_kind_names [S_KINDS] = {
    "audit-head", "notice-counters", "inbox-state", "outbox-state"
};

static const uint8_t s_ones [8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t s_zeros [8] = { 0 };
static const char *s_meta_names [3] = { "next", "new", "acked" };

typedef struct {
    MDB_dbi dbi;                        //  the handle, when present
    bool present;                       //  false: the store has no such table
} s_table_t;

typedef struct {
    const char *dir;                    //  for messages
    MDB_txn *txn;                       //  the one transaction
    s_table_t audit, notice, notice_meta, inbox, instate, outbox, outstate;
} s_store_t;

//  What one kind holds: in the new place, the old, both (per stream), and
//  how many records `old` moved.
typedef struct {
    size_t fresh, old, both, moved;
} s_count_t;

//  The stream names of a table, in order.
typedef struct {
    char (*name) [S_NAME_MAX + 1];      //  count names
    size_t count, max;
} s_names_t;


// ---------------------------------------------------------------------------
//  Refusing what is no stopped regiebus store

static int
s_refuse (const char *dir, const char *why)
{
    fprintf (stderr, "rb_store_layout: %s: %s\n", dir, why);
    return S_EXIT_REFUSED;
}

//  LMDB's first page holds its meta record after the 16-byte page header,
//  and the record starts with the magic 0xBEEFC0DE (machine order): read
//  before LMDB is let near the directory, which it would write to.
static bool
s_is_lmdb (const char *path)
{
    uint8_t page [20];
    uint32_t magic = 0;
    FILE *file = fopen (path, "rb");
    if (file && fread (page, 1, sizeof page, file) == sizeof page)
        memcpy (&magic, page + 16, 4);
    if (file)
        fclose (file);
    return magic == 0xBEEFC0DEu;
}

//  Another process has the environment open while it holds the lock LMDB
//  takes on byte 0 of lock.mdb (F_GETLK does not see this process's own).
static int
s_check_unused (const char *dir, int lock_fd)
{
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    char why [200];
    if (fcntl (lock_fd, F_GETLK, &lock))
        snprintf (why, sizeof why, "cannot tell whether a node has it open: %s", strerror (errno));
    else
    if (lock.l_type != F_UNLCK)
        snprintf (why, sizeof why, "in use by process %d: stop the node first", (int) lock.l_pid);
    else
        return 0;
    return s_refuse (dir, why);
}

//  The environment, and an open lock.mdb to ask who else holds it.
static int
s_open (const char *dir, bool write, MDB_env **env, int *lock_fd)
{
    char path [4096];
    struct stat st;
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    if (stat (dir, &st) || !S_ISDIR (st.st_mode))
        return s_refuse (dir, "not a directory");
    if (stat (path, &st) || !S_ISREG (st.st_mode) || !s_is_lmdb (path))
        return s_refuse (dir, "no LMDB store here (data.mdb missing or not LMDB's)");
    int rc = mdb_env_create (env);
    if (!rc)
        rc = mdb_env_set_maxdbs (*env, 32);
    if (!rc)            //  no map size: LMDB takes the one the store was made with
        rc = mdb_env_open (*env, dir, MDB_NOTLS | (write? 0: MDB_RDONLY), 0600);
    if (rc)
        return s_refuse (dir, mdb_strerror (rc));
    snprintf (path, sizeof path, "%s/lock.mdb", dir);
    *lock_fd = open (path, O_RDONLY | O_CLOEXEC);
    if (*lock_fd < 0)
        return s_refuse (dir, "cannot open lock.mdb to see whether a node has the store open");
    return s_check_unused (dir, *lock_fd);
}


// ---------------------------------------------------------------------------
//  Records

static int
s_damaged (s_store_t *s, const char *what, const char *name, size_t size, size_t want)
{
    fprintf (stderr, "rb_store_layout: %s: %s%s%s is %zu bytes, not %zu\n", s->dir, what,
             *name? " of ": "", name, size, want);
    return S_EDAMAGED;
}

//  Open a table; an old place is made when moving into it, as the
//  previous version's start made it.
static int
s_table (s_store_t *s, const char *name, bool create, s_table_t *table)
{
    int rc = mdb_dbi_open (s->txn, name, create? MDB_CREATE: 0, &table->dbi);
    table->present = rc == 0;
    return rc == MDB_NOTFOUND? 0: rc;
}

static int
s_tables (s_store_t *s, bool write)
{
    struct {
        const char *name;               //  the table
        bool old_place;                 //  made when moving into it
        s_table_t *table;
    } tables [] = {
        { "audit", false, &s->audit }, { "notice", false, &s->notice },
        { "notice_meta", true, &s->notice_meta }, { "inbox", false, &s->inbox },
        { "instate", true, &s->instate }, { "outbox", false, &s->outbox },
        { "outstate", true, &s->outstate }
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof tables / sizeof tables [0] && !rc; i++)
        rc = s_table (s, tables [i].name, write && tables [i].old_place, tables [i].table);
    return rc;
}

//  Is key in table? *found says; value, when asked for, points into the
//  map only until the next write.
static int
s_find (s_store_t *s, s_table_t *table, const void *key, size_t size, MDB_val *value, bool *found)
{
    MDB_val ignored;
    *found = false;
    if (!table->present)
        return 0;
    MDB_val k = { size, (void *) key };
    int rc = mdb_get (s->txn, table->dbi, &k, value? value: &ignored);
    *found = rc == 0;
    return rc == MDB_NOTFOUND? 0: rc;
}

//  key's value copied out of the map, where the first write may move it,
//  into out, which takes want bytes: any other size is damage.
static int
s_read (s_store_t *s, s_table_t *table, const void *key, size_t size, size_t want, const char *what,
        const char *name, uint8_t *out, bool *found)
{
    MDB_val value;
    int rc = s_find (s, table, key, size, &value, found);
    if (!rc && *found && value.mv_size != want)
        rc = s_damaged (s, what, name, value.mv_size, want);
    if (!rc && *found)
        memcpy (out, value.mv_data, want);
    return rc;
}

static int
s_put (s_store_t *s, s_table_t *table, const void *key, size_t size, const void *data, size_t data_size)
{
    MDB_val k = { size, (void *) key }, v = { data_size, (void *) data };
    return mdb_put (s->txn, table->dbi, &k, &v, 0);
}

static int
s_del (s_store_t *s, s_table_t *table, const void *key, size_t size)
{
    MDB_val k = { size, (void *) key };
    int rc = mdb_del (s->txn, table->dbi, &k, NULL);
    return rc == MDB_NOTFOUND? 0: rc;
}

static void
s_tally (s_count_t *count, bool fresh, bool old)
{
    count->fresh += fresh;
    count->old += old;
    count->both += fresh && old;
}

//  name NUL seq, the key of a stream's record.
static size_t
s_stream_key (uint8_t *out, const char *name, const uint8_t seq [8])
{
    size_t len = strlen (name);
    memcpy (out, name, len + 1);
    memcpy (out + len + 1, seq, 8);
    return len + 9;
}

static int
s_names_add (s_names_t *names, const void *name, size_t len)
{
    if (names->count == names->max) {
        size_t max = names->max? names->max * 2: 16;
        void *grown = realloc (names->name, max * sizeof *names->name);
        if (!grown)
            return ENOMEM;
        names->name = grown;
        names->max = max;
    }
    memcpy (names->name [names->count], name, len);
    names->name [names->count++] [len] = '\0';
    return 0;
}

//  The names before the NUL of a stream table's keys: one seek per
//  stream (to the name and byte 1, past all its keys), not a walk over
//  its envelopes. Names are collected before anything is written, so no
//  cursor is open under a write.
static int
s_streams (s_store_t *s, s_table_t *table, s_names_t *names)
{
    MDB_cursor *cursor = NULL;
    int rc = table->present? mdb_cursor_open (s->txn, table->dbi, &cursor): MDB_NOTFOUND;
    uint8_t from [S_NAME_MAX + 1];
    MDB_val key = { 0, NULL }, value;
    MDB_cursor_op op = MDB_FIRST;
    while (!rc && !(rc = mdb_cursor_get (cursor, &key, &value, op))) {
        const uint8_t *nul = memchr (key.mv_data, 0, key.mv_size);
        size_t len = nul? (size_t) (nul - (const uint8_t *) key.mv_data): 0;
        if (len == 0 || len > S_NAME_MAX || key.mv_size != len + 9)
            rc = s_damaged (s, "a stream key", "", key.mv_size, len + 9);
        if (!rc)
            rc = s_names_add (names, key.mv_data, len);
        if (!rc) {
            memcpy (from, key.mv_data, len);
            from [len] = 1;
            key = (MDB_val) { len + 1, from };
            op = MDB_SET_RANGE;
        }
    }
    if (cursor)
        mdb_cursor_close (cursor);
    return rc == MDB_NOTFOUND? 0: rc;
}

static int
s_entries (s_store_t *s, s_table_t *table, size_t *entries)
{
    MDB_stat stat = { 0 };
    int rc = table->present? mdb_stat (s->txn, table->dbi, &stat): 0;
    *entries = stat.ms_entries;
    return rc;
}


// ---------------------------------------------------------------------------
//  The four kinds: each counts where its records are and, when move,
//  puts them back in their old place.

//  One record from its new key to its old one.
static int
s_move (s_store_t *s, s_table_t *from, const void *from_key, size_t from_size, s_table_t *to,
        const void *to_key, size_t to_size, const uint8_t *value, size_t size, s_count_t *count)
{
    int rc = s_put (s, to, to_key, to_size, value, size);
    if (!rc)
        rc = s_del (s, from, from_key, from_size);
    count->moved += !rc;
    return rc;
}

static int
s_audit (s_store_t *s, bool move, s_count_t *count)
{
    uint8_t head [S_HEAD_SIZE];
    bool has_head, has_old = false;
    int rc = s_read (s, &s->audit, s_ones, 8, S_HEAD_SIZE, "the audit head", "", head, &has_head);
    if (!rc)
        rc = s_find (s, &s->audit, s_zeros, 8, NULL, &has_old);
    s_tally (count, has_head, has_old);
    if (rc || !move || !has_head)
        return rc;
    return s_move (s, &s->audit, s_ones, 8, &s->audit, s_zeros, 8, head, S_HEAD_SIZE, count);
}

static int
s_notice (s_store_t *s, bool move, s_count_t *count)
{
    uint8_t counters [S_COUNTS_SIZE];
    bool has_new, has_old = false, found;
    int rc = s_read (s, &s->notice, s_ones, 8, S_COUNTS_SIZE, "the notice counters", "", counters,
                     &has_new);
    for (int i = 0; i < 3 && !rc; i++) {
        rc = s_find (s, &s->notice_meta, s_meta_names [i], strlen (s_meta_names [i]), NULL, &found);
        has_old |= found;
    }
    s_tally (count, has_new, has_old);
    if (rc || !move || !has_new)
        return rc;
    for (int i = 0; i < 3 && !rc; i++)
        rc = s_put (s, &s->notice_meta, s_meta_names [i], strlen (s_meta_names [i]), counters + 8 * i, 8);
    if (!rc)
        rc = s_del (s, &s->notice, s_ones, 8);
    count->moved += !rc;
    return rc;
}

static int
s_inbox_stream (s_store_t *s, const char *origin, bool move, s_count_t *count)
{
    uint8_t key [S_NAME_MAX + 9], last [8];
    size_t size = s_stream_key (key, origin, s_ones);
    bool has_new, has_old = false;
    int rc = s_read (s, &s->inbox, key, size, 8, "the inbox state", origin, last, &has_new);
    if (!rc)
        rc = s_find (s, &s->instate, origin, strlen (origin), NULL, &has_old);
    count->fresh += has_new;
    count->both += has_new && has_old;
    if (rc || !move || !has_new)
        return rc;
    return s_move (s, &s->inbox, key, size, &s->instate, origin, strlen (origin), last, 8, count);
}

static int
s_outbox_stream (s_store_t *s, const char *peer, bool move, s_count_t *count)
{
    uint8_t acked_key [S_NAME_MAX + 9], assigned_key [S_NAME_MAX + 9], value [16] = { 0 };
    size_t size = s_stream_key (acked_key, peer, s_zeros);
    s_stream_key (assigned_key, peer, s_ones);
    bool has_acked, has_assigned = false, has_old = false;
    int rc = s_read (s, &s->outbox, acked_key, size, 8, "the acked number", peer, value + 8, &has_acked);
    if (!rc)
        rc = s_read (s, &s->outbox, assigned_key, size, 8, "the assigned number", peer, value,
                     &has_assigned);
    if (!rc)
        rc = s_find (s, &s->outstate, peer, strlen (peer), NULL, &has_old);
    bool has_new = has_acked || has_assigned;
    count->fresh += has_new;
    count->both += has_new && has_old;
    if (rc || !move || !has_new)
        return rc;
    rc = s_del (s, &s->outbox, acked_key, size);
    if (!rc)
        rc = s_move (s, &s->outbox, assigned_key, size, &s->outstate, peer, strlen (peer), value, 16, count);
    return rc;
}

typedef int (s_stream_fn) (s_store_t *s, const char *name, bool move, s_count_t *count);

//  Every stream of a table; the old place's count is its entries after
//  the walk.
static int
s_each_stream (s_store_t *s, s_table_t *table, s_table_t *old_table, s_stream_fn *fn, bool move,
               s_count_t *count)
{
    s_names_t names = { NULL, 0, 0 };
    int rc = s_streams (s, table, &names);
    for (size_t i = 0; i < names.count && !rc; i++)
        rc = fn (s, names.name [i], move, count);
    free (names.name);
    return rc? rc: s_entries (s, old_table, &count->old);
}


// ---------------------------------------------------------------------------
//  The two modes

static int
s_run (s_store_t *s, bool move, s_count_t counts [S_KINDS])
{
    int rc = s_audit (s, move, &counts [S_AUDIT]);
    if (!rc)
        rc = s_notice (s, move, &counts [S_NOTICE]);
    if (!rc)
        rc = s_each_stream (s, &s->inbox, &s->instate, s_inbox_stream, move, &counts [S_INBOX]);
    if (!rc)
        rc = s_each_stream (s, &s->outbox, &s->outstate, s_outbox_stream, move, &counts [S_OUTBOX]);
    return rc;
}

static void
s_print (bool move, const s_count_t counts [S_KINDS])
{
    for (int k = 0; k < S_KINDS; k++)
        if (move)
            printf ("%s moved=%zu\n", s_kind_names [k], counts [k].moved);
        else
            printf ("%s new=%zu old=%zu both=%zu\n", s_kind_names [k], counts [k].fresh,
                    counts [k].old, counts [k].both);
}

//  One transaction: read (where), or move and commit (old) after asking
//  once more whether another process opened the store meanwhile.
static int
s_layout (MDB_env *env, const char *dir, int lock_fd, bool move)
{
    s_store_t s = { .dir = dir };
    s_count_t counts [S_KINDS] = { { 0 } };
    int rc = mdb_txn_begin (env, NULL, move? 0: MDB_RDONLY, &s.txn);
    if (rc)
        s.txn = NULL;
    if (!rc)
        rc = s_tables (&s, move);
    int code = 0;
    if (!rc && !s.audit.present)
        code = s_refuse (dir, "not a regiebus node's store (it has no audit table)");
    if (!rc && !code)
        rc = s_run (&s, move, counts);
    if (!rc && !code && move)
        code = s_check_unused (dir, lock_fd);
    if (!rc && !code && move)
        rc = mdb_txn_commit (s.txn);
    else
    if (s.txn)
        mdb_txn_abort (s.txn);
    if (rc) {
        fprintf (stderr, "rb_store_layout: %s: %s%snothing written\n", dir,
                 rc == S_EDAMAGED? "": mdb_strerror (rc), rc == S_EDAMAGED? "": "; ");
        return S_EXIT_DAMAGED;
    }
    if (!code)
        s_print (move, counts);
    return code;
}

int
main (int argc, char *argv [])
{
    if (argc != 3 || (strcmp (argv [1], "old") && strcmp (argv [1], "where"))) {
        fprintf (stderr, "usage: rb_store_layout old|where DIR   (DIR: a stopped node's node/data_dir)\n"
                         "  old    move the records whose keys changed back to the previous layout\n"
                         "  where  per kind, how many records are in the new place, the old, both\n");
        return S_EXIT_USAGE;
    }
    bool move = strcmp (argv [1], "old") == 0;
    MDB_env *env = NULL;
    int lock_fd = -1;
    int code = s_open (argv [2], move, &env, &lock_fd);
    if (!code)
        code = s_layout (env, argv [2], lock_fd, move);
    if (env)
        mdb_env_close (env);
    //  Only now: closing any descriptor of lock.mdb drops every lock this
    //  process holds on it, LMDB's own included.
    if (lock_fd >= 0)
        close (lock_fd);
    return code;
}
