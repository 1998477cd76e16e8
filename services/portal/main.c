/*  regiebus-portal: the node of the parents' portal.
 *
 *  Links parent accounts to their children's cases, passes parents'
 *  reports to the child's municipality and keeps the notifications that
 *  come back for the parents. Everything it adds to the runtime is in
 *  rb_portal.
 *
 *  Usage: regiebus-portal -c CONFIG [--set section/key=value ...]
 */
#include "rb_portal.h"

int
main (int argc, char *argv [])
{
    return rb_daemon_main (argc, argv, "regiebus-portal", "portal", rb_portal_setup,
                           rb_portal_teardown);
}
