/*  rb_care: the care provider's node, on the runtime (rb_node).
 *
 *  A care provider or wijkteam tells the child's municipality that it is
 *  involved on a case (call `involvement`), so that it joins the case's
 *  regie holders and from then on receives the case's notifications; and
 *  it tells when the involvement ends. Its users name the child by citizen
 *  number or by case pseudonym; the number is turned into the pseudonym
 *  here and never leaves this node, and neither does the provider's own
 *  name for the child, which only labels the notifications it shows.
 *
 *  The story of one call: receive the request, validate every field,
 *  compare it with what this node registered before, commit the change,
 *  route an INVOLVEMENT event to the municipality node, acknowledge with
 *  the case pseudonym and the event id. A repeat that changes nothing
 *  sends nothing. See README.md here for configuration, tables and
 *  refusals.
 */
#ifndef RB_CARE_H
#define RB_CARE_H

#include "rb_daemon.h"

//  Set the care daemon up on a started node (rb_daemon_setup_fn): read the
//  care, region and homes sections, open the tables, register the call
//  handler, the inbound handler and the label. Refuses naming the key.
rb_err_t rb_care_setup (rb_node_t *node, const rb_config_t *config, void **state_p,
                        rb_refusal_t *why);

//  Free the daemon's state (rb_daemon_teardown_fn).
void rb_care_teardown (void **state_p);

#endif
