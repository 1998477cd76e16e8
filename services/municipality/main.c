/*  regiebus-municipality: the municipality's node.
 *
 *  Keeps the regie register of the municipality's resident pupils' cases
 *  and routes every case event to the actors holding regie on the case
 *  (rb_municipality.h); the rest is the shared runtime and main().
 *
 *  Usage: regiebus-municipality -c CONFIG [--set section/key=value ...]
 */
#include "rb_municipality.h"

int
main (int argc, char *argv [])
{
    return rb_daemon_main (argc, argv, "regiebus-municipality", "municipality",
                           rb_municipality_setup, rb_municipality_teardown);
}
