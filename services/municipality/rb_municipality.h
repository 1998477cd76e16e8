/*  rb_municipality: the municipality daemon on the node runtime.
 *
 *  A municipality keeps the regie register of its resident pupils' cases
 *  (rb_regie) and routes every case event to the actors holding regie on
 *  the case (rb_route). Each inbound envelope tells the daemon's story
 *  once, inside the receive commit of the runtime:
 *
 *    receive   an ENROLMENT or ABSENCE_SIGNAL from a school, an INVOLVEMENT
 *              from care, a PARENT_LINK or PARENT_REPORT from the portal
 *    validate  the payload decodes, its fields are in range, and the origin
 *              may speak about the case (a school signals only on a case it
 *              holds as SCHOOL_MENTOR, a portal reports only as PARENT)
 *    commit    the region's policy applies the event to the register
 *    route     every change of the register, then the event itself, is
 *              notified to every holder at its own node
 *    acknowledge  the runtime acknowledges once the commit holds
 *
 *  A refusal names the field (payload fields as "payload.signal") and
 *  dead-letters just that envelope; nothing of it is written or sent.
 *  Staff use two API calls: show_case (the holders of a case) and regie
 *  (assign or release an actor by hand, notified like any change).
 *
 *  Configuration: section `municipality` (see README.md here).
 */
#ifndef RB_MUNICIPALITY_H
#define RB_MUNICIPALITY_H

#include "rb_daemon.h"

//  rb_daemon's setup: read the `municipality` section into the region's
//  policy, open the register in the node's store, and set the node's
//  handler, call handler and commit hook. Refuses a bad section with the
//  config key named ("municipality/duty_node").
rb_err_t rb_municipality_setup (rb_node_t *node, const rb_config_t *config, void **state_p,
                                rb_refusal_t *why);

//  rb_daemon's teardown: free the state and null *state_p.
void rb_municipality_teardown (void **state_p);

#endif
