/*  rb_portal: the parents' portal node, on the runtime (rb_node).
 *
 *  The portal operator links parent accounts to their children (call
 *  `parent_link`): the first account linked to a child tells the child's
 *  municipality that the parents take part in the case (PARENT_LINK), so
 *  they become regie holders and their notifications come here; the last
 *  account unlinked tells that they no longer do. A linked parent reports
 *  that the child is ill or that something changed at home (call
 *  `parent_report`), which the municipality passes on to every holder.
 *
 *  Children are named by citizen number; the number becomes the case
 *  pseudonym here and never leaves this node, nor does the child's name,
 *  which only labels what a parent is shown. A parent is shown only the
 *  notifications of children linked to their own account.
 *
 *  The story of one call: receive, validate every field, compare with what
 *  is linked or was reported before, commit, route the event to the
 *  child's municipality, acknowledge. See README.md here.
 */
#ifndef RB_PORTAL_H
#define RB_PORTAL_H

#include "rb_daemon.h"

//  Set the portal daemon up on a started node (rb_daemon_setup_fn): read
//  the portal, region and homes sections, open the tables, register the
//  call handler, the inbound handler and the label. Refuses naming the key.
rb_err_t rb_portal_setup (rb_node_t *node, const rb_config_t *config, void **state_p,
                          rb_refusal_t *why);

//  Free the daemon's state (rb_daemon_teardown_fn).
void rb_portal_teardown (void **state_p);

#endif
