/*  regiebus-node: the bare runtime node.
 *
 *  Carries events between peers and keeps the notifications that arrive
 *  for it, and nothing else: what the agency daemons (regiebus-school,
 *  -municipality, -care, -portal) add on top of the runtime is their own
 *  rules and calls. Used by the runtime's integration tests, as a stand-in
 *  peer in the daemons' tests, and by the benchmarks.
 *
 *  Usage: regiebus-node -c CONFIG [--set section/key=value ...]
 */
#include "rb_daemon.h"

int
main (int argc, char *argv [])
{
    return rb_daemon_main (argc, argv, "regiebus-node", NULL, NULL, NULL);
}
