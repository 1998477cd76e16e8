/*  rb_pseudonym: keyed-hash case names; see rb_pseudonym.h. */
#include "rb_pseudonym.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _rb_pseudonym_t {
    uint8_t key [RB_REGION_KEY_SIZE];   //  the region's shared key
};

rb_pseudonym_t *
rb_pseudonym_new (const uint8_t key [RB_REGION_KEY_SIZE])
{
    if (sodium_init () < 0)
        return NULL;
    rb_pseudonym_t *self = calloc (1, sizeof *self);
    if (self)
        memcpy (self->key, key, RB_REGION_KEY_SIZE);
    return self;
}

rb_pseudonym_t *
rb_pseudonym_from_config (const rb_config_t *config, rb_refusal_t *refusal)
{
    char key_file [512];
    const rb_config_item_t items [] = {
        { "key_file", RB_CONFIG_TEXT, key_file, sizeof key_file, true, NULL, 0, 0 },
    };
    if (rb_config_section (config, "region", items, sizeof items / sizeof items [0], refusal))
        return NULL;
    return rb_pseudonym_load (key_file, "region/key_file", refusal);
}

void
rb_pseudonym_destroy (rb_pseudonym_t **self_p)
{
    if (self_p && *self_p) {
        sodium_memzero ((*self_p)->key, RB_REGION_KEY_SIZE);
        free (*self_p);
        *self_p = NULL;
    }
}

rb_pseudonym_t *
rb_pseudonym_load (const char *path, const char *field, rb_refusal_t *r)
{
    char text [2 * RB_REGION_KEY_SIZE + 8] = "";
    FILE *file = fopen (path, "r");
    if (!file) {
        rb_refuse (r, RB_EINVALID, field, "cannot read region key %s: %s", path, strerror (errno));
        return NULL;
    }
    size_t len = fread (text, 1, sizeof text - 1, file);
    fclose (file);
    while (len && (text [len - 1] == '\n' || text [len - 1] == '\r'))
        text [--len] = 0;
    uint8_t key [RB_REGION_KEY_SIZE];
    size_t bin_len = 0;
    if (len != 2 * RB_REGION_KEY_SIZE || sodium_init () < 0
    ||  sodium_hex2bin (key, sizeof key, text, len, NULL, &bin_len, NULL) != 0
    ||  bin_len != RB_REGION_KEY_SIZE) {
        rb_refuse (r, RB_EINVALID, field, "region key %s must hold 64 hex characters", path);
        return NULL;
    }
    rb_pseudonym_t *self = rb_pseudonym_new (key);
    sodium_memzero (key, sizeof key);
    sodium_memzero (text, sizeof text);
    return self;
}

rb_err_t
rb_pseudonym_make_key (const char *path, rb_refusal_t *r)
{
    if (sodium_init () < 0)
        return rb_refuse (r, RB_EINTERNAL, NULL, "libsodium did not initialise");
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return rb_refuse (r, errno == EEXIST? RB_EPRECONDITION: RB_EINVALID, "path",
                          "cannot create %s: %s", path, strerror (errno));
    uint8_t key [RB_REGION_KEY_SIZE];
    char text [2 * RB_REGION_KEY_SIZE + 2];
    randombytes_buf (key, sizeof key);
    sodium_bin2hex (text, sizeof text, key, sizeof key);
    size_t len = strlen (text);
    text [len++] = '\n';
    bool ok = write (fd, text, len) == (ssize_t) len && fsync (fd) == 0;
    close (fd);
    sodium_memzero (key, sizeof key);
    sodium_memzero (text, sizeof text);
    return ok? RB_OK: rb_refuse (r, RB_EINVALID, "path", "cannot write %s", path);
}

bool
rb_pseudonym_bsn_valid (const char *bsn)
{
    //  The 11-check: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a multiple of 11.
    if (!bsn || strlen (bsn) != 9)
        return false;
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        if (bsn [i] < '0' || bsn [i] > '9')
            return false;
        int digit = bsn [i] - '0';
        sum += i < 8? (9 - i) * digit: -digit;
    }
    return sum % 11 == 0 && strcmp (bsn, "000000000") != 0;
}

rb_err_t
rb_pseudonym_of (rb_pseudonym_t *self, const char *bsn, char out [65], rb_refusal_t *r)
{
    if (!rb_pseudonym_bsn_valid (bsn))
        return rb_refuse (r, RB_EINVALID, "bsn", "bsn must be 9 digits passing the 11-check");
    uint8_t hash [32];
    crypto_generichash (hash, sizeof hash, (const uint8_t *) bsn, 9, self->key, RB_REGION_KEY_SIZE);
    sodium_bin2hex (out, 65, hash, sizeof hash);
    return RB_OK;
}
