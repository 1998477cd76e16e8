/*  rb_config: a node's configuration, from one file plus command-line flags.
 *
 *  The file is ZPL (CZMQ's zconfig format, RFC 4/ZPL): sections `node`,
 *  `limits`, `link`, `api` and `peer`, with one subsection per peer named
 *  after the peer's node name. Flags override single keys as
 *  `section/key=value` (for example `node/log_level=debug`). Every key is
 *  checked against the schema below: an unknown key, a missing required key
 *  or a value out of range is refused with a message naming the key, and
 *  the node does not start. See common/README.md for the full key table.
 *
 *  A daemon's own sections (`school`, `rules`, `homes`, `region`,
 *  `municipality`, `policy`, `care`, `portal`) are allowed only with the
 *  node/role that reads them; the daemon checks their keys itself with
 *  rb_config_section and rb_config_pairs, with the same strictness.
 *
 *  rb_config_t is plain data plus the parsed tree for those sections, owned
 *  by the caller of rb_config_load and freed with rb_config_destroy.
 */
#ifndef RB_CONFIG_H
#define RB_CONFIG_H

#include "rb_error.h"
#include <stdbool.h>
#include <stdint.h>

#define RB_NAME_MAX 63          //  node names: [a-z0-9-], 1..63 characters
#define RB_MAX_PEERS 256

typedef struct {
    char name [RB_NAME_MAX + 1];    //  peer's node name
    char endpoint [256];            //  where its peer ROUTER listens
    char public_key [41];           //  its CURVE public key, Z85
    char next_public_key [41];      //  while it rotates: its other key, Z85; "" none
    bool revoked;                   //  no key of it is admitted or used; its queue waits
    char role [16];                 //  what it runs (rb_perms): what it may send us
} rb_peer_config_t;

typedef struct {
    //  node
    char name [RB_NAME_MAX + 1];    //  this node's name
    char role [32];                 //  node, school, municipality, care, portal
    char data_dir [512];            //  LMDB environment and allowlist live here
    char bind [256];                //  peer ROUTER endpoint
    char cert [512];                //  this node's certificate (secret file beside it)
    char next_cert [512];           //  the key it rotates to, held and shown; "" none
    uint64_t map_size_mb;           //  LMDB map size
    char log_level [16];            //  error, warn, info, debug
    bool test_clock;                //  clock = test
    char capture_file [512];        //  test clock only: every peer frame received is appended here
    //  api
    char api_endpoint [256];        //  ipc:// or tcp:// endpoint for clients
    char api_clients_dir [512];     //  tcp only: dir of allowed client public certs
    //  limits
    uint64_t max_frame_bytes;       //  largest frame accepted on any socket
    uint64_t max_batch_events;      //  most events in one submit or batch
    uint64_t max_payload_bytes;     //  largest event payload
    uint64_t peer_rate;             //  new envelopes a second one peer may send us; 0: no limit
    uint64_t peer_burst;            //  how many of them at once
    //  link
    uint64_t window;                //  most unacknowledged envelopes per link
    uint64_t batch_events;          //  most envelopes in one Batch frame
    uint64_t heartbeat_ms;          //  ping interval
    uint64_t peer_timeout_ms;       //  silence after which a peer is down
    uint64_t retransmit_ms;         //  no ack progress for this long: resend
    uint64_t ack_stage_ms;          //  longest wait to trim the outbox without other work
    //  peers
    rb_peer_config_t peers [RB_MAX_PEERS];
    int peer_count;
    //  the whole parsed file with overrides, for the daemon's own sections
    void *tree;
} rb_config_t;

//  Load path (may be NULL: flags only) and apply overrides, an array of
//  "section/key=value" strings. Returns NULL and fills refusal on any error.
rb_config_t *rb_config_load (const char *path, const char **overrides,
                             int override_count, rb_refusal_t *refusal);

//  Destroy and null the caller's pointer.
void rb_config_destroy (rb_config_t **self_p);

//  Find a peer by name; NULL when not configured.
const rb_peer_config_t *rb_config_peer (const rb_config_t *self, const char *name);

//  A key of a daemon's own section, where it lands and its range.
typedef enum { RB_CONFIG_TEXT, RB_CONFIG_UINT, RB_CONFIG_BOOL } rb_config_type_t;
typedef struct {
    const char *key;            //  name inside the section
    rb_config_type_t type;      //  TEXT: char [size]; UINT: uint64_t; BOOL: bool
    void *dest;                 //  where the value goes
    size_t size;                //  TEXT: size of dest, NUL included
    bool required;              //  missing or empty is refused
    const char *fallback;       //  value when absent (not required); NULL: leave dest
    uint64_t min, max;          //  UINT: the range
} rb_config_item_t;

//  Read a daemon's section against its items: an unknown key, a missing
//  required one or a value out of range is refused naming "section/key".
//  BOOL takes true/false, yes/no, 1/0. An absent section gives every item
//  its fallback (and refuses required ones).
rb_err_t rb_config_section (const rb_config_t *self, const char *section,
                            const rb_config_item_t *items, size_t count, rb_refusal_t *refusal);

//  Visit each key = value of a free-form section (a map such as `homes`,
//  municipality code -> node). fn refuses by returning non-zero with
//  refusal filled. An absent section visits nothing.
typedef rb_err_t (rb_config_pair_fn) (const char *key, const char *value, void *arg,
                                      rb_refusal_t *refusal);
rb_err_t rb_config_pairs (const rb_config_t *self, const char *section, rb_config_pair_fn *fn,
                          void *arg, rb_refusal_t *refusal);

//  Whether next may replace running in a live reload: only the peers,
//  node/cert, node/next_cert and node/log_level may differ. A refusal
//  names the first other key that changed (FAILED_PRECONDITION: it takes
//  a restart), or the key of a daemon section that still names a peer
//  the new config removes.
rb_err_t rb_config_check_reload (const rb_config_t *running, const rb_config_t *next,
                                 rb_refusal_t *refusal);

//  Take next's peers, keys and log level into running, which daemons and
//  links hold on to; after rb_config_check_reload said yes.
void rb_config_apply_reload (rb_config_t *running, const rb_config_t *next);

//  True when name is a valid node name ([a-z0-9-], 1..63, not starting with '-').
bool rb_config_name_valid (const char *name);

#endif
