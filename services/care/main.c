/*  regiebus-care: the node of a care provider or wijkteam.
 *
 *  Registers the provider's involvement on children's cases with their
 *  municipality and keeps the notifications that come back for its team.
 *  Everything it adds to the runtime is in rb_care.
 *
 *  Usage: regiebus-care -c CONFIG [--set section/key=value ...]
 */
#include "rb_care.h"

int
main (int argc, char *argv [])
{
    return rb_daemon_main (argc, argv, "regiebus-care", "care", rb_care_setup, rb_care_teardown);
}
