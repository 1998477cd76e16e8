/*  rb_daemon: the main() every regiebus daemon shares.
 *
 *  Parses `-c CONFIG [--set section/key=value ...]`, loads and checks the
 *  configuration, insists that node/role is the daemon's role, opens the
 *  node, lets the daemon set itself up on it (read its own sections, open
 *  its tables, register its hooks), and only then binds the node's
 *  sockets, runs the loop and tears down. Exit
 *  codes: 0 after a clean stop, 1 when the node cannot start (store, keys,
 *  sockets), 2 for usage and configuration errors, each with one line on
 *  stderr that names the key at fault.
 */
#ifndef RB_DAEMON_H
#define RB_DAEMON_H

#include "rb_node.h"

//  Set the daemon up on an opened node, before it binds; return its state in *state_p (or
//  leave it NULL), or refuse with the config key at fault.
typedef rb_err_t (rb_daemon_setup_fn) (rb_node_t *node, const rb_config_t *config,
                                       void **state_p, rb_refusal_t *why);

//  Free the daemon's state and null *state_p; the node is still open.
typedef void (rb_daemon_teardown_fn) (void **state_p);

//  Run a daemon: program is its name for messages ("regiebus-school"),
//  role the node/role it requires (NULL: any). setup and teardown may be
//  NULL for the bare node.
int rb_daemon_main (int argc, char *argv [], const char *program, const char *role,
                    rb_daemon_setup_fn *setup, rb_daemon_teardown_fn *teardown);

#endif
