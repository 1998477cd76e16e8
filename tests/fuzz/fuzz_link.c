/*  fuzz_link: a peer-link frame, both ways, at the municipality.
 *
 *  The input is a LinkFrame's bytes. It arrives once on the node's ROUTER
 *  from school-a (where a Batch is applied and a Ping answered, anything
 *  else refused) and once on the node's own DEALER to school-a (where an
 *  Ack moves the sender's window over what the municipality has queued
 *  for the school, and a Refusal is counted).
 */
#include "fuzz_node.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    rb_node_t *node = fuzz_node ("municipality");
    rb_node_take_peer_frame (node, FUZZ_SCHOOL, data, size);
    rb_node_take_link_frame (node, FUZZ_SCHOOL, data, size);
    fuzz_end_turn (node, false);
    return 0;
}
