/*  bench_child: the nodes a benchmark runs as child processes.
 *
 *  One rb_node per process (each starts a zauth actor, and CZMQ allows one
 *  ZAP handler per process), so every node of a benchmark but one runs as
 *  a child: a real daemon binary (regiebus-node, regiebus-school,
 *  regiebus-municipality) or this program run again as a holder node
 *  (bench_holder.h). This module writes a child's configuration file,
 *  finds it free ports on 127.0.0.1, starts it with its stderr in a log
 *  file, asks whether its peers are up, and stops it with SIGTERM,
 *  taking its CPU time from wait4.
 *
 *  Conventions, shared by every part: a node NAME of a run in DIR keeps
 *  its store in DIR/NAME, its certificate in DIR/keys/NAME.cert, logs at
 *  warn (one info line per event would be part of what is measured), and
 *  gets every --set of the command line.
 */
#ifndef RB_BENCH_CHILD_H
#define RB_BENCH_CHILD_H

#include "bench.h"
#include "rb_client.h"
#include <sys/types.h>

//  A peer as a node's configuration names it.
typedef struct {
    const char *name;           //  its node name
    int port;                   //  its peer ROUTER on 127.0.0.1
    const char *public_key;     //  its CURVE public key, Z85
    const char *role;           //  what it runs: what it may send the node
} bench_peer_t;

//  One child process.
typedef struct {
    pid_t pid;                  //  0 when not running
    char name [64];             //  for messages
    char log [480];             //  its stderr
    double cpu;                 //  CPU seconds, user + system, once it ended
    double sys;                 //  of which system
} bench_child_t;

//  count TCP ports on 127.0.0.1 that were free a moment ago. 0 on success.
int bench_free_ports (int *ports, int count);

//  Write the configuration of node name (of role, on port, with its API at
//  api) for a run in dir, with its peers and then sections: the daemon's
//  own sections as ZPL text, or NULL. 0 on success.
int bench_config_write (const char *path, const char *dir, const char *name, const char *role,
                        int port, const char *api, const bench_peer_t *peers, int peer_count,
                        const char *sections);

//  Start args [0] (the program) with args [1 .. count-1] and then
//  `--set X` for every --set of opts, stderr and stdout to log. 0 when
//  started.
int bench_child_start (bench_child_t *self, const char *name, const char *const *args, int count,
                       const bench_opts_t *opts, const char *log);

//  True while the child runs; reaps it and says how it ended otherwise.
bool bench_child_alive (bench_child_t *self);

//  Ask the child to stop (SIGTERM); bench_child_wait then reaps it.
void bench_child_term (bench_child_t *self);

//  Wait up to timeout_ms for a child asked to stop, SIGKILL it after
//  that, and note its CPU time. 0 when it exited with code 0.
int bench_child_wait (bench_child_t *self, int timeout_ms);

//  True once the node behind client answers status and sees all of its
//  peers, and at least peers of them, up.
bool bench_peers_up (rb_client_t *client, size_t peers);

#endif
